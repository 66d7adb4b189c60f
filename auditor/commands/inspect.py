"""`auditor inspect --output BUNDLE.zip [--answers FILE] [--path DIR]...`: an inspector's spot check.

A quick profile (remote-control check, exports in the usual hot folders or the --path folders, OS accounts and
any account files given), the organisational checklist of checks/inspector-checklist.toml (asked at the
terminal while the scan runs, or read from --answers; with neither, recorded as not answered), and a bundle:
report.json + report.html, answers.json, host.json, manifest.json (SHA-256 of each file, HMAC-signed with
--sign-key). `auditor verify BUNDLE.zip` checks it. Exit 1 when a finding of high severity or above exists."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .. import __version__, render
from ..core.context import ScanContext
from ..core.options import ScanOptions, existing_file
from ..core.severity import at_least
from ..errors import UsageError
from ..durable import write_bytes
from ..files.roots import hot_folders
from ..hostinfo import now_iso, tool_facts
from ..i18n import t
from ..inspector.bundle import json_bytes, make_bundle
from ..inspector.checklist import ask, load_checklist, read_answers_file, record
from ..scan import pipeline
from ..signing import HmacKey
from ..terminal import echo
from .options import add_lang, add_scan_options, add_sign_key, scan_options_from, sign_key

QUICK_AREAS = ["remote", "files", "accounts"]
INSPECT_OPTIONS = ("paths", "roster", "subaccounts", "logins", "role", "site")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="inspector's spot check: quick scan + checklist into a signed bundle")
    p.add_argument("--output", "-o", type=Path, required=True, metavar="BUNDLE.zip")
    p.add_argument("--answers", type=existing_file, metavar="FILE", help="checklist answers (TOML or JSON)")
    p.add_argument("--inspector", metavar="NAME", help="who inspects (recorded in the bundle)")
    add_sign_key(p)
    add_lang(p)
    add_scan_options(p, only=INSPECT_OPTIONS)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    lang = args.lang
    if out.suffix.lower() != ".zip":
        raise UsageError(t(lang, "inspect.not_zip", path=out))
    if not out.parent.resolve().is_dir():
        raise UsageError(t(lang, "inspect.no_folder", path=out, folder=out.parent))
    key = sign_key(args)
    checklist = load_checklist()
    questions, profile = checklist["questions"], checklist["profile"]
    answers: dict[str, Any] = {}
    inspector = args.inspector
    if args.answers:
        parsed = read_answers_file(args.answers, questions)
        answers, inspector = parsed["answers"], inspector or parsed["inspector"]
        source = f"answers file {Path(args.answers).name}"
    elif sys.stdin is not None and sys.stdin.isatty():
        source = "interactive"
    else:
        source = "not answered (no terminal and no answers file)"

    started = time.monotonic()
    paths = [Path(p) for p in args.paths] or hot_folders(ScanContext(hostname=socket.gethostname()), profile)
    areas = [a for a in QUICK_AREAS if a != "files" or paths]
    scan = _Scan(scan_options_from(args, only=areas, paths=paths, full=True,
                                   max_file_size=int(profile.get("max_file_size", 256 << 20))))
    scan.start()
    if source == "interactive":
        print(t(args.lang, "checklist.started"), flush=True)
        answers = ask(questions, args.lang)
    report = scan.result()
    elapsed = round(time.monotonic() - started, 1)
    scan_seconds = scan.seconds

    checks = record(questions, answers, source, inspector)
    budget = int(profile.get("time_budget_seconds", 120))
    report["inspection"] = {
        "kind": "spot-check", "inspector": inspector, "areas": scan.areas,
        "folders": [str(p) for p in paths] if "files" in scan.areas else [],
        "folders_note": None if "files" in scan.areas else "no hot folders on this PC and no --path given",
        "scan_seconds": scan_seconds, "time_budget_seconds": budget, "within_budget": scan_seconds <= budget,
        "checklist": {"source": checks["source"], "answered": checks["answered"], "questions": len(questions),
                      "counts": checks["counts"], "duties": checks["duties"]},
    }
    pipeline.finish(report, scanned=True)
    pipeline.seal(report, key)
    files = [("report.json", render.renderer_for(Path("report.json"))(report, args.lang)),
             ("report.html", render.renderer_for(Path("report.html"))(report, args.lang)),
             ("answers.json", json_bytes(checks)),
             ("host.json", json_bytes({"host": report["host"], "tool": tool_facts(), "started_at": report["started_at"],
                                       "finished_at": report["finished_at"], "scan_seconds": scan_seconds,
                                       "elapsed_seconds": elapsed, "scope": report["scope"],
                                       "inspection": report["inspection"]}))]
    meta = {"tool": {"name": tool_facts()["name"], "version": __version__}, "created_at": now_iso(),
            "host": report["host"].get("hostname"), "inspector": inspector,
            "report_digest": report["integrity"]["digest"]}
    data = make_bundle(files, meta, key)
    try:
        write_bytes(out, data)
    except OSError as exc:
        raise UsageError(t(lang, "inspect.cannot_write", path=out, why=exc.strerror or exc)) from None
    sev = report["summary"]["by_severity"]
    counts = t(lang, "sep.list").join(f"{t(lang, k)} {v}" for k, v in sev.items() if v)
    print(t(lang, "inspect.done", seconds=f"{scan_seconds:.0f}", total=report["summary"]["total"],
            counts=t(lang, "inspect.counts", counts=counts) if counts else "", answered=checks["answered"],
            questions=len(questions)))
    echo(t(lang, "inspect.written", path=out, size=len(data), signed=t(lang, "inspect.signed") if key else "",
           command=f"auditor verify {out}{_key_option(key)}"))
    return 1 if any(at_least(f["severity"], "high") for f in report["findings"]) else 0


def _key_option(key) -> str:
    """The option `auditor verify` checks this bundle's signature with."""
    if key is None:
        return ""
    return " --sign-key KEYFILE" if isinstance(key, HmacKey) else " --pubkey PUBLIC-KEY.pub"


class _Scan:
    """The quick profile in a background thread, so the inspector can answer the checklist meanwhile."""

    def __init__(self, opts: ScanOptions) -> None:
        self.areas = list(opts.only)
        self.opts = opts
        self.report: dict[str, Any] | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.thread = threading.Thread(target=self._run, name="quick-profile", daemon=True)

    def start(self) -> None:
        pipeline.lower_priority()
        self.thread.start()

    def _run(self) -> None:
        t0 = time.monotonic()
        try:
            self.report = pipeline.run(self.opts)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            self.error = exc
        self.seconds = round(time.monotonic() - t0, 1)

    def result(self) -> dict[str, Any]:
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report
