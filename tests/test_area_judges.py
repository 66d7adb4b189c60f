"""Each area's judge, driven in process from facts as its collector states them (no I/O in a judge): what fires,
at which severity (default, role, escalations), with which typed subject, and what is handed over. Also the area
registry's order, which follows what each area needs and provides."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from auditor import packs
from auditor.accounts.collect import AccountFacts
from auditor.accounts.judge import judge as judge_accounts
from auditor.accounts.records import OsAccount
from auditor.core import checks as core_checks
from auditor.core.area import JudgeContext
from auditor.core.factory import FindingFactory
from auditor.core.handover import Departure, Departures, FileVerdict, Handover
from auditor.core.model import Coverage
from auditor.core.options import ScanOptions
from auditor.files.collect import FilesFacts, TableFact
from auditor.files.judge import judge as judge_files
from auditor.remote.facts import ProcessFact, RemoteFacts, SettingFact, SocketFact
from auditor.remote.judge import judge as judge_remote
from auditor.scan import registry
from auditor.trail import backoffice
from auditor.trail.collect import Export, TrailFacts
from auditor.trail.download import Download, Window
from auditor.trail.filelink import ABSENT, PRESENT
from auditor.trail.judge import judge as judge_trail

TODAY = dt.date(2026, 11, 30)


def _jc(role: str | None = None, handover: Handover | None = None, **opts) -> JudgeContext:
    return JudgeContext(FindingFactory(core_checks.checks(), role), ScanOptions(**opts), handover or Handover(), [],
                        TODAY, "PC-01", role, Coverage())


def _by_check(findings) -> dict:
    out: dict = {}
    for f in findings:
        out.setdefault(f.check_id, []).append(f)
    return out


# --------------------------------------------------------------------------- registry

def test_registry_order_follows_needs_and_provides():
    assert registry.check_order() == []
    assert registry.names() == ["remote", "files", "accounts", "trail"]
    assert registry.default_areas() == ["remote", "files", "accounts", "trail"]
    files, trail = registry.area("files"), registry.area("trail")
    assert registry.check_order((trail, files)) == ["trail needs file_verdicts, which no area before it provides",
                                                    "trail needs departures, which no area before it provides"]
    for area in registry.AREAS:
        for kind in area.needs:
            assert registry.provider(kind).supply is not None, f"{kind}: no supply when its area is not selected"


# --------------------------------------------------------------------------- remote

def _proc(pid: int, name: str, exe: str | None = None) -> ProcessFact:
    return ProcessFact(pid=pid, name=name, exe=exe or f"C:\\Tools\\{name}", cmdline=[exe or name, "--token", "s3cr3t"],
                       user="WH\\clerk", started="2026-11-30T09:00:00+08:00", ppid=1, exe_sha256="a" * 64)


def test_remote_judge_viewer_winrm_xrdp_and_a_listener():
    facts = RemoteFacts(
        processes=[_proc(10, "mstsc.exe"), _proc(11, "svc.exe")],
        sockets=[SocketFact("tcp", "0.0.0.0", 7070, "LISTEN", 11)],  # AnyDesk's port, an ordinary name
        settings=[SettingFact("winrm", True, "services", {"autostart_units": ["WinRM"], "listening": ["0.0.0.0:5985"]}),
                  SettingFact("xrdp", True, "units", {"autostart_units": ["xrdp"], "listening": ["127.0.0.1:3389"]}),
                  SettingFact("gnome_remote_desktop", True, "units", {"listening": ["192.168.1.5:3389"]})])
    found = _by_check(judge_remote(facts, _jc()))
    (viewer,) = found["RC-009"]
    assert viewer.severity == "info" and viewer.subject.kind == "process" and viewer.subject.tool == "mstsc"
    assert viewer.subject.sha256 == "a" * 64 and viewer.evidence["exe_sha256"] == "a" * 64
    assert "s3cr3t" not in viewer.subject.cmdline  # secrets masked in the subject as in the evidence
    (winrm,) = found["RC-012"]
    assert winrm.severity == "high" and winrm.evidence["exposed_addresses"] == ["0.0.0.0:5985"]  # exposed
    assert winrm.subject.kind == "setting" and winrm.subject.setting == "winrm"
    gnome, xrdp = sorted(found["RC-014"], key=lambda f: f.target.ref)
    assert (gnome.target.ref, gnome.severity) == ("gnome_remote_desktop", "high")
    assert (xrdp.target.ref, xrdp.severity) == ("xrdp", "medium")  # loopback only: not exposed
    (listener,) = found["RC-006"]
    assert listener.subject.kind == "socket" and listener.subject.port == 7070 and listener.subject.pid == 11


def test_remote_role_severity_is_never_lowered_by_a_condition():
    facts = RemoteFacts(processes=[_proc(12, "ToDesk.exe")])
    (todesk,) = judge_remote(facts, _jc(role="waybill-printing"))
    assert todesk.check_id == "RC-001" and todesk.severity == "critical"
    (office,) = judge_remote(facts, _jc(role="office"))
    assert office.severity == "high"


# --------------------------------------------------------------------------- files

def _table(name: str, records: int, id_rows: int = 0, member: str = "", size: int = 4096) -> TableFact:
    summary = {"records": records, "id_rows": id_rows, "masked_rows": 0, "total_rows": records + 1,
               "masked_share": 0.0, "kinds": {"mobile": "unmasked", "name": "masked"}, "sheets": [],
               "samples": ["138******78"], "sha256": "b" * 64 if not member else None, "encoding": "utf-8",
               "truncated": []}
    return TableFact(Path("/home/wh01/Desktop") / name, member, size, 1_764_460_800_000_000_000, "wh01", summary)


def test_files_judge_findings_verdicts_and_summary():
    facts = FilesFacts(tables=[_table("ids.csv", 3, id_rows=3), _table("big.csv", 600), _table("few.csv", 2),
                               _table("a.zip", 40, member="!orders.csv", size=1234)],
                       roots=[Path("/home/wh01/Desktop")])
    jc = _jc()
    found = _by_check(judge_files(facts, jc))
    assert [f.severity for f in found["PI-002"]] == ["critical"]
    member, big = sorted(found["PI-001"], key=lambda f: f.target.ref)
    assert member.severity == "high" and member.target.ref == "/home/wh01/Desktop/a.zip!orders.csv"
    assert member.evidence["size"] == 1234 and member.subject.size == 1234  # the member's size, not the archive's
    assert big.severity == "critical" and big.evidence["records"] == 600  # escalated: many_records
    assert big.subject.kind == "file" and big.subject.location == "desktop" and big.subject.kinds == ("mobile",)
    assert big.subject.owner == "wh01" and big.evidence["locator"]
    verdicts = jc.handover.file_verdicts
    few, source = verdicts.lookup(Path("/home/wh01/Desktop/few.csv"))
    assert source == "files-area" and few.records == 2 and not few.finding and few.finding_id is None
    found_big, _ = verdicts.lookup(Path("/home/wh01/Desktop/big.csv"))
    assert found_big.finding and found_big.finding_id == big.fingerprint
    assert jc.sections["files_summary"]["unmasked_records"] == 3 + 600 + 40
    assert jc.sections["files_summary"]["files_with_findings"] == 3


# --------------------------------------------------------------------------- accounts

def test_accounts_judge_os_accounts_and_what_could_not_be_assessed():
    empty = OsAccount("linux", "print02", uid=1001, enabled=True, password_empty=True,
                      last_login=dt.datetime(2026, 11, 29, 8, 0), sources={"shadow": "/etc/shadow"})
    facts = AccountFacts(as_of=TODAY, os_accounts=[empty], guest_session={"source": "/etc/lightdm/lightdm.conf"},
                         os_read=True)
    jc = _jc(role="waybill-printing")
    found = _by_check(judge_accounts(facts, jc))
    assert [f.severity for f in found["AC-010"]] == ["high"]  # the role's severity
    assert found["AC-010"][0].subject.kind == "account" and found["AC-010"][0].subject.user == "print02"
    assert [f.severity for f in found["AC-009"]] == ["high"]
    cov = {c.source: c for c in jc.coverage.entries}
    assert cov["check AC-001"].status == "not_assessed" and "--roster" in cov["check AC-001"].note
    assert jc.handover.departures is None  # no roster: nothing to hand over


# --------------------------------------------------------------------------- trail

def _export(catalog, name: str, state: str, file_state: str, verdict: FileVerdict | None = None,
            user: str = "wh01", days_ago: int = 2) -> Export:
    when = dt.datetime(2026, 11, 30, 10, 0).astimezone() - dt.timedelta(days=days_ago)
    taobao = next(p for p in catalog.platforms if p.id == "taobao")
    d = Download("chrome", "Default", user, name, when, when, f"/home/{user}/Downloads/{name}", name, state,
                 20480, 20480, "text/csv")
    match = backoffice.PageMatch(taobao, "tab_url", "trade.taobao.com", "/trade/itemlist/list_export_order.htm", True)
    return Export(d, match, Path(f"/home/{user}"), file_state, verdict=verdict,
                  verdict_source="files-area" if verdict else "")


def test_trail_judge_statuses_departures_and_escalations():
    catalog = backoffice.catalog()
    unmasked = FileVerdict(80, 0, 0.0, True, "f" * 16, "PI-001")
    clean = FileVerdict(0, 0, 1.0, False)
    exports = [_export(catalog, "gone.csv", "complete", ABSENT),
               _export(catalog, "kept.csv", "complete", PRESENT, unmasked),
               _export(catalog, "clean.csv", "complete", PRESENT, clean),
               _export(catalog, "unjudged.csv", "complete", "unknown"),
               _export(catalog, "broken.csv", "interrupted", "unknown")]
    departures = Departures({"wh01": Departure(dt.date(2026, 11, 20), "wh01", "E001", "王丽")}, "1 roster key")
    facts = TrailFacts(Window.ending(TODAY, 30), catalog, exports, departures=departures)
    jc = _jc()
    found = _by_check(judge_trail(facts, jc))
    assert [f.evidence["file_name"] for f in found["TR-001"]] == ["gone.csv"]
    (kept,) = found["TR-004"]
    assert kept.severity == "high" and kept.evidence["file_verdict"]["finding_id"] == "f" * 16
    (gone,) = found["TR-001"]
    assert "Taobao" in gone.title["en"] and "淘宝" in gone.title["zh"]  # the platform named in each language
    severities = {f.evidence["file_name"]: f.severity for f in found["TR-005"]}
    assert severities == {"clean.csv": "info", "unjudged.csv": "low", "broken.csv": "info"}  # kept_unjudged
    assert len(found["TR-003"]) == 5 and found["TR-003"][0].subject.employee_id == "E001"
    assert found["TR-003"][0].severity == "critical"
    subject = kept.subject
    assert (subject.kind, subject.platform, subject.url_host, subject.location) == (
        "download", "taobao", "trade.taobao.com", "downloads")
    assert jc.sections["trail"]["weekly"][0]["exports"] == 5


def test_every_area_declares_its_sections_and_hand_over():
    assert {s for a in registry.AREAS for s in a.sections} == {"files_summary", "trail"}
    assert {k for a in registry.AREAS for k in a.provides} == {"file_verdicts", "departures"}
    assert packs.catalog()  # the judges above used the real catalog
