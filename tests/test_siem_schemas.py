"""The validators of tests/siemcheck.py catch what the official OCSF 1.3.0 and ECS 9.4 definitions forbid (the
faults found in the first feed among them), and the mappings of auditor.siem stay valid on awkward
findings: Chinese host names, unknown operating systems, missing facts, oversized texts, odd back-office hosts."""

from __future__ import annotations

import copy
import json

import pytest

import siemcheck
from auditor.siem import ecs, ocsf
from auditor.siem.facts import context_of
from auditor.siem.ndjson import render_ecs, render_ocsf
from conftest import assert_valid_siem_files

DIGEST = "ab" * 32


def _report(hostname: str = "PRINT-01", os_name: str = "UnionTech OS Desktop 20 Pro", platform: str = "linux",
            site: str | None = "义乌一仓", machine_id: str | None = "0f3c7a9d2b6e4f1a8c5d3e7b9a1c2d4e",
            findings: list | None = None) -> dict:
    host = {"hostname": hostname, "os": os_name, "os_version": "20", "platform": platform, "role": "office",
            "site": site, "user": "root", "live": True}
    if machine_id:
        host["machine_id"] = machine_id
    return {"schema_version": "1.1", "tool": {"name": "yuncang-auditor", "version": "0.1.0"}, "host": host,
            "started_at": "2026-11-30T12:30:00+08:00", "finished_at": "2026-11-30T12:31:05+08:00",
            "findings": findings if findings is not None else FINDINGS, "integrity": {"digest": DIGEST},
            "clauses": {"PIPL-51": {"law": "个人信息保护法", "short": "PIPL"}}}


FINDINGS = [
    {"id": "f1", "check_id": "PI-001", "area": "files", "severity": "high",
     "title": {"zh": "未脱敏导出：订单.csv", "en": "Unmasked export: 订单.csv"},
     "target": {"kind": "file", "ref": "C:\\Users\\wh\\Desktop\\订单.csv", "label": "订单.csv"},
     "evidence": {"path": "C:\\Users\\wh\\Desktop\\订单.csv", "records": 120, "size": 5141, "mtime":
                  "2026-11-30T09:00:00+08:00", "sha256": "cd" * 32, "owner": "WH\\print",
                  "kinds": {"mobile": "unmasked", "name": "masked"}, "samples": ["138******78"]},
     "legal_basis": ["PIPL-51"], "remediation": {"zh": "删除或脱敏", "en": "Delete or mask"}},
    {"id": "f2", "check_id": "TR-006", "area": "trail", "severity": "high",
     "title": {"zh": "导出文件拷到U盘", "en": "Export copied to a USB drive"},
     "target": {"kind": "download", "ref": "x", "label": "订单.xlsx"},
     "evidence": {"file_name": "订单.xlsx", "target_path": "E:\\订单.xlsx", "host": "myseller.taobao.com",
                  "page_path": "/orders/export", "os_user": "wh", "platform": "taobao",
                  "platform_name": {"zh": "淘宝", "en": "Taobao"}},
     "legal_basis": ["PIPL-51"], "remediation": {"zh": "收回U盘", "en": "Recover the drive"}},
    {"id": "f3", "check_id": "TR-001", "area": "trail", "severity": "medium",
     "title": {"zh": "去向不明", "en": "Whereabouts unknown"}, "target": {"kind": "download", "ref": "y", "label": "y"},
     "evidence": {"host": "erp_internal:8443", "os_user": "wh"},
     "legal_basis": [], "remediation": {"zh": "查明", "en": "Find it"}},
    {"id": "f4", "check_id": "RC-001", "area": "remote", "severity": "critical",
     "title": {"zh": "远程控制软件运行：ToDesk" + "长" * 70000, "en": "Remote tool running: ToDesk"},
     "target": {"kind": "process", "ref": "1234", "label": "ToDesk.exe"},
     "evidence": {"pid": 1234, "name": "ToDesk.exe", "exe": "C:\\Program Files\\ToDesk\\ToDesk.exe",
                  "cmdline": ["ToDesk.exe", "--hide"], "started": "2026-11-30T08:00:00+08:00", "ppid": 4,
                  "tool": {"id": "todesk", "name": "ToDesk", "vendor": "海南有趣", "category": "remote_control"},
                  "port": 35600},
     "legal_basis": ["PIPL-51"], "remediation": {"zh": "卸载", "en": "Uninstall"}, "note": {"zh": "注", "en": "n"}},
    {"id": "f5", "check_id": "AC-001", "area": "accounts", "severity": "low",
     "title": {"zh": "离职员工账号", "en": "Departed staff account"}, "target": {}, "evidence": {"account": "店铺:张三"},
     "legal_basis": ["UNKNOWN-9"], "remediation": {}},
]


