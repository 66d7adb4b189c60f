"""One platforms pack (checks/platforms.toml) read by the accounts area and the export trail: one id per platform
in both, earlier ids accepted as aliases, and any other pack naming an unknown platform is a pack error."""

from __future__ import annotations

import pytest

from accounts_helpers import write_csv
from auditor.accounts.inputs import load_inputs, platform_of, vocab
from auditor.errors import PackError
from auditor.core.model import Coverage
from auditor.platforms import load_platforms, platforms
from auditor.trail import backoffice
from conftest import copy_checks, run_cli

BACK_OFFICES = {"taobao": "https://myseller.taobao.com/home.htm/trade-platform/tp/sold",
                "pinduoduo": "https://mms.pinduoduo.com/orders/list", "doudian": "https://fxg.jinritemai.com/ffa/",
                "jd": "https://shop.jd.com/jdm/trade/orders/order-list", "wangdiantong": "https://erp.wangdian.cn/",
                "jushuitan": "https://www.erp321.com/app/order/order/list.aspx",
                "kuaishou": "https://s.kwaixiaodian.com/"}
FILE_NAMES = {"taobao": "淘宝子账号", "pinduoduo": "拼多多子账号", "doudian": "抖店子账号", "jd": "京东子账号",
              "wangdiantong": "旺店通用户", "jushuitan": "聚水潭用户", "kuaishou": "快手小店子账号"}


def test_the_pack_names_the_platforms_of_the_issue():
    pack = platforms()
    assert {"taobao", "pinduoduo", "doudian", "jd", "wangdiantong"} <= set(pack.by_id)
    assert pack.by_id["pinduoduo"].name("zh") == "拼多多" and pack.by_id["doudian"].name("en") == "Douyin Doudian"
    assert [pack.resolve(x) for x in ("pdd", "PDD", "douyin", "wdt", "jd", "nope")] == \
        ["pinduoduo", "pinduoduo", "doudian", "wangdiantong", "jd", None]


@pytest.mark.parametrize("pid", sorted(BACK_OFFICES))
def test_accounts_and_trail_give_one_id(pid):
    match = backoffice.catalog().match_url(BACK_OFFICES[pid], "tab_url")
    assert match is not None and match.platform.id == pid
    assert platform_of(FILE_NAMES[pid], vocab()) == pid
    assert vocab().platform_label(pid) == platforms().by_id[pid].name_zh


def test_every_pack_uses_the_ids_of_the_platforms_pack():
    ids = set(platforms().by_id)
    assert {p.id for p in backoffice.catalog().platforms} <= ids
    assert set(vocab().platforms) == ids


def test_old_ids_in_a_users_files_are_aliases(tmp_path):
    """An account map written with the ids of earlier versions (pdd, douyin, wdt) still names the platforms."""
    subs = write_csv(tmp_path / "subs.csv", ["平台", "子账号", "状态"],
                     [["pdd", "云仓:张伟", "启用"], ["douyin", "云仓:王芳", "启用"], ["WDT", "wangfang", "启用"],
                      ["weixin_shop", "云仓:李娜", "启用"], ["有赞", "云仓:刘洋", "启用"]])
    amap = write_csv(tmp_path / "map.csv", ["账号", "工号", "平台"], [["云仓:张伟", "E1", "pdd"]])
    inputs = load_inputs(None, [subs], [], amap, {}, Coverage())
    assert list(inputs.subaccounts["platform"]) == ["pinduoduo", "doudian", "wangdiantong", "weixin_shop", "有赞"]
    assert list(inputs.account_map["platform"]) == ["pinduoduo"]


def _pack_error(tmp_path, name: str, edit) -> str:
    checks = copy_checks(tmp_path)
    path = checks / name
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(PackError) as exc:
        if name == "platforms.toml":
            load_platforms(path)
        elif name == "backoffices.toml":
            backoffice.load_catalog(path)
        else:
            vocab.__wrapped__(checks)
    return str(exc.value)


@pytest.mark.parametrize("name,edit,says", [
    ("backoffices.toml", lambda t: t.replace('id = "kuaimai"', 'id = "kuai-mai"'), "unknown platform 'kuai-mai'"),
    ("backoffices.toml", lambda t: t.replace('id = "kuaimai"', 'id = "taobao"'), "'taobao' missing or duplicate"),
    ("backoffices.toml", lambda t: t.replace('id = "kuaimai"', 'id = "pdd"'), "'pdd' missing or duplicate"),
    ("platforms.toml", lambda t: t.replace('aliases = ["wdt"]', 'aliases = ["pdd"]'), "'pdd' already names"),
    ("platforms.toml", lambda t: t.replace('id = "jd"', 'id = "JD"'), "'JD' is not lower-case"),
    ("platforms.toml", lambda t: t.replace('"快麦", "kuaimai"', '"快麦", "旺店通"'), "'旺店通' is listed"),
    ("platforms.toml", lambda t: t.replace('name_en = "Kuaimai"\n', ''), "missing 'name_en'"),
    ("account-headers.toml", lambda t: t + '\n[platforms.pdd]\nlabel = "拼多多"\nwords = ["pdd"]\n', "moved to"),
])
def test_pack_errors(tmp_path, name, edit, says):
    assert says in _pack_error(tmp_path, name, edit)


def test_an_alias_in_a_sites_own_back_office_pack_is_read_as_the_id(tmp_path):
    checks = copy_checks(tmp_path)
    path = checks / "backoffices.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('id = "pinduoduo"', 'id = "pdd"'), encoding="utf-8")
    match = backoffice.load_catalog(path).match_url(BACK_OFFICES["pinduoduo"], "tab_url")
    assert match is not None and match.platform.id == "pinduoduo"


def test_an_unknown_platform_is_a_usage_error_of_the_scan(tmp_path):
    checks = copy_checks(tmp_path)
    path = checks / "backoffices.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('id = "jushuitan"', 'id = "erp321"'), encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    res = run_cli("scan", "--only", "trail", "--home", str(home), "-q", "--lang", "en",
                  env={"AUDITOR_CHECKS_DIR": str(checks)})
    assert res.returncode == 2 and "unknown platform 'erp321'" in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1
