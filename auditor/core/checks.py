"""What every check says, as validated data: ``checks/rules/*.toml`` (the checks of a scan), ``checks/fleet.toml``
(checks judged over many PCs) and ``checks/roles.toml`` (what a PC does).

A check's severity is the highest of its default, the severity for the PC's role and the severity of every
escalation whose named condition holds (``escalations = { exposed = "high" }``); the code that judges says which
conditions hold, never which severity follows. Each check also carries its ECS and OCSF categories for the SIEM
mappings, and a description shown in reports."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..errors import PackError
from ..messages import Text
from ..packs import load_toml
from ..resources import pack_dir
from .severity import highest, is_severity, rank

_CHECK_ID = re.compile(r"^[A-Z]{2,4}-\d{3}$")
_CONDITION = re.compile(r"^[a-z][a-z0-9_]*$")
_ROLE_ID = re.compile(r"^[a-z][a-z0-9-]*$")
#: ECS 8.x event.category values
ECS_CATEGORIES = frozenset({"api", "authentication", "configuration", "database", "driver", "email", "file", "host",
                            "iam", "intrusion_detection", "library", "malware", "network", "package", "process",
                            "registry", "session", "threat", "vulnerability", "web"})
#: ECS 8.x event.type values
ECS_TYPES = frozenset({"access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "end",
                       "error", "group", "indicator", "info", "installation", "protocol", "start", "user"})
#: OCSF 1.3 classes of the Findings category
OCSF_CLASSES = {2002: "Vulnerability Finding", 2003: "Compliance Finding", 2004: "Detection Finding",
                2005: "Incident Finding", 2006: "Data Security Finding"}
#: OCSF data_lifecycle_state_id (Data Security Finding)
OCSF_LIFECYCLE = {1: "Data at-Rest", 2: "Data in-Transit", 3: "Data in-Use"}


@dataclass(frozen=True)
class Role:
    id: str
    label: dict[str, str]
    description: dict[str, str]
    shared_pc: bool  # several people use such a PC (AC-008)


@dataclass(frozen=True)
class CheckDef:
    id: str
    area: str
    severity: str
    title: dict[str, str]
    remediation: dict[str, str]
    legal_basis: tuple[str, ...]
    severity_by_role: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    escalations: dict[str, str] = field(default_factory=dict)  # condition name -> severity when it holds
    ecs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # {"category": (...), "type": (...)}
    ocsf: dict[str, Any] = field(default_factory=dict)  # class_uid, class_name[, data_lifecycle_state_id]

    def severity_for(self, role: str | None, conditions: Iterable[str] = ()) -> str:
        """The highest of the default, the role's severity and each escalation whose condition holds. A condition
        this check does not escalate on (a site's own pack may drop one) changes nothing."""
        return highest(self.severity, self.severity_by_role.get(role or ""),
                       *(self.escalations.get(c) for c in conditions))


def _text_pair(raw: dict[str, Any], key: str, origin: str, required: bool = True) -> dict[str, str]:
    out = {}
    for lang in ("zh", "en"):
        value = raw.get(f"{key}_{lang}", None if required else "")
        if not isinstance(value, str):
            raise PackError("pack.lacks_text_key" if value is None else "pack.not_text_key", origin=origin, key=key,
                            lang=lang)
        out[lang] = value
    return out


def _severity_map(value: Any, what: str, default: str, origin: str, key_ok) -> dict[str, str]:
    if not isinstance(value, dict):
        raise PackError("pack.checks.not_severity_table", origin=origin, what=what)
    for name, sev in value.items():
        if not key_ok(name):
            raise PackError("pack.checks.unknown_name", origin=origin, what=what, name=name)
        if not is_severity(sev):
            raise PackError("pack.checks.unknown_name_severity", origin=origin, what=what, name=name, sev=sev)
        if rank(sev) <= rank(default):
            raise PackError("pack.checks.severity_not_above", origin=origin, what=what, name=name, sev=sev,
                            default=default)
    return dict(value)


def _ecs(value: Any, origin: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or set(value) - {"category", "type"}:
        raise PackError("pack.checks.bad_ecs", origin=origin)
    out = {}
    for key, allowed in (("category", ECS_CATEGORIES), ("type", ECS_TYPES)):
        items = value.get(key)
        if not isinstance(items, list) or not items or any(i not in allowed for i in items):
            raise PackError("pack.checks.bad_ecs_list", origin=origin, key=key, allowed=', '.join(sorted(allowed)))
        out[key] = tuple(items)
    return out


def _ocsf(value: Any, origin: str) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"class_uid", "class_name", "data_lifecycle_state_id"}:
        raise PackError("pack.checks.bad_ocsf", origin=origin)
    uid, name = value.get("class_uid"), value.get("class_name")
    if OCSF_CLASSES.get(uid) != name:
        raise PackError("pack.checks.not_ocsf_findings", origin=origin, uid=uid, name=name,
                        classes=', '.join(f'{k} {v}' for k, v in OCSF_CLASSES.items()))
    state = value.get("data_lifecycle_state_id")
    if state is not None and (uid != 2006 or state not in OCSF_LIFECYCLE):
        raise PackError("pack.checks.bad_lifecycle", origin=origin)
    return dict(value)


def check_from(raw: dict[str, Any], origin: str, roles: dict[str, Role]) -> CheckDef:
    cid = raw.get("id")
    if not isinstance(cid, str) or not _CHECK_ID.match(cid):
        raise PackError("pack.checks.bad_check_id", origin=origin, cid=cid)
    where = Text("where.check", origin=origin, id=cid)
    for key in ("area", "severity", "legal_basis", "ecs", "ocsf"):
        if key not in raw:
            raise PackError("pack.lacks_key", where=where, key=key)
    sev = raw["severity"]
    if not is_severity(sev):
        raise PackError("pack.checks.unknown_severity", where=where, sev=sev)
    basis = raw["legal_basis"]
    if not isinstance(basis, list) or not basis or not all(isinstance(b, str) for b in basis):
        raise PackError("pack.checks.bad_legal_basis", where=where)
    return CheckDef(
        id=cid,
        area=str(raw["area"]),
        severity=sev,
        title=_text_pair(raw, "title", where),
        remediation=_text_pair(raw, "remediation", where),
        legal_basis=tuple(basis),
        severity_by_role=_severity_map(raw.get("severity_by_role", {}), "severity_by_role", sev, where,
                                       lambda name: name in roles),
        description=_text_pair(raw, "description", where, required=False),
        escalations=_severity_map(raw.get("escalations", {}), "escalations", sev, where,
                                  lambda name: isinstance(name, str) and bool(_CONDITION.match(name))),
        ecs=_ecs(raw["ecs"], where),
        ocsf=_ocsf(raw["ocsf"], where),
    )


def _pack_root(root: Path | None) -> Path:
    return root or pack_dir("checks")


@lru_cache(maxsize=None)
def roles(root: Path | None = None) -> dict[str, Role]:
    """The roles of ``checks/roles.toml``, in file order."""
    path = _pack_root(root) / "roles.toml"
    out: dict[str, Role] = {}
    for raw in load_toml(path).get("role", []):
        rid = raw.get("id")
        if not isinstance(rid, str) or not _ROLE_ID.match(rid):
            raise PackError("pack.roles.bad_id", path=path, rid=rid)
        if rid in out:
            raise PackError("pack.roles.duplicate", path=path, rid=rid)
        if not isinstance(raw.get("shared_pc"), bool):
            raise PackError("pack.roles.bad_shared_pc", path=path, rid=rid)
        out[rid] = Role(rid, _text_pair(raw, "label", f"{path}: role {rid}"),
                        _text_pair(raw, "description", f"{path}: role {rid}"), raw["shared_pc"])
    if not out:
        raise PackError("pack.roles.none", path=path)
    return out


def _load(paths: Iterable[Path], root: Path | None) -> dict[str, CheckDef]:
    known = roles(root)
    out: dict[str, CheckDef] = {}
    for path in paths:
        for raw in load_toml(path).get("check", []):
            chk = check_from(raw, str(path), known)
            if chk.id in out:
                raise PackError("pack.checks.duplicate", path=path, id=chk.id)
            out[chk.id] = chk
    return out


@lru_cache(maxsize=None)
def checks(root: Path | None = None) -> dict[str, CheckDef]:
    """The checks of a scan: every ``checks/rules/*.toml``."""
    return _load(sorted((_pack_root(root) / "rules").glob("*.toml")), root)


@lru_cache(maxsize=None)
def fleet_checks(root: Path | None = None) -> dict[str, CheckDef]:
    """Checks judged over the reports of many PCs (``checks/fleet.toml``), never by a scan of one PC."""
    return _load([_pack_root(root) / "fleet.toml"], root)