def _events(report: dict) -> list[dict]:
    return [json.loads(line) for line in render_ocsf(report).splitlines()]


def _ecs_docs(report: dict) -> list[dict]:
    lines = render_ecs(report).splitlines()
    return [json.loads(line) for line in lines[1::2]]


@pytest.mark.parametrize("report", [
    _report(), _report(hostname="义乌仓-打单电脑", os_name="Windows 10 Pro", platform="win32", site=None),
    _report(hostname="", os_name="", platform="", machine_id=None), _report(findings=[])],
    ids=["linux", "chinese-windows-host", "nothing-known", "no-findings"])
def test_awkward_reports_map_to_valid_documents(report):
    for event in _events(report):
        assert siemcheck.ocsf_problems(event) == []
    types = siemcheck.template_field_types()
    for doc in _ecs_docs(report):
        assert siemcheck.ecs_problems(doc) == []
        assert siemcheck.template_problems(doc, types) == []


def test_facts_land_where_the_schemas_put_them():
    evs = {e["unmapped"]["finding"]["check_id"]: e for e in _events(_report(hostname="义乌仓-打单电脑"))}
    assert "hostname" not in evs["PI-001"]["device"] and evs["PI-001"]["device"]["name"] == "义乌仓-打单电脑"
    assert evs["TR-006"]["data_security"]["data_lifecycle_state_id"] == 2
    assert evs["TR-006"]["src_endpoint"] == {"name": "myseller.taobao.com", "hostname": "myseller.taobao.com",
                                             "domain": "myseller.taobao.com"}
    assert evs["TR-001"]["src_endpoint"] == {"name": "erp_internal:8443", "domain": "erp_internal:8443"}
    assert evs["PI-001"]["file"]["ext"] == "csv" and evs["PI-001"]["file"]["owner"] == {"name": "WH\\print"}
    assert len(evs["RC-001"]["message"]) == 65535 and evs["RC-001"]["remediation"] == {"desc": "卸载"}
    assert evs["RC-001"]["compliance"]["standards"] == ["PIPL"]
    assert evs["AC-001"]["compliance"]["standards"] == ["yuncang-auditor"] and "resources" not in evs["AC-001"]
    assert evs["PI-001"]["timezone_offset"] == 480
    docs = {d["rule"]["id"]: d for d in _ecs_docs(_report())}
    assert docs["RC-001"]["process"]["parent"]["pid"] == 4 and docs["RC-001"]["yuncang"]["port"] == 35600
    assert docs["TR-006"]["url"] == {"domain": "myseller.taobao.com", "path": "/orders/export"}
    assert docs["PI-001"]["host"]["os"]["type"] == "linux" and "samples" not in docs["PI-001"]["yuncang"]["evidence"]


