"""Writers for the accounts-area test inputs: real CSV files in the encodings back offices use, real XLSX
workbooks (openpyxl), and a Linux system tree with passwd/shadow and binary wtmp/lastlog records."""

from __future__ import annotations

import csv
import datetime as dt
import io
import socket
import struct
from pathlib import Path

UTMP = struct.Struct("<h2xi32s4s32s256shhii4s16s20x")  # glibc x86-64 struct utmp, 384 bytes
LASTLOG = struct.Struct("<i32s256s")  # 292 bytes
USER_PROCESS, BOOT_TIME, DEAD_PROCESS = 7, 2, 8
UTC = dt.timezone.utc


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8",
              title: str | None = None) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if title:
        w.writerow([title])
    w.writerow(header)
    for r in rows:
        w.writerow(["" if c is None else c for c in r])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, tuple[list[str], list[list[object]]]], title_rows: int = 0) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(name)
        for _ in range(title_rows):
            ws.append(["导出时间：2025-06-30 18:00"])
        ws.append(header)
        for r in rows:
            ws.append(list(r))
    wb.save(path)
    return path


def utmp_record(ut_type: int, user: str, line: str, host: str, when: dt.datetime, ip: str | None = None,
                pid: int = 1234) -> bytes:
    ts = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    addr = b"\0" * 16
    if ip:
        addr = socket.inet_aton(ip) + b"\0" * 12
    return UTMP.pack(ut_type, pid, line.encode(), line[-4:].encode(), user.encode(), host.encode(), 0, 0, 0,
                     int(ts.timestamp()), struct.pack("<i", 0), addr)


