"""`auditor schedule install|status|remove|run-now`: scans on a timetable.

install   registers a Windows Task Scheduler task (schtasks), a systemd timer + service (system or --user), or a
          cron entry where systemd is absent; each run is `auditor schedule run-now` (see schedule.runner).
status    what is installed, when it runs next, the last run's result; exit 1 when nothing is installed.
remove    unregisters it and deletes the generated files (reports are kept).
run-now   one scheduled run now: dated JSON + HTML report, compared with the previous one, last N kept;
          exit 1 when findings of high severity or above are new since the previous report (on the first run,
          with no previous report, every finding is new).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ..core.options import ScanOptions, positive
from ..durable import write_bytes
from ..errors import UsageError
from ..messages import Text, localized, os_error
from ..paths import prepare, reports_dir, state_dir
from ..schedule import SCAN_OPTIONS, Job, When, parse_when
from ..schedule import backends as be
from ..schedule import texts
from ..schedule.folder import read_last_run, report_stems
from ..schedule.runner import run_scheduled
from ..terminal import echo
from .options import ERRORS_LANG_HELP, add_lang, add_scan_options, add_sign_key, scan_options_from, sign_key

DEFAULT_KEEP = 30


def default_output_dir(system: bool) -> Path:
    """The scheduled reports' folder: in the machine's protected data folder for the machine's schedule."""
    return reports_dir(system)


def _system_scope(args: argparse.Namespace) -> bool:
    if getattr(args, "user", False) and getattr(args, "system", False):
        raise UsageError("usage.schedule.user_and_system")
    if getattr(args, "user", False):
        return False
    if getattr(args, "system", False):
        return True
    return be.is_admin()


def _state_path(system: bool) -> Path:
    return state_dir() / f"schedule-{'system' if system else 'user'}.json"


def _load_state(system: bool) -> dict[str, Any] | None:
    try:
        state = json.loads(_state_path(system).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UsageError("usage.schedule.unreadable_record", state_path=_state_path(system), exc=exc) from None
    if not isinstance(state, dict) or state.get("backend") not in be.BACKENDS or not isinstance(state.get("when"), dict):
        raise UsageError("usage.schedule.old_record", state_path=_state_path(system))
    return state


def add_parser(sub: argparse._SubParsersAction) -> None:
    schedule = sub.add_parser("schedule", help="scan on a timetable: install, status, remove, run-now")
    sched = schedule.add_subparsers(dest="schedule_action", parser_class=type(schedule))

    def scope(p: argparse.ArgumentParser) -> None:
        p.add_argument("--user", action="store_true", help="this user's schedule (systemd --user, crontab, S4U task)")
        p.add_argument("--system", action="store_true", help="the machine-wide schedule (needs admin/root)")

    def scan_options(p: argparse.ArgumentParser) -> None:
        add_scan_options(p, only=SCAN_OPTIONS)
        add_sign_key(p)

    install = sched.add_parser("install", help="register the scheduled scan (Task Scheduler, systemd, cron)")
    when = install.add_mutually_exclusive_group()
    when.add_argument("--daily", metavar="HH:MM", help="every day at this time (default 12:30)")
    when.add_argument("--weekly", nargs=2, metavar=("DAY", "HH:MM"), help="every week on DAY (mon..sun) at HH:MM")
    install.add_argument("--output-dir", type=Path, metavar="DIR", help="where the dated reports go")
    install.add_argument("--keep", type=positive, default=DEFAULT_KEEP, metavar="N",
                         help=f"keep the last N reports (default {DEFAULT_KEEP})")
    install.add_argument("--backend", choices=["auto", "schtasks", "systemd", "cron"], default="auto")
    install.add_argument("--print", action="store_true", help="print the task XML / units / cron entry, install nothing")
    scope(install)
    scan_options(install)
    add_lang(install, "language of each run's result line and HTML report (default: zh)")
    for name, text in (("status", "what is installed, next and last run"),
                       ("remove", "unregister the scheduled scan (reports are kept)")):
        p = sched.add_parser(name, help=text)
        scope(p)
        add_lang(p, ERRORS_LANG_HELP)
    run_now = sched.add_parser("run-now", help="one scheduled run now (what the scheduler starts)")
    run_now.add_argument("--output-dir", type=Path, metavar="DIR")
    run_now.add_argument("--keep", type=positive, default=DEFAULT_KEEP, metavar="N")
    scan_options(run_now)
    add_lang(run_now, "language of the result line and the HTML report (default: zh)")
    schedule.set_defaults(run=run)


def _scan_options(args: argparse.Namespace) -> ScanOptions:
    """The scheduled scan's options, paths absolute (a scheduler runs in another folder)."""
    return scan_options_from(args, paths=[Path(p).resolve() for p in args.paths])


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "schedule_action", None)
    if action is None:
        raise UsageError("usage.schedule.choose_action")
    return {"install": _install, "status": _status, "remove": _remove, "run-now": _run_now}[action](args)