def test_facts_come_from_the_subject():
    """A finding of schema 1.2 maps its typed subject: facts its evidence lacks or names otherwise come from the
    subject; only the tool's vendor and the platform's names are read from the evidence."""
    pi = {**FINDINGS[0], "evidence": {"path": "C:\\old\\elsewhere.csv", "records": 1, "kinds": {}},
          "subject": {"kind": "file", "path": "C:\\Users\\wh\\Desktop\\订单.csv", "name": "订单.csv", "size": 5141,
                      "records": 120, "kinds": ["mobile"], "location": "desktop"}}
    rc = {**FINDINGS[3], "evidence": {"tool": {"id": "todesk", "vendor": "海南有趣"}},
          "subject": {"kind": "process", "pid": 77, "process": "ToDesk.exe", "cmdline": ["ToDesk.exe"], "user": "wh",
                      "tool": "todesk", "tool_name": "ToDesk", "tool_category": "remote_control"}}
    tr = {**FINDINGS[1], "evidence": {"platform_name": {"zh": "淘宝", "en": "Taobao"}},
          "subject": {"kind": "download", "name": "订单.xlsx", "url_host": "myseller.taobao.com", "user": "wh",
                      "platform": "taobao", "location": "removable"}}
    ac = {**FINDINGS[4], "evidence": {}, "subject": {"kind": "account", "account": "店铺:张三", "platform": "taobao"}}
    rep = {**_report(findings=[pi, rc, tr, ac]), "schema_version": "1.2"}
    docs = {d["rule"]["id"]: d for d in _ecs_docs(rep)}
    evs = {e["unmapped"]["finding"]["check_id"]: e for e in _events(rep)}
    types = siemcheck.template_field_types()
    for doc in docs.values():
        assert siemcheck.ecs_problems(doc) == [] and siemcheck.template_problems(doc, types) == []
    for event in evs.values():
        assert siemcheck.ocsf_problems(event) == []
    assert docs["PI-001"]["file"] == {"path": "C:\\Users\\wh\\Desktop\\订单.csv", "name": "订单.csv", "size": 5141}
    assert docs["PI-001"]["yuncang"]["records"] == 120 and docs["PI-001"]["yuncang"]["unmasked_kinds"] == ["mobile"]
    assert evs["PI-001"]["file"]["path"] == "C:\\Users\\wh\\Desktop\\订单.csv"
    assert evs["PI-001"]["data_security"]["detection_pattern"] == "mobile"
    assert docs["RC-001"]["process"] == {"pid": 77, "name": "ToDesk.exe", "command_line": "ToDesk.exe",
                                         "args": ["ToDesk.exe"]} and docs["RC-001"]["user"] == {"name": "wh"}
    assert docs["RC-001"]["yuncang"]["tool"] == {"id": "todesk", "name": "ToDesk", "vendor": "海南有趣",
                                                 "category": "remote_control"}
    assert docs["TR-006"]["file"] == {"name": "订单.xlsx"} and docs["TR-006"]["url"] == {"domain": "myseller.taobao.com"}
    assert docs["TR-006"]["yuncang"]["platform"] == {"id": "taobao", "zh": "淘宝", "en": "Taobao"}
    assert evs["TR-006"]["actor"] == {"user": {"name": "wh"}} and evs["TR-006"]["file"]["name"] == "订单.xlsx"
    assert docs["AC-001"]["user"] == {"name": "店铺:张三"} and docs["AC-001"]["yuncang"]["platform"] == {"id": "taobao"}


def test_categories_and_classes_come_from_the_check_definitions(monkeypatch):
    from auditor.core import checks as packs
    from auditor.siem import facts

    known = {**packs.checks(), **packs.fleet_checks()}
    for cid, chk in known.items():
        assert ecs.event_categories(cid) == {k: list(v) for k, v in chk.ecs.items()}
        assert ocsf.event_class(cid) == (chk.ocsf["class_uid"], chk.ocsf["class_name"])
    # a check the packs do not hold (an older version's): a host fact for information, a Compliance Finding
    old = {**FINDINGS[0], "id": "f9", "check_id": "PI-099"}
    rep = _report(findings=[old])
    (doc,), (event,) = _ecs_docs(rep), _events(rep)
    assert doc["event"]["category"] == ["host"] and doc["event"]["type"] == ["info"]
    assert event["class_uid"] == 2003 and "data_security" not in event and siemcheck.ocsf_problems(event) == []
    assert siemcheck.ecs_problems(doc) == []
    # what a pack says is what the documents say
    import dataclasses
    changed = {cid: dataclasses.replace(chk, ecs={"category": ("file",), "type": ("access",)},
                                        ocsf={"class_uid": 2006, "class_name": "Data Security Finding",
                                              "data_lifecycle_state_id": 3}) if cid == "PI-001" else chk
               for cid, chk in packs.checks().items()}
    monkeypatch.setattr(facts, "checks", lambda: changed)
    (doc,), (event,) = _ecs_docs(_report(findings=[FINDINGS[0]])), _events(_report(findings=[FINDINGS[0]]))
    assert doc["event"]["type"] == ["access"] and event["data_security"]["data_lifecycle_state"] == "Data in-Use"


def _valid_event(check_id: str) -> dict:
    return next(e for e in _events(_report()) if e["unmapped"]["finding"]["check_id"] == check_id)


