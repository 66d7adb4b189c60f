"""The HTML report in a real browser: headless Chromium (Debian package) opens it at desktop and phone widths;
any console error, any request that is not file:// or data:, or a page wider than the screen fails the test.
Screenshots and a print-to-PDF are saved (copied to $AUDITOR_TEST_ARTIFACTS when set, to look at them)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import load_report, run_cli
from reportkit import approvals, scan, three_area_tree, write

WIDTHS = {"desktop": (1366, 900, False), "narrow": (390, 844, True)}


@pytest.fixture(scope="module")
def browser(chromium):
    from cdp import Chromium

    b = Chromium(chromium)
    yield b
    b.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A baseline scan and a later scan of the same PC tree, rendered to HTML in Chinese and English."""
    base = tmp_path_factory.mktemp("html")
    root = base / "root"
    three_area_tree(root, todesk=True, ssh=False)
    write(root, "var/lib/dpkg/status", "Package: rustdesk\nStatus: install ok installed\nVersion: 1.2.3\n\n")
    allow = approvals(base)
    scan(base / "one", "--root", str(root), "--allowlist", str(allow), "--role", "waybill-printing")
    three_area_tree(root, todesk=False, ssh=True)
    scan(base / "two", "--root", str(root), "--allowlist", str(allow), "--role", "waybill-printing",
         "--site", "义乌三号仓", "--baseline", str(base / "one" / "r.json"))
    out = {}
    for lang in ("zh", "en"):
        out[lang] = base / f"report-{lang}.html"
        res = run_cli("report", str(base / "two" / "r.json"), "--lang", lang, "-o", str(out[lang]))
        assert res.returncode == 0, res.stderr
    report = load_report(base / "two" / "r.json")
    assert report["changes"]["new"] and report["changes"]["resolved"] and report["accepted_risks"]
    return {"paths": out, "report": report}


def _keep(path: Path) -> None:
    dest = os.environ.get("AUDITOR_TEST_ARTIFACTS")
    if dest:
        Path(dest).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(dest) / path.name)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_html_renders_cleanly_in_chromium(browser, pages, lang, width, tmp_path):
    w, h, mobile = WIDTHS[width]
    res = browser.open(pages["paths"][lang], w, h, mobile=mobile)
    assert res.console_errors == [], res.console_errors
    assert res.external_requests == [] and res.blocked == [], (res.external_requests, res.blocked)
    assert res.requests == [pages["paths"][lang].resolve().as_uri()]
    assert res.viewport_width == w
    assert res.scroll_width <= w, f"page is {res.scroll_width}px wide at {w}px"
    report = pages["report"]
    assert report["host"]["hostname"] in res.title
    heading = "法定义务履行情况" if lang == "zh" else "Legal duties"
    assert heading in res.text
    for f in report["findings"]:
        assert f["title"][lang] in res.text
    assert res.screenshot.startswith(b"\x89PNG\r\n\x1a\n") and len(res.screenshot) > 20_000
    assert res.pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page[^s]", res.pdf)) >= 3  # several A4 pages
    png = tmp_path / f"report-{lang}-{width}.png"
    pdf = tmp_path / f"report-{lang}-{width}.pdf"
    png.write_bytes(res.screenshot)
    pdf.write_bytes(res.pdf)
    _keep(png)
    _keep(pdf)


def test_the_harness_catches_external_requests_and_console_errors(browser, tmp_path):
    """Negative control: a page that phones home and logs an error must be caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title>'
                    '<link rel="stylesheet" href="https://fonts.example.invalid/x.css"></head><body>'
                    '<img src="http://203.0.113.7/pixel.png"><script>console.error("boom")</script></body></html>',
                    encoding="utf-8")
    res = browser.open(page, 800, 600, pdf=False)
    assert any("boom" in e for e in res.console_errors)
    assert {u for u in res.external_requests} >= {"https://fonts.example.invalid/x.css",
                                                  "http://203.0.113.7/pixel.png"}
    assert res.blocked  # and nothing left the machine
