"""Places on disk by name: the agent's own folders and files (incremental state, quarantine, fleet store, the user
data folder that holds them by default), and where an export lies as a place a reader knows (desktop, downloads,
WeChat files…)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import platformdirs

from . import TOOL_NAME


LAST_RUN = "last-run.json"  # a scheduled run's record beside its reports (never a report itself)


def data_dir() -> Path:
    """The user's data folder of the agent (platformdirs)."""
    return Path(platformdirs.user_data_dir(TOOL_NAME, appauthor=False))


def state_dir() -> Path:
    """Where the incremental state lives: ``AUDITOR_STATE_DIR`` or the user's state folder."""
    override = os.environ.get("AUDITOR_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir(TOOL_NAME, appauthor=False))


def quarantine_dir() -> Path:
    """Where remediation keeps originals: ``AUDITOR_QUARANTINE_DIR`` or ``<data folder>/quarantine``."""
    override = os.environ.get("AUDITOR_QUARANTINE_DIR")
    return Path(override) if override else data_dir() / "quarantine"


def fleet_db_path() -> Path:
    """The fleet store: ``AUDITOR_FLEET_DB`` or ``<data folder>/fleet.sqlite``."""
    override = os.environ.get("AUDITOR_FLEET_DB")
    return Path(override) if override else data_dir() / "fleet.sqlite"


# --------------------------------------------------------------------------- where an export lies

_DRIVE = re.compile(r"^([A-Za-z]):[\\/]")
_LOCATION_WORDS = (  # (folder names, casefolded) -> location key; first match wins, innermost folder first
    ({"wechat files", "xwechat_files", "msgattach"}, "wechat"),
    ({"tencent files", "filerecv"}, "qq"),
    ({"dingtalk", "钉钉"}, "dingtalk"),
    ({"desktop", "桌面"}, "desktop"),
    ({"downloads", "下载", "download"}, "downloads"),
    ({"documents", "my documents", "文档", "我的文档"}, "documents"),
    ({"temp", "tmp", "cache"}, "temp"),
)


def location_of(path: Any) -> str | None:
    """Where an export lay, as a key the fleet report can count: desktop, downloads, documents, wechat, qq,
    dingtalk, temp, removable (/media, /run/media, /mnt), other_drive (a Windows drive other than C:), other."""
    if not isinstance(path, str) or not path:
        return None
    parts = [p.casefold() for p in re.split(r"[\\/]+", path) if p]
    for part in reversed(parts[:-1]):
        for names, key in _LOCATION_WORDS:
            if part in names:
                return key
    if path.startswith(("/media/", "/run/media/", "/mnt/")):
        return "removable"
    drive = _DRIVE.match(path)
    if drive and drive.group(1).upper() != "C":
        return "other_drive"
    return "other"