def test_the_ocsf_validator_finds_what_the_first_feed_got_wrong():
    ds, comp = _valid_event("PI-001"), _valid_event("RC-001")
    assert siemcheck.ocsf_problems(ds) == [] and siemcheck.ocsf_problems(comp) == []

    def problems(event, change):
        event = copy.deepcopy(event)
        change(event)
        return " | ".join(siemcheck.ocsf_problems(event))

    assert "is_alert: not an attribute of data_security_finding" in problems(ds, lambda e: e.update(is_alert=True))
    assert "remediation: not an attribute" in problems(ds, lambda e: e.update(remediation={"desc": "x"}))
    assert "src_endpoint.: needs at least one of" in problems(ds, lambda e: e.update(src_endpoint={"domain": "a.b"}))
    assert "metadata.version '1.4.0'" in problems(ds, lambda e: e["metadata"].update(version="1.4.0"))
    assert "device: not an attribute of data_security_finding without profile 'host'" in problems(
        ds, lambda e: e["metadata"].pop("profiles"))
    assert "data_security.category_id: 7 is not a value" in problems(
        ds, lambda e: e["data_security"].update(category_id=7))
    assert "the caption of 1 is 'Personal'" in problems(ds, lambda e: e["data_security"].update(category="PII"))
    assert "finding_info.uid: required attribute missing" in problems(ds, lambda e: e["finding_info"].pop("uid"))
    assert "type_uid 200602" in problems(ds, lambda e: e.update(type_uid=200602))
    assert "does not match the regex of hostname_t" in problems(ds, lambda e: e["device"].update(hostname="仓库"))
    assert "longer than string_t's 65535" in problems(ds, lambda e: e.update(message="x" * 70000))
    assert "integer_t expected, got str" in problems(ds, lambda e: e.update(severity_id="5"))
    assert "profiles[0]: no profile 'hosts'" in problems(ds, lambda e: e["metadata"].update(profiles=["hosts"]))
    assert "cloud: required attribute missing" in problems(ds, lambda e: e["metadata"].update(
        profiles=["host", "cloud"]))
    assert "invoked_by: deprecated attribute" in problems(ds, lambda e: e.update(actor={"invoked_by": "x"}))
    assert "compliance.standards: required attribute missing" in problems(
        comp, lambda e: e["compliance"].pop("standards"))
    assert "observables[0].name 'nope.x' names no attribute" in problems(
        comp, lambda e: e.update(observables=[{"name": "nope.x", "type_id": 1}]))


def test_the_ecs_validator_finds_what_ecs_forbids():
    doc = _ecs_docs(_report())[0]
    assert siemcheck.ecs_problems(doc) == []

    def problems(change):
        d = copy.deepcopy(doc)
        change(d)
        return " | ".join(siemcheck.ecs_problems(d))

    assert "made_up: not an ECS field" in problems(lambda d: d.update(made_up=1))
    assert "host.name: int" in problems(lambda d: d["host"].update(name=5))
    assert "event.kind: 'finding' is not an allowed value" in problems(lambda d: d["event"].update(kind="finding"))
    assert "'denied' is not expected with event.category 'file'" in problems(
        lambda d: d["event"].update(type=["denied"]))
    assert "tags: an array expected" in problems(lambda d: d.update(tags="x"))
    assert "host.os.type: 'win' is not an expected value" in problems(lambda d: d["host"]["os"].update(type="win"))
    assert "@timestamp: str 'yesterday'" in problems(lambda d: d.update({"@timestamp": "yesterday"}))
    types = siemcheck.template_field_types()
    d = copy.deepcopy(doc)
    d["yuncang"]["new_field"] = "x"
    d["observer"] = {"vendor": "x"}  # a valid ECS field, but not one the template maps (the agent is agent.*)
    assert {p.split(":")[0] for p in siemcheck.template_problems(d, types)} == {"yuncang.new_field", "observer.vendor"}


def test_every_ndjson_file_a_test_leaves_is_checked(tmp_path):
    """conftest runs this over each test's tmp_path (and the session's folders at the end)."""
    event = _valid_event("PI-001")
    event["is_alert"] = True
    bad = tmp_path / "bad" / "x.ocsf.ndjson"
    bad.parent.mkdir()
    bad.write_text(json.dumps(event, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="is_alert"):
        assert_valid_siem_files(tmp_path)
    bulk = tmp_path / "bad" / "x.ecs.ndjson"
    bulk.write_bytes(json.dumps({"index": {"_index": "logs-yuncang.findings-default", "_id": "1"}}).encode() + b"\n"
                     + json.dumps(_ecs_docs(_report())[0]).encode() + b"\n")
    bad.unlink()
    with pytest.raises(AssertionError, match="not a create action"):
        assert_valid_siem_files(tmp_path)
    bulk.unlink()


def test_context_of_reads_the_machine_id_and_signature_kind():
    rep = _report()
    rep["integrity"] = {"digest": DIGEST, "ed25519": {"public_key_sha256": "0" * 64, "signature": "x"}}
    ctx = context_of(rep)
    assert ctx["machine_id"] == "0f3c7a9d2b6e4f1a8c5d3e7b9a1c2d4e" and ctx["signature"] == "ed25519"
    assert ecs.data_stream("prod") == "logs-yuncang.findings-prod" and ocsf.is_data_security("TR-006")