def write_wtmp(path: Path, records: list[bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(records))
    return path


def write_lastlog(path: Path, entries: dict[int, tuple[dt.datetime, str, str]]) -> Path:
    """A sparse lastlog: one 292-byte record per uid (uid x 292 is the offset)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        for uid, (when, line, host) in sorted(entries.items()):
            fh.seek(uid * LASTLOG.size)
            fh.write(LASTLOG.pack(int(when.replace(tzinfo=UTC).timestamp()), line.encode(), host.encode()))
    return path


def days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


# --------------------------------------------------------------------------- a planted scenario

AS_OF = dt.date(2025, 6, 30)

ROSTER_HEADER = ["工号", "姓名", "部门", "在职状态", "入职日期", "离职日期"]
ROSTER = [
    ["E001", "张伟", "客服部", "在职", "2022-03-01", ""],
    ["E002", "王芳", "客服部", "离职", "2023-05-10", "2025-03-31"],   # departed, still enabled
    ["E003", "李娜", "仓储部", "已离职", "2024-01-02", "2025-02-28"],  # logs in after leaving
    ["E004", "刘洋", "运营部", "在职", "2021-07-01", ""],             # stale
    ["E005", "陈静", "客服部", "试用期", "2025-04-01", ""],
    ["E006", "杨磊", "仓储部", "离职", "2022-01-01", "2024-12-31"],   # left, account disabled: healthy
    ["E007", "赵敏", "客服部", "在职", "2025-06-01", ""],             # new, not logged in yet: healthy
    ["E008", "黄强", "运营部", "在职", "2023-01-01", ""],             # never logged in since 2024-10
    ["E009", "周杰", "客服部", "在职", "2022-06-01", ""],             # shared from two IPs, can export
    ["E010", "吴刚", "仓储部", "待离职", "2020-05-01", "2025-07-15"],  # leaving next month: healthy
    ["E011", "陈默", "仓储部", "离职", "2021-03-01", "2025-05-01"],   # OS account on the PC
]

SUB_HEADER = ["子账号", "使用人", "账号状态", "角色", "创建时间", "最后登录时间"]
SUBACCOUNTS = [
    ["云仓旗舰店:张伟", "张伟", "启用", "客服", "2022-03-05 10:00:00", "2025-06-29 09:01:00"],
    ["云仓旗舰店:王芳", "王芳", "启用", "客服", "2023-05-11 09:00:00", "2025-03-28 17:30:00"],
    ["云仓旗舰店:李娜", "李娜", "正常", "仓管", "2024-01-03 09:00:00", "2025-02-27 18:00:00"],
    ["云仓旗舰店:刘洋", "刘洋", "启用", "运营", "2021-07-02 09:00:00", "2025-01-15 14:00:00"],
    ["云仓旗舰店:陈静", "陈静", "启用", "客服", "2025-04-02 09:00:00", "2025-06-28 10:00:00"],
    ["云仓旗舰店:杨磊", "杨磊", "已停用", "仓管", "2022-01-02 09:00:00", "2024-12-30 17:00:00"],
    ["云仓旗舰店:赵敏", "赵敏", "启用", "客服", "2025-06-02 09:00:00", "从未登录"],
    ["云仓旗舰店:黄强", "黄强", "启用", "运营", "2024-10-01 09:00:00", ""],
    ["云仓旗舰店:周杰", "周杰", "启用", "客服主管（订单导出）", "2022-06-02 09:00:00", "2025-06-29 09:10:00"],
    ["云仓旗舰店:小李", "小李", "启用", "客服", "2025-01-10 09:00:00", "2025-06-20 11:00:00"],  # orphan
    ["云仓旗舰店:吴刚", "吴刚", "启用", "仓管", "2020-05-02 09:00:00", "2025-06-27 08:00:00"],
]

LOGIN_HEADER = ["子账号", "登录时间", "登录IP", "操作类型", "记录数"]
LOGINS = [
    ["云仓旗舰店:张伟", "2025-06-29 09:01:00", "115.236.10.21", "登录", ""],
    ["云仓旗舰店:张伟", "2025-06-29 13:30:00", "115.236.10.21", "查看订单", "20"],
    ["云仓旗舰店:李娜", "2025-02-27 18:00:00", "115.236.10.21", "登录", ""],
    ["云仓旗舰店:李娜", "2025-04-15 22:13:05", "183.14.7.92", "登录", ""],
    ["云仓旗舰店:李娜", "2025-04-15 22:20:41", "183.14.7.92", "导出订单 收件人王小二 13800138000", "500"],
    ["云仓旗舰店:李娜", "2025-05-02 23:01:00", "183.14.7.92", "登录", ""],
    ["云仓旗舰店:陈静", "2025-06-28 10:00:00", "115.236.10.21", "登录", ""],
    ["云仓旗舰店:周杰", "2025-06-29 09:00:00", "115.236.10.21", "登录", ""],
    ["云仓旗舰店:周杰", "2025-06-29 09:06:00", "115.236.10.21", "查看订单", "35"],
    ["云仓旗舰店:周杰", "2025-06-29 09:03:00", "112.10.44.7", "登录", ""],
    ["云仓旗舰店:周杰", "2025-06-29 09:10:00", "112.10.44.7", "导出订单", "1200"],
    ["云仓旗舰店:吴刚", "2025-06-27 08:00:00", "115.236.10.21", "登录", ""],
    ["云仓旗舰店:吴刚", "2025-06-27 08:00:30", "115.236.10.21", "退出登录", ""],
    ["云仓旗舰店:小李", "2025-06-20 11:00:00", "115.236.10.21", "登录", ""],
]


def write_scenario(folder: Path, roster_fmt: str = "xlsx", sub_encoding: str = "gbk") -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if roster_fmt == "xlsx":
        roster = write_xlsx(folder / "花名册.xlsx", {"在职员工": (ROSTER_HEADER, ROSTER)})
    else:
        roster = write_csv(folder / "roster.csv", ROSTER_HEADER, ROSTER, encoding=roster_fmt)
    sub = write_csv(folder / "千牛子账号导出.csv", SUB_HEADER, SUBACCOUNTS, encoding=sub_encoding)
    logins = write_xlsx(folder / "千牛登录日志.xlsx", {"登录日志": (LOGIN_HEADER, LOGINS)}, title_rows=1)
    return {"roster": roster, "subaccounts": sub, "logins": logins}


def linux_tree(root: Path) -> Path:
    """passwd/shadow/login.defs, a wtmp (plus a rotated wtmp.1) and a lastlog for a warehouse PC."""
    etc = root / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "os-release").write_text('PRETTY_NAME="Kylin V10 SP1"\n', encoding="utf-8")
    (etc / "login.defs").write_text("UID_MIN\t\t\t 1000\nUID_MAX\t\t\t60000\n", encoding="utf-8")
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "cups:x:998:998:CUPS:/var/spool/cups:/usr/sbin/nologin\n"
        "wh01:x:1000:1000:仓库打单,,,:/home/wh01:/bin/bash\n"
        "olduser:x:1001:1001:老王,,,:/home/olduser:/bin/bash\n"
        "chenmo:x:1002:1002:陈默,,,:/home/chenmo:/bin/bash\n"
        "guest:x:1003:1003:Guest,,,:/home/guest:/bin/bash\n"
        "temp:x:1004:1004:临时工,,,:/home/temp:/bin/bash\n"
        "locked:x:1005:1005:已锁定,,,:/home/locked:/bin/bash\n"
        "newhire:x:1006:1006:新员工,,,:/home/newhire:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", encoding="utf-8")
    hashed = "$6$Qx1f$aV0f3xQkO2mZ1m4b7E0k9Qf7a7tq8o0rK2r9Y1n2k8m3p6v0"
    d = days(dt.date(2024, 1, 10))
    (etc / "shadow").write_text(
        f"root:{hashed}:{d}:0:99999:7:::\n"
        f"daemon:*:{d}:0:99999:7:::\n"
        f"cups:!:{d}::::::\n"
        f"wh01:{hashed}:{d}:0:99999:7:::\n"
        f"olduser:{hashed}:{d}:0:99999:7:::\n"
        f"chenmo:{hashed}:{d}:0:99999:7:::\n"
        f"guest:{hashed}:{d}:0:99999:7:::\n"
        f"temp::{d}:0:99999:7:::\n"
        f"locked:!{hashed}:{d}:0:99999:7:::\n"
        f"newhire:{hashed}:{days(dt.date(2025, 6, 20))}:0:90:7:::\n"
        f"nobody:*:{d}:0:99999:7:::\n", encoding="utf-8")
    t = dt.datetime
    old = [
        utmp_record(BOOT_TIME, "reboot", "~", "6.1.0", t(2025, 3, 1, 8, 0)),
        utmp_record(USER_PROCESS, "olduser", "tty7", ":0", t(2025, 3, 2, 8, 30)),
        utmp_record(DEAD_PROCESS, "", "tty7", "", t(2025, 3, 2, 18, 0)),
    ]
    recent = [
        utmp_record(BOOT_TIME, "reboot", "~", "6.1.0", t(2025, 5, 31, 8, 0)),
        utmp_record(USER_PROCESS, "wh01", "tty7", ":0", t(2025, 6, 1, 8, 5)),
        utmp_record(USER_PROCESS, "chenmo", "pts/0", "183.14.7.92", t(2025, 6, 3, 21, 40), ip="183.14.7.92"),
        utmp_record(USER_PROCESS, "wh01", "tty7", ":0", t(2025, 6, 28, 8, 2)),
        utmp_record(USER_PROCESS, "temp", "tty2", "", t(2025, 6, 20, 9, 0)),
    ]
    write_wtmp(root / "var/log/wtmp.1", old)
    write_wtmp(root / "var/log/wtmp", recent)
    write_lastlog(root / "var/log/lastlog", {
        1000: (t(2025, 6, 28, 8, 2), "tty7", ":0"),
        1001: (t(2025, 3, 2, 8, 30), "tty7", ":0"),
        1002: (t(2025, 6, 3, 21, 40), "pts/0", "183.14.7.92"),
        1003: (t(2024, 12, 1, 10, 0), "tty7", ":0"),
        1004: (t(2025, 6, 20, 9, 0), "tty2", ""),
    })
    return root
