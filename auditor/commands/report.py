"""`auditor report REPORT.json -o FILE...`: render a JSON report again, in any format, in Chinese or English.

The input must be an intact auditor JSON report (its digest, and its signature when --sign-key is given, are
checked: an altered report is never re-rendered and re-sealed), read within the bounds and against the schema of
auditor.report_input (as is --baseline): a crafted report is refused with exit 2 and one line saying why. The
duties, score and clauses are judged again with the current packs, so a report written by an older version
renders fully; a .json output is re-sealed and records the digest of the report it was rendered from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import render
from ..compliance import finish_report
from ..errors import UsageError
from ..i18n import t
from ..integrity import check, seal, signature_kind
from ..terminal import echo
from ..report_input import load


def load_json_report(path: Path) -> dict[str, Any]:
    return load(path, str(path))


def main(args: argparse.Namespace) -> int:
    from ..cli import _read_key

    for out in args.output:
        render.renderer_for(out)  # unknown formats fail before anything is read
    key = _read_key(args.sign_key) if getattr(args, "sign_key", None) else None
    report = load_json_report(args.report)
    integ = report.get("integrity") if isinstance(report.get("integrity"), dict) else {}
    signed = signature_kind(integ) is not None
    problems = check(report, key if signed else None)
    if problems:
        raise UsageError(f"{args.report}: {'; '.join(problems)}; refusing to render it "
                         f"(check it with: auditor verify {args.report})")
    source = {"digest": integ["digest"], "signed": signed}
    baseline = load(args.baseline, f"--baseline {args.baseline}") if args.baseline else None
    finish_report(report, baseline=baseline)
    report["rendered_from"] = source
    seal(report, key)
    for out in args.output:
        try:
            render.write(report, out, args.lang)
        except OSError as exc:
            raise UsageError(f"--output {out}: cannot write ({exc.strerror or exc})") from None
        echo(f"{t(args.lang, 'written')}: {out}")
    return 0
