"""Export trail, the back-office catalog (checks/backoffices.toml): matching rules, privacy of URLs, and a
malformed catalog ending the scan with exit 2."""

from __future__ import annotations

import pytest

from auditor.core import checks as core_checks
from auditor import packs
from auditor.errors import PackError
from auditor.trail import backoffice
from conftest import copy_checks, run_cli


@pytest.fixture(scope="module")
def cat():
    return backoffice.catalog()


def test_catalog_covers_the_platforms_of_the_issue(cat):
    ids = {p.id for p in cat.platforms}
    assert {"taobao", "pinduoduo", "doudian", "jd", "kuaishou", "xiaohongshu", "jushuitan"} <= ids
    assert cat.max_exports_per_day >= 1


@pytest.mark.parametrize("url,field,platform,path", [
    ("https://myseller.taobao.com/home.htm/trade-platform/tp/sold?x=1", "tab_url", "taobao", "/home.htm/trade-platform/tp/sold"),
    ("https://MMS.PinDuoDuo.com:443/orders/list#frag", "tab_url", "pinduoduo", "/orders/list"),
    ("https://fxg.jinritemai.com/ffa/morder/order/list?btm=1", "referrer", "doudian", "/ffa/morder/order/list"),
    ("https://shop.jd.com/jdm/trade/orders/order-list", "tab_referrer_url", "jd", "/jdm/trade/orders/order-list"),
    ("https://s.kwaixiaodian.com/zone/order/list", "tab_url", "kuaishou", "/zone/order/list"),
    ("https://ark.xiaohongshu.com/app-order/order/query", "tab_url", "xiaohongshu", "/app-order/order/query"),
    ("https://src.erp321.com/app/order/order/list.aspx?_c=1", "tab_url", "jushuitan", "/app/order/order/list.aspx"),
    ("https://erp321.com/", "site_url", "jushuitan", "/"),
    ("https://jinritemai.com/", "site_url", "doudian", "/"),
    ("blob:https://mms.pinduoduo.com/9a7c-11", "download_url", "pinduoduo", ""),
])
def test_matches_keep_host_and_path_only(cat, url, field, platform, path):
    m = cat.match_url(url, field)
    assert m is not None and m.platform.id == platform and m.path == path
    assert "?" not in m.path and "#" not in m.path and ":" not in m.host


@pytest.mark.parametrize("url,field", [
    ("https://www.taobao.com/", "tab_url"),            # the consumer shop, not the seller centre
    ("https://taobao.com/", "site_url"),               # site_url alone is not enough for taobao.com
    ("https://jd.com/", "site_url"),
    ("https://evil.example/?u=https://mms.pinduoduo.com/", "tab_url"),
    ("https://mms.pinduoduo.com.evil.example/orders", "tab_url"),
    ("ftp://mms.pinduoduo.com/orders", "tab_url"),
    ("javascript:alert(1)", "tab_url"),
    ("", "tab_url"),
    (None, "tab_url"),
    ("https://[::1", "tab_url"),
])
def test_non_matches(cat, url, field):
    assert cat.match_url(url, field) is None


def test_first_matching_field_wins(cat):
    m = cat.match_pages({"tab_url": "https://www.example.org/", "tab_referrer_url": "",
                         "referrer": "https://trade.taobao.com/trade/itemlist/list_export_order.htm?x=1",
                         "site_url": "https://pinduoduo.com/"})
    assert (m.platform.id, m.field, m.export_page) == ("taobao", "referrer", True)


@pytest.mark.parametrize("name,mime,expected", [
    ("订单.xlsx", "", True), ("a.CSV", None, True), ("b.zip", "", True), ("c.7z", "", True), ("d.txt", "", True),
    ("报表", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True),
    ("x.bin", "text/csv; charset=utf-8", True),
    ("主图.jpg", "image/jpeg", False), ("说明.pdf", "application/pdf", False), ("page.html", "text/html", False),
])
def test_export_files(cat, name, mime, expected):
    assert cat.is_export_file(name, mime) is expected


def test_malformed_catalog_is_a_usage_error(tmp_path):
    checks = copy_checks(tmp_path)
    (checks / "backoffices.toml").write_text('[[platform]]\nid = "x"\nname_zh = "x"\nname_en = "x"\nhosts = []\n',
                                             encoding="utf-8")
    with pytest.raises(PackError, match="hosts"):
        backoffice.load_catalog(checks / "backoffices.toml")
    home = tmp_path / "home"
    home.mkdir()
    res = run_cli("scan", "--only", "trail", "--home", str(home), "-q", env={"AUDITOR_CHECKS_DIR": str(checks)})
    assert res.returncode == 2 and "hosts" in res.stderr and "Traceback" not in res.stderr


def test_trail_checks_cite_existing_clauses():
    clauses = packs.legal_clauses()
    trail = {k: c for k, c in core_checks.checks().items() if c.area == "trail"}
    assert sorted(trail) == [f"TR-00{i}" for i in range(1, 8)]
    # the severities the README states: TR-005 is low for a completed export not judged clean, info otherwise
    assert {k: c.severity_for(None, c.escalations) for k, c in trail.items()} == {
        "TR-001": "medium", "TR-002": "high", "TR-003": "critical", "TR-004": "high", "TR-005": "low",
        "TR-006": "high", "TR-007": "info"}
    assert trail["TR-005"].severity == "info" and trail["TR-005"].escalations == {"kept_unjudged": "low"}
    for c in trail.values():
        assert all(x in clauses for x in c.legal_basis), c.id
