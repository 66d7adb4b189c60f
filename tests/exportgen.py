"""Realistic waybill/order exports and decoys for tests and benchmarks (synthetic people only).

Every value is generated: valid GB 11643 checksums and real region codes, mobiles in allocated ranges,
carrier-shaped tracking numbers, addresses down to the room."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文斌宇浩然子涵梓萱一诺欣怡"
PLACES = [("浙江省", "金华市", "义乌市", "330782"), ("浙江省", "宁波市", "余姚市", "330281"),
          ("广东省", "广州市", "白云区", "440111"), ("江苏省", "苏州市", "昆山市", "320583"),
          ("北京市", "北京市", "朝阳区", "110105"), ("上海市", "上海市", "浦东新区", "310115"),
          ("四川省", "成都市", "武侯区", "510107"), ("山东省", "临沂市", "兰山区", "371302"),
          ("河南省", "郑州市", "金水区", "410105"), ("湖北省", "武汉市", "洪山区", "420111")]
STREETS = ["稠城街道工人北路", "北苑街道春晗路", "江东街道宗泽路", "福田街道福田路", "廿三里街道开元街", "阳光大道",
           "人民路", "解放路", "中山路", "建设路", "幸福路", "和平街"]
MOBILE_PREFIX = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
                 "156", "157", "158", "159", "166", "175", "176", "177", "180", "181", "182", "183", "185", "186",
                 "187", "188", "189", "191", "195", "198", "199"]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass
class Person:
    name: str
    mobile: str
    id_number: str
    province: str
    city: str
    district: str
    street: str

    @property
    def address(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.street}"


def id_number(rng: random.Random, region: str) -> str:
    body = region + f"{rng.randint(1955, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11]


def person(rng: random.Random) -> Person:
    prov, city, dist, region = rng.choice(PLACES)
    street = (f"{rng.choice(STREETS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋"
              f"{rng.randint(1, 6)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室")
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    mobile = rng.choice(MOBILE_PREFIX) + f"{rng.randint(0, 99999999):08d}"
    return Person(name, mobile, id_number(rng, region), prov, city, dist, street)


def tracking(rng: random.Random) -> str:
    return rng.choice([
        lambda: "YT" + f"{rng.randint(0, 10**13 - 1):013d}",
        lambda: "7" + rng.choice("3568") + f"{rng.randint(0, 10**12 - 1):012d}",
        lambda: "SF" + f"{rng.randint(0, 10**13 - 1):013d}",
        lambda: "JT" + f"{rng.randint(0, 10**13 - 1):013d}",
        lambda: rng.choice("34") + f"{rng.randint(0, 10**14 - 1):014d}",
        lambda: "77" + f"{rng.randint(0, 10**13 - 1):013d}",
    ])()


def mask_mobile(m: str) -> str:
    return m[:3] + "****" + m[-4:]


def mask_name(n: str) -> str:
    return n[0] + "*" * (len(n) - 1)


LAYOUTS = {
    "taobao": ["订单编号", "买家会员名", "收货人姓名", "收货地址", "联系手机", "物流单号", "物流公司", "宝贝标题", "订单付款时间"],
    "douyin": ["主订单编号", "选购商品", "商品ID", "收件人", "收件人手机号", "省", "市", "区", "街道", "详细地址", "订单状态"],
    "jd": ["订单号", "商品名称", "数量", "客户姓名", "联系电话", "客户地址", "下单时间"],
    "pdd": ["订单号", "商品", "快递单号", "快递公司", "收货人", "手机", "收货地址", "订单成交时间"],
    "erp": ["内部订单号", "店铺名称", "收货人", "手机", "省", "市", "区/县", "详细地址", "快递公司", "快递单号", "寄件人电话"],
    "english": ["Order ID", "Recipient", "Phone", "Address", "Tracking No", "Amount"],
    "idcard": ["姓名", "身份证号码", "手机号码", "地址"],
}


def export_rows(rng: random.Random, layout: str, n: int, masked: float = 0.0, header: bool = True,
                excel_wrap: bool = False, intl: bool = False) -> tuple[list[list[str]], int]:
    """Rows of an export and the number of rows holding an unmasked mobile or ID (the expected records)."""
    cols = LAYOUTS[layout]
    rows: list[list[str]] = [list(cols)] if header else []
    expected = 0
    shop_phone = "0579-85123456"
    for i in range(n):
        p = person(rng)
        hide = rng.random() < masked
        mob = mask_mobile(p.mobile) if hide else p.mobile
        if not hide and intl and rng.random() < 0.3:
            mob = "+86 " + p.mobile[:3] + " " + p.mobile[3:7] + " " + p.mobile[7:]
        if excel_wrap and not hide:
            mob = f'="{mob}"'
        name = mask_name(p.name) if hide else p.name
        addr = (p.province + p.city + p.district + "****") if hide else p.address
        idn = (p.id_number[:6] + "********" + p.id_number[-4:]) if hide else p.id_number
        order = f"{rng.randint(10**17, 10**18 - 1)}"
        value = {
            "订单编号": order, "主订单编号": order, "订单号": order, "内部订单号": str(100000 + i), "Order ID": order,
            "买家会员名": f"tb{rng.randint(10**6, 10**7)}", "收货人姓名": name, "收件人": name, "客户姓名": name,
            "收货人": name, "姓名": name, "Recipient": name,
            "收货地址": addr, "客户地址": addr, "Address": addr, "地址": addr,
            "联系手机": mob, "收件人手机号": mob, "联系电话": mob, "手机": mob, "手机号码": mob, "Phone": mob,
            "物流单号": tracking(rng), "快递单号": tracking(rng), "Tracking No": tracking(rng),
            "物流公司": rng.choice(["圆通速递", "中通快递", "韵达快递", "申通快递", "极兔速递"]),
            "快递公司": rng.choice(["圆通", "中通", "韵达"]), "宝贝标题": rng.choice(["女士T恤", "儿童玩具车", "手机壳"]),
            "选购商品": "保温杯", "商品": "纸巾 10包", "商品名称": "数据线", "商品ID": f"{rng.randint(10**11, 10**12)}",
            "数量": str(rng.randint(1, 5)), "Amount": f"{rng.randint(5, 500)}.00",
            "订单付款时间": "2026-10-01 10:00:00", "下单时间": "2026-10-02 11:11:11", "订单成交时间": "2026-10-03",
            "订单状态": "已发货", "店铺名称": "义乌小商品旗舰店", "寄件人电话": shop_phone,
            "省": p.province, "市": p.city, "区": p.district, "区/县": p.district, "街道": p.street[:6],
            "详细地址": ("****" if hide else p.street), "身份证号码": idn,
        }
        rows.append([value[c] for c in cols])
        expected += 0 if hide else 1
    return rows, expected


def decoy_rows(rng: random.Random, kind: str, n: int = 200) -> list[list[str]]:
    if kind == "catalog":  # product codes that look like mobiles
        base = rng.choice(MOBILE_PREFIX) + "0000"
        rows = [["商品编码", "商品名称", "条码", "单价"]]
        rows += [[f"{base}{i:04d}", f"商品{i}", f"69{rng.randint(10**10, 10**11 - 1)}", f"{rng.randint(1, 99)}.90"]
                 for i in range(n)]
        return rows
    if kind == "catalog_headerless":
        base = rng.choice(MOBILE_PREFIX) + "12"
        return [[f"{base}{1000 + i * 3:06d}"[:11], "T恤 白色 XL", f"{rng.randint(10, 99)}.00"] for i in range(n)]
    if kind == "inventory":
        return [["SKU", "库位", "库存", "批次号"]] + [
            [f"{rng.choice(MOBILE_PREFIX)}{rng.randint(0, 99999999):08d}", f"A-{i:03d}", str(rng.randint(0, 500)),
             f"{rng.randint(10**10, 10**11)}"] for i in range(n)]
    if kind == "bank":
        return [["交易日期", "摘要", "对方账号", "金额", "余额"]] + [
            ["2026-10-%02d" % (i % 28 + 1), "转账", f"6222{rng.randint(10**14, 10**15 - 1)}", f"{rng.randint(1, 9999)}.00",
             f"{rng.randint(10**4, 10**6)}.00"] for i in range(n)]
    if kind == "log":
        return [[f"2026-10-01 12:{i % 60:02d}:00 INFO request id={rng.randint(10**12, 10**13)} took {rng.randint(1, 900)}ms"]
                for i in range(n)]
    if kind == "sender_only":
        return [["订单编号", "寄件人", "寄件人电话", "商品"]] + [
            [str(rng.randint(10**17, 10**18)), "义乌小商品旗舰店", "13905791234", "纸巾"] for _ in range(n)]
    if kind == "notice":
        return [["关于春节期间发货安排的通知"], ["各位客户：春节期间仓库暂停发货，如有疑问请致电客服 13812345678 或 400-800-1234。"]]
    raise ValueError(kind)


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[str]]], numbers: bool = True) -> Path:
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if numbers and value.isdigit() and len(value) == 11 and value.startswith("1"):
                    ws.write_number(r, c, int(value))  # mobiles stored as numbers, as Excel does
                else:
                    ws.write_string(r, c, value)
    wb.close()
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def hex_runs(rng: random.Random, n: int) -> tuple[list[str], list[str]]:
    """(SHA-256 digests, GUIDs): ``n`` of each, every one holding a real mobile's 11 digits between hex
    letters or inside its last group (a13812345678f...), as a file of digests or a GUID column may."""
    digests, guids = [], []
    for _ in range(n):
        mobile = person(rng).mobile
        hexes = "".join(rng.choice("0123456789abcdef") for _ in range(64))
        at = rng.randrange(1, 64 - 12)
        digests.append(hexes[:at - 1] + rng.choice("abcdef") + mobile + rng.choice("abcdef") + hexes[at + 12:])
        guids.append(f"{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{rng.choice('abcdef')}{mobile}")
    return digests, guids
