"""Check semantics as data: the check ids and escalation conditions the code uses match the rules packs both ways,
a finding's severity is the highest of default, role and the conditions that hold, and the packs are validated
(roles, escalations, SIEM categories)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from conftest import REPO, copy_checks
from auditor.core import checks as core_checks
from auditor.core.checks import CheckDef
from auditor.core.factory import FindingFactory
from auditor.core.model import Target
from auditor.core.severity import NAMES, SEVERITIES, at_least, highest, severity
from auditor.errors import PackError

CHECK_ID = re.compile(r"^[A-Z]{2,4}-\d{3}$")
NOT_CHECKS = {"SHA-256"}  # shaped like a check id
SOURCES = sorted((REPO / "auditor").rglob("*.py"))


@functools.lru_cache(maxsize=1)
def _parsed() -> tuple:
    """Every source parsed once for the whole module (three tests walk them)."""
    return tuple((path, ast.parse(path.read_text(encoding="utf-8"), str(path))) for path in SOURCES)


def _trees():
    yield from _parsed()


def _code_ids() -> set[str]:
    return {node.value for _, tree in _trees() for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CHECK_ID.match(node.value)} - NOT_CHECKS


def _make_calls():
    """(file, check id or None, {condition names}, keyword names) of every call that makes a finding: the factory's
    ``make(…)`` and the judges' helpers around it (any call with ``conditions={…}``)."""
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            is_make = isinstance(node.func, ast.Attribute) and node.func.attr == "make"
            if not is_make and not any(kw.arg == "conditions" for kw in node.keywords):
                continue
            first = node.args[0]
            cid = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            conds: set[str] = set()
            for kw in node.keywords:
                if kw.arg == "conditions" and isinstance(kw.value, ast.Dict):
                    conds |= {k.value for k in kw.value.keys if isinstance(k, ast.Constant)}
            yield path.relative_to(REPO), cid, conds, {kw.arg for kw in node.keywords}


def _all_checks() -> dict[str, CheckDef]:
    return {**core_checks.checks(), **core_checks.fleet_checks()}


def test_check_ids_in_code_and_packs_match_both_ways():
    in_packs = set(_all_checks())
    in_code = _code_ids()
    assert in_packs - in_code == set(), "checks in the packs that no code makes"
    assert in_code - in_packs == set(), "check ids in the code that no pack defines"


def test_escalation_conditions_in_code_and_packs_match_both_ways():
    packs = _all_checks()
    in_packs = {name for chk in packs.values() for name in chk.escalations}
    calls = list(_make_calls())
    in_code = {name for _, _, conds, _ in calls for name in conds}
    assert in_packs - in_code == set(), "escalations no judge ever states"
    assert in_code - in_packs == set(), "conditions the judges state that no pack escalates on"
    for where, cid, conds, _ in calls:
        if cid is not None and cid in packs:
            assert conds <= set(packs[cid].escalations), f"{where}: {cid} has no escalation {conds}"


def test_no_severity_is_passed_to_the_factory():
    for where, _, _, keywords in _make_calls():
        assert "severity" not in keywords, f"{where} passes a severity: state a condition instead"


def _check(**kw) -> CheckDef:
    base = dict(id="XX-001", area="remote", severity="low", title={"zh": "{x}", "en": "{x}"},
                remediation={"zh": "", "en": ""}, legal_basis=("PIPL-51",))
    return CheckDef(**{**base, **kw})


@pytest.mark.parametrize("role,conditions,expected", [
    (None, {}, "low"),
    ("waybill-printing", {}, "high"),
    (None, {"exposed": True}, "medium"),
    ("waybill-printing", {"exposed": True}, "high"),  # the role's severity is higher than the condition's
    (None, {"exposed": True, "many": True}, "critical"),
    (None, {"exposed": False, "many": False}, "low"),
    ("office", {"unknown_to_this_pack": True}, "low"),
])
def test_severity_is_the_highest_of_default_role_and_conditions(role, conditions, expected):
    chk = _check(severity_by_role={"waybill-printing": "high"},
                 escalations={"exposed": "medium", "many": "critical"})
    finding = FindingFactory({chk.id: chk}, role).make(chk.id, Target("tool", "t", "t"), {}, {"x": "y"},
                                                        conditions=conditions)
    assert finding.severity == expected


def test_title_parameters_per_language():
    chk = _check()
    f = FindingFactory({chk.id: chk}, None).make(chk.id, Target("tool", "t", "t"), {},
                                                 {"x": {"zh": "拼多多", "en": "Pinduoduo"}})
    assert f.title == {"zh": "拼多多", "en": "Pinduoduo"}


def test_one_severity_scale():
    assert NAMES == ("critical", "high", "medium", "low", "info")
    assert [s.rank for s in SEVERITIES] == [5, 4, 3, 2, 1]
    assert [s.weight for s in SEVERITIES] == [30, 15, 5, 1, 0]
    assert [s.ocsf_id for s in SEVERITIES] == [5, 4, 3, 2, 1] and severity("info").ocsf_name == "Informational"
    assert highest("low", None, "high", "medium") == "high" and at_least("critical", "high")
    assert not at_least("info", "low")


def test_every_check_has_siem_categories_and_a_description():
    for chk in _all_checks().values():
        assert chk.ecs["category"] and chk.ecs["type"], chk.id
        assert chk.ocsf["class_uid"] in core_checks.OCSF_CLASSES, chk.id
        assert chk.description["zh"] and chk.description["en"], chk.id
    assert _all_checks()["TR-006"].ocsf["data_lifecycle_state_id"] == 2


def _broken_pack(tmp_path: Path, old: str, new: str, file: str = "rules/remote.toml") -> Path:
    root = copy_checks(tmp_path)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


@pytest.mark.parametrize("old,new,message", [
    ('severity_by_role = { waybill-printing = "critical" }', 'severity_by_role = { waybill-printer = "critical" }',
     "unknown name 'waybill-printer'"),
    ('escalations = { exposed = "high" }', 'escalations = { exposed = "low" }', "is not above the default"),
    ('escalations = { exposed = "high" }', 'escalations = { Exposed-Port = "high" }', "unknown name"),
    ('ocsf = { class_uid = 2003, class_name = "Compliance Finding" }',
     'ocsf = { class_uid = 2003, class_name = "Data Security Finding" }', "is not an OCSF Findings class"),
    ('ecs = { category = ["configuration", "process"], type = ["info"] }',
     'ecs = { category = ["configuration", "proces"], type = ["info"] }', "ECS event.category"),
])
def test_malformed_rules_are_pack_errors(tmp_path, old, new, message):
    root = _broken_pack(tmp_path, old, new)
    with pytest.raises(PackError, match=re.escape(message)):
        core_checks.checks(root)


def test_roles_pack_is_validated(tmp_path):
    root = _broken_pack(tmp_path, "shared_pc = true", 'shared_pc = "yes"', "roles.toml")
    with pytest.raises(PackError, match="shared_pc must be true or false"):
        core_checks.roles(root)
    assert list(core_checks.roles()) == ["waybill-printing", "office", "warehouse", "server"]
