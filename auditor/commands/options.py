"""The command-line options several commands share, declared once: the scan options (built from the fields of
``auditor.core.options.ScanOptions`` and mapped back to it), ``--sign-key`` and ``--lang`` (the parser class every
command uses is ``commands.parser.Parser``)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable, Iterable

from ..core.checks import roles
from ..core.options import ScanOptions, cli_fields, cli_of, existing_file
from ..i18n import DEFAULT_LANG, LANGS
from ..scan.registry import names as area_names
from ..signing import SigningKey, read_signing_key


CHOICES: dict[str, Callable[[], list[str]]] = {"areas": area_names, "roles": lambda: list(roles())}


def _fields(only: Iterable[str] | None) -> list[dataclasses.Field]:
    wanted = set(only) if only is not None else None
    fields = [f for f in cli_fields() if wanted is None or f.name in wanted]
    if wanted is not None and wanted - {f.name for f in fields}:
        raise ValueError(f"no scan option named {sorted(wanted - {f.name for f in fields})}")
    return fields


def add_scan_options(parser: argparse.ArgumentParser, only: Iterable[str] | None = None) -> None:
    """The scan options (every one, or the fields named in ``only``), in their argument groups."""
    groups: dict[str, Any] = {}
    for f in _fields(only):
        spec = cli_of(f)
        target = parser if not spec.group else groups.setdefault(spec.group, parser.add_argument_group(spec.group))
        kw: dict[str, Any] = {"dest": f.name, "help": spec.help}
        if spec.action:
            kw["action"] = spec.action
        if spec.type is not None:
            kw["type"] = spec.type
        if spec.metavar:
            kw["metavar"] = spec.metavar
        if spec.choices:
            kw["choices"] = CHOICES[spec.choices]()
            if spec.metavar:  # the choices are not shown in place of the metavar: name them in the help
                kw["help"] = f"{spec.help} ({'|'.join(kw['choices'])})"
        if spec.action == "append":
            kw["default"] = []
        elif spec.action != "store_true":
            kw["default"] = f.default
        target.add_argument(*spec.flags, **kw)


def scan_options_from(args: argparse.Namespace, **extra: Any) -> ScanOptions:
    """The ScanOptions of parsed arguments (options a command does not offer keep their defaults)."""
    kw: dict[str, Any] = {}
    for f in cli_fields():
        if not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        if f.default_factory is dict:  # type: ignore[misc] - "--map FIELD=COLUMN" pairs
            value = dict(value)
        elif isinstance(value, list):
            value = list(value)
        kw[f.name] = value
    return ScanOptions(**{**kw, **extra})


def add_sign_key(parser: argparse.ArgumentParser,
                 help: str = "sign reports: an Ed25519 private key (auditor keygen) or an HMAC key file") -> None:
    parser.add_argument("--sign-key", type=existing_file, metavar="FILE", help=help)


def sign_key(args: argparse.Namespace) -> SigningKey | None:
    """The --sign-key file's key: an Ed25519 private key or an HMAC secret (the rule: auditor.signing)."""
    path = getattr(args, "sign_key", None)
    return read_signing_key(path) if path else None


ERRORS_LANG_HELP = "language of its error messages (default: zh)"


def add_lang(parser: argparse.ArgumentParser, help: str = "language of the output (default: zh)") -> None:
    """``--lang zh|en``: what it sets is in ``help``; a usage error of the command is always in this language."""
    parser.add_argument("--lang", choices=LANGS, default=DEFAULT_LANG, help=help)
