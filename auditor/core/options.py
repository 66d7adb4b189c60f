"""What a scan is asked to do: ``ScanOptions``. Every option is declared once, here, as a field whose metadata
holds its command-line spelling (``auditor.commands.options`` builds the parser arguments from it and maps the
parsed arguments back), so adding an option is one edit. Options are plain values (paths, dates, numbers) that
can be stored as JSON and given back on a command line: the scheduler keeps them so.

Value types of the command line (an existing file, a size like 50M…) are here too, shared by every command."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..adapters.registry import RegistryView
from ..messages import Text
from ..safeio import kind_of


# --------------------------------------------------------------------------- value types of the command line

def folder_state(path: Path) -> str:
    """``ok`` (a folder), ``missing`` (nothing there, or not reachable) or ``not_folder`` (a file, a device…)."""
    if path.is_dir():
        return "ok"
    return "not_folder" if os.path.lexists(path) else "missing"


def existing_dir(value: str) -> Path:
    path = Path(value)
    state = folder_state(path)
    if state != "ok":
        raise argparse.ArgumentTypeError(Text("arg.no_such_folder" if state == "missing" else "arg.not_folder",
                                                value=value))
    return path


def existing_dir_absolute(value: str) -> Path:
    """An existing folder, made absolute (an audited tree is addressed from its root)."""
    return Path(os.path.abspath(existing_dir(value)))


def existing_file(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        try:
            kind = kind_of(os.stat(path).st_mode)
        except (OSError, ValueError):
            raise argparse.ArgumentTypeError(Text("arg.no_such_file", value=value)) from None
        raise argparse.ArgumentTypeError(Text("arg.not_regular_file", value=value, kind=kind))
    return path


def size(value: str) -> int:
    units = {"": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}
    text = value.strip().lower()
    num = text.rstrip("kmgb")
    try:
        return int(float(num) * units[text[len(num):]])
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(Text("arg.not_size", value=value)) from None


def date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(Text("arg.not_date", value=value)) from None


def positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n <= 0:
        raise argparse.ArgumentTypeError(Text("arg.not_positive", value=value))
    return n


def mapping(value: str) -> tuple[str, str]:
    name, sep, column = value.partition("=")
    if not sep or not name.strip() or not column.strip():
        raise argparse.ArgumentTypeError(Text("arg.not_mapping", value=value))
    return name.strip(), column.strip()


# --------------------------------------------------------------------------- declarations

@dataclass(frozen=True)
class Cli:
    """How one option is spelled on the command line (argparse keywords; ``choices`` may name a list given by the
    command layer, e.g. "areas" or "roles")."""

    flags: tuple[str, ...]
    help: str
    group: str = ""  # the parser's argument group ("" = the command's own options)
    type: Callable[[str], Any] | None = None
    metavar: str | None = None
    action: str | None = None  # "append" | "store_true"
    choices: str | None = None


def opt(*flags: str, default: Any = None, factory: Callable[[], Any] | None = None, **cli: Any) -> Any:
    """A ScanOptions field with its command-line spelling."""
    meta = {"cli": Cli(flags, **cli)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ScanOptions:
    only: list[str] = opt("--only", factory=list, action="append", metavar="AREA", choices="areas",
                          help="area to run, may repeat; default: every area that needs no input")
    allowlist: Path | None = opt("--allowlist", type=existing_file, metavar="FILE", help="approved remote tools (TOML)")
    root: Path | None = opt("--root", type=existing_dir_absolute, metavar="DIR",
                            help="audit a mounted disk or copied system tree (file-based sources only)")
    registry_exports: list[Path] = opt("--registry-export", factory=list, action="append", type=existing_file,
                                       metavar="FILE.reg",
                                       help="read Windows registry facts from regedit exports (for --root audits)")
    role: str | None = opt("--role", choices="roles", help="what this PC does; waybill-printing raises severities")
    site: str | None = opt("--site", metavar="LABEL", help="site/warehouse label recorded in the report")
    # files area
    paths: list[Path] = opt("--path", factory=list, action="append", type=existing_dir, metavar="DIR", group="files area",
                            help="export folder, may repeat (default: the usual export folders)")
    full: bool = opt("--full", default=False, action="store_true", group="files area",
                     help="ignore the incremental state; re-read every file")
    max_file_size: int | None = opt("--max-file-size", type=size, metavar="SIZE", group="files area",
                                    help="skip larger files (default 2G)")
    jobs: int | None = opt("--jobs", type=positive, metavar="N", group="files area",
                           help="files read in parallel (default: every core; Windows: one for now)")
    # accounts area
    roster: Path | None = opt("--roster", type=existing_file, metavar="FILE", group="accounts area",
                              help="HR roster (CSV/XLSX)")
    subaccounts: list[Path] = opt("--subaccounts", factory=list, action="append", type=existing_file, metavar="FILE",
                                  group="accounts area", help="platform/WMS sub-account export, may repeat")
    logins: list[Path] = opt("--logins", factory=list, action="append", type=existing_file, metavar="FILE",
                             group="accounts area", help="login log export, may repeat")
    as_of: dt.date | None = opt("--as-of", type=date, metavar="DATE", group="accounts area",
                                help="audit as of this date (default: today)")
    stale_days: int = opt("--stale-days", default=90, type=positive, metavar="N", group="accounts area",
                          help="no login for more than N days is stale (default 90)")
    column_map: dict[str, str] = opt("--map", factory=dict, action="append", type=mapping, metavar="FIELD=COLUMN",
                                     group="accounts area", help="use COLUMN of the input files for FIELD, may repeat")
    account_map: Path | None = opt("--account-map", type=existing_file, metavar="FILE", group="accounts area",
                                   help="CSV/XLSX mapping accounts to employee ids")
    # export trail
    days: int = opt("--days", default=90, type=positive, metavar="N", group="export trail",
                    help="look back N days in browser download history (default 90)")
    homes: list[Path] = opt("--home", factory=list, action="append", type=existing_dir_absolute, metavar="DIR",
                            group="export trail", help="audit the browser data under this user folder instead, may repeat")
    # how this run goes (never on a command line)
    progress: bool = False  # a progress line on an interactive terminal
    today: dt.date | None = None  # the day the scan judges by (tests; default: the real today)
    registry: RegistryView | None = None  # a registry view given directly (tests)

    def to_json(self) -> dict[str, Any]:
        """The command-line options as JSON values (what the scheduler stores)."""
        out: dict[str, Any] = {}
        for f in cli_fields():
            value = getattr(self, f.name)
            out[f.name] = _json_value(value)
        return out

    def to_argv(self, names: list[str] | tuple[str, ...]) -> list[str]:
        """The command-line arguments that give the options ``names`` back, in that order (what a scheduler
        starts): values as stored, so give paths absolute."""
        by_name = {f.name: f for f in cli_fields()}
        out: list[str] = []
        for name in names:
            f = by_name[name]
            spec, value = cli_of(f), getattr(self, name)
            flag = spec.flags[0]
            if spec.action == "store_true":
                out += [flag] if value else []
            elif isinstance(value, dict):
                for k, v in value.items():
                    out += [flag, f"{k}={v}"]
            elif isinstance(value, list):
                for v in value:
                    out += [flag, str(_json_value(v))]
            elif value is not None and value != f.default:
                out += [flag, str(_json_value(value))]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ScanOptions":
        """Options stored with :meth:`to_json` (unknown names ignored: a later version may add options)."""
        kw: dict[str, Any] = {}
        for f in cli_fields():
            if f.name in data:
                kw[f.name] = _from_json(f, data[f.name])
        return cls(**kw)


def cli_fields() -> list[dataclasses.Field]:
    """The fields of ScanOptions that have a command-line spelling, in declaration order."""
    return [f for f in dataclasses.fields(ScanOptions) if "cli" in f.metadata]


def cli_of(f: dataclasses.Field) -> Cli:
    return f.metadata["cli"]


def _json_value(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def _from_json(f: dataclasses.Field, value: Any) -> Any:
    spec = cli_of(f)
    if value is None or spec.action == "store_true":
        return value
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    convert = Path if spec.type in (existing_file, existing_dir, existing_dir_absolute) else \
        dt.date.fromisoformat if spec.type is date else (lambda v: v)
    if isinstance(value, list):
        return [convert(v) for v in value]
    return convert(value)