def _job(args: argparse.Namespace, system: bool) -> Job:
    when = parse_when(args.daily, args.weekly)
    out = Path(args.output_dir).resolve() if args.output_dir else default_output_dir(system)
    return Job(when, out, args.keep, _scan_options(args), Path(args.sign_key).resolve() if args.sign_key else None,
               args.lang)


def _install(args: argparse.Namespace) -> int:
    system = _system_scope(args)
    if system and not be.is_admin() and not args.print:
        raise UsageError("usage.schedule.needs_admin")
    job = _job(args, system)
    if args.print:
        return _print_texts(job, system, args.backend, args.lang)
    backend = be.choose(args.backend, system)
    try:
        prepare(job.output_dir)
    except OSError as exc:
        raise UsageError("usage.schedule.cannot_create_output_dir", output_dir=job.output_dir,
                         why=os_error(exc)) from None
    if _load_state(system):
        old = _load_state(system)
        if old and old.get("backend") != backend.name and old.get("backend") in be.BACKENDS:
            be.BACKENDS[old["backend"]](system).remove()
    result = backend.install(job)
    for line in result.lines:
        echo(localized(line, args.lang))  # may quote the scheduler's own output
    if not result.ok:
        return 2
    state = {"backend": backend.name, "scope": "system" if system else "user", "when": job.when.to_dict(),
             "output_dir": str(job.output_dir), "keep": job.keep, "options": job.options.to_json(),
             "sign_key": str(job.sign_key) if job.sign_key else None, "command": job.argv(), "files": result.files,
             "installed_at": be.now_iso()}
    try:
        prepare(_state_path(system).parent)
        write_bytes(_state_path(system), (json.dumps(state, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:  # registered, but not recorded: say so (status and remove read the record)
        raise UsageError("usage.schedule.cannot_record", state_path=_state_path(system), why=os_error(exc),
                         name=backend.name) from None
    echo(Text("schedule.installed", when=job.when.describe(), output_dir=job.output_dir, keep=job.keep,
              next_run=_next_run(job.when)).text(args.lang))
    return 0


def _print_texts(job: Job, system: bool, backend: str, lang: str) -> int:
    """What ``install`` would write on this host, decided as ``install`` decides (``backends.plan``): the text on
    stdout (ready to copy), which backend and why on stderr."""
    chosen, passed_over = be.plan(backend, system)
    why = Text("schedule.print.passed_over", reasons=passed_over) if passed_over else ""
    if chosen is not None:
        name = chosen.name
        echo(Text("schedule.print.would_use", name=name, where=_where(name, system), why=why).text(lang), err=True)
    else:
        name = be.fallback(backend)
        echo(Text("schedule.print.none_usable", name=name, where=_where(name, system), why=why).text(lang),
             err=True)
    if name == "schtasks":
        print(texts.task_xml(job, system), end="")
    elif name == "systemd":
        service, timer = be.Systemd(system).paths()
        print(f"# {service}\n{texts.systemd_service(job, system)}")
        print(f"# {timer}\n{texts.systemd_timer(job)}", end="")
    else:
        print(texts.cron_system_file(job) if system else texts.cron_block(job), end="")
    return 0


def _where(name: str, system: bool) -> Text:
    if name == "schtasks":
        return Text("schedule.where.task_system" if system else "schedule.where.task_user", task=be.TASK_NAME)
    if name == "systemd":
        return Text("schedule.where.units", folder=be.Systemd(system).unit_dir())
    cron = be.Cron(system)
    return Text("schedule.where.cron_file", file=cron.file) if cron.file else Text("schedule.where.user_crontab")


def _scope(system: bool) -> Text:
    return Text("schedule.scope.system" if system else "schedule.scope.user")


def _next_run(when: When) -> str:
    return when.next_after(dt.datetime.now()).strftime("%Y-%m-%d %H:%M")


def _scopes(args: argparse.Namespace) -> list[bool]:
    if getattr(args, "user", False) or getattr(args, "system", False):
        return [_system_scope(args)]
    return [s for s in (True, False) if _load_state(s)] or [be.is_admin()]


def _status(args: argparse.Namespace) -> int:
    found = False
    lang = args.lang
    for system in _scopes(args):
        state = _load_state(system)
        scope = _scope(system)
        if not state:
            echo(Text("schedule.status.none", scope=scope).text(lang))
            continue
        backend = be.BACKENDS[state["backend"]](system)
        res = backend.status()
        found = found or res.ok
        when = When.from_dict(state["when"])
        out = Path(state["output_dir"])
        echo(Text("schedule.status.head", scope=scope, backend=state["backend"], when=when.describe(),
                  output_dir=out, keep=state["keep"]).text(lang))
        echo("  " + Text("schedule.status.registered" if res.ok else "schedule.status.not_registered",
                         at=state["installed_at"]).text(lang))
        for k, v in res.facts.items():
            if v not in (None, "", []):
                echo(f"  {k}: {localized(v, lang)}")  # the scheduler's own words, under its own property names
        echo("  " + Text("schedule.status.next_run", at=_next_run(when)).text(lang))
        echo("  " + Text("schedule.status.reports_kept", count=len(report_stems(out))).text(lang))
        last = read_last_run(out)  # the output folder may be shared: its files are shown, never obeyed
        if last and {"at", "exit_code", "message"} <= set(last):
            echo("  " + Text("schedule.status.last_run", at=last["at"], code=last["exit_code"],
                             message=last["message"]).text(lang))
        else:
            echo("  " + Text("schedule.status.no_last_run").text(lang))
    return 0 if found else 1


def _remove(args: argparse.Namespace) -> int:
    removed = False
    for system in _scopes(args):
        state = _load_state(system)
        scope = _scope(system)
        names = [state["backend"]] if state else [n for n in (["schtasks"] if sys.platform == "win32"
                                                              else ["systemd", "cron"])]
        for name in names:
            backend = be.BACKENDS[name](system)
            ok, _ = backend.available()
            if not ok and not state:
                continue
            res = backend.remove()
            for line in res.lines:
                echo(localized(line, args.lang))
            removed = removed or res.ok
        try:
            _state_path(system).unlink()
            removed = True
        except FileNotFoundError:
            pass
        echo(Text("schedule.removed" if state else "schedule.not_installed", scope=scope).text(args.lang))
    return 0


def _run_now(args: argparse.Namespace) -> int:
    system = be.is_admin()
    out = Path(args.output_dir) if args.output_dir else default_output_dir(system)
    result = run_scheduled(out, args.keep, _scan_options(args), sign_key(args), lang=args.lang)
    echo(result.message.text(args.lang), err=result.code not in (0, 1))
    return result.code
