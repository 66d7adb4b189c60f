"""File-based Windows sources: Program Files folders, Startup folders, Task Scheduler task files.

They read files, so they work both live and on an offline copy of a Windows disk (`--root`)."""

from __future__ import annotations

import errno
import io
import xml.etree.ElementTree as ET
from pathlib import Path

from .. import runcmd, safeio
from ..adapters import winhost
from ..adapters.schtasks import parse_schtasks_csv
from ..core.context import ScanContext
from .facts import AutostartFact, RemoteFacts, InstalledFact

AREA = "remote"
PROGRAM_DIRS = (r"C:\Program Files", r"C:\Program Files (x86)", r"C:\ProgramData")
COMMON_STARTUP = r"C:\ProgramData\Microsoft\Windows\Start Menu\Programs\StartUp"
USER_STARTUP = r"AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup"
TASKS_DIR = r"C:\Windows\System32\Tasks"
TASK_NS = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"
MAX_TASK_BYTES = 1 << 20
MAX_LNK_BYTES = 1 << 20


def _program_folders(ctx: ScanContext, facts: RemoteFacts, cov) -> None:
    tree = ctx.tree
    for base in PROGRAM_DIRS:
        folder = ctx.win_path(base)
        if folder is None or not tree.is_dir(folder):
            continue
        try:
            tree.listdir(folder)
        except OSError as exc:
            cov.skip(str(folder), safeio.reason_of(exc))
            continue
        for child in tree.folders(folder):
            facts.installed.append(InstalledFact(child.name, "folder", location=str(child)))
            cov.examined += 1
            # vendor folders such as Oray\SunLogin: one level deeper
            for grand in tree.folders(child):
                facts.installed.append(InstalledFact(grand.name, "folder", location=str(grand)))


def lnk_command(path: Path, tree: safeio.Tree = safeio.LIVE) -> str:
    """Target and arguments of a shortcut, or '' when it cannot be parsed (or is not a regular file)."""
    try:
        import LnkParse3  # deferred: read only for shortcuts found on a Windows tree

        data = tree.read_bytes(path, max_size=MAX_LNK_BYTES)
        info = LnkParse3.lnk_file(io.BytesIO(data)).get_json()
    except Exception:  # noqa: BLE001 - a broken shortcut is just a shortcut we cannot read
        return ""
    link = info.get("link_info", {}) or {}
    data = info.get("data", {}) or {}
    target = link.get("local_base_path") or link.get("local_base_path_unicode") or data.get("relative_path") or ""
    args = data.get("command_line_arguments") or ""
    return f"{target} {args}".strip()


def _startup_folders(ctx: ScanContext, facts: RemoteFacts, cov) -> None:
    folders: list[tuple[Path | None, str | None]] = [(ctx.win_path(COMMON_STARTUP), None)]
    for home in ctx.home_dirs():
        folders.append((home / Path(*USER_STARTUP.split("\\")), home.name))
    tree = ctx.tree
    for folder, user in folders:
        if folder is None or not tree.is_dir(folder):
            continue
        try:
            entries = [e.path for e in tree.files(folder)]
        except OSError as exc:
            cov.skip(str(folder), safeio.reason_of(exc))
            continue
        for entry in entries:
            if entry.name.lower() == "desktop.ini":
                continue
            cov.examined += 1
            command = lnk_command(entry, tree) if entry.suffix.lower() == ".lnk" else str(entry)
            facts.autostart.append(AutostartFact("startup_folder", entry.stem, command or entry.name,
                                                 str(entry), user))


class _NoDoctype(ET.TreeBuilder):
    """Task files have no DTD; one in a planted file could only expand entities (billion laughs)."""

    def doctype(self, name, pubid, system):  # noqa: ARG002 - the TreeBuilder hook's signature
        raise ET.ParseError("a DTD in a task file")


def parse_task_xml(data: bytes) -> tuple[list[str], bool]:
    """Commands run by a task (Exec actions) and whether the task is enabled. ``ET.ParseError`` for anything
    else: bad XML, a DTD, an encoding the XML parser cannot read."""
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(data)
        root = parser.close()
    except (LookupError, ValueError) as exc:  # an unknown or multi-byte encoding named in the declaration
        raise ET.ParseError(f"unreadable encoding ({type(exc).__name__})") from None
    ns = TASK_NS if root.tag.startswith(TASK_NS) else ""
    commands = []
    for exec_ in root.iter(f"{ns}Exec"):
        cmd = (exec_.findtext(f"{ns}Command") or "").strip()
        args = (exec_.findtext(f"{ns}Arguments") or "").strip()
        if cmd:
            commands.append(f"{cmd} {args}".strip())
    enabled_text = root.findtext(f"{ns}Settings/{ns}Enabled")
    enabled = (enabled_text or "true").strip().lower() != "false"
    return commands, enabled


def _schtasks(ctx: ScanContext, facts: RemoteFacts, cov, why: str) -> None:
    """Without rights on the Tasks folder: ask schtasks.exe (it lists what this user may see)."""
    res = runcmd.run(["schtasks", "/query", "/fo", "csv", "/v"], timeout=60)
    if res.returncode != 0:
        cov.status, cov.note = "failed", f"{why}; schtasks: {res.error or f'exit code {res.returncode}'}"
        return
    tasks = parse_schtasks_csv(res.text)
    if not tasks:
        cov.status, cov.note = "no_data", f"{why}; schtasks gave no data"
        return
    cov.note = f"{why}; read through schtasks"
    for task in tasks:
        cov.examined += 1
        if task["enabled"] == "yes":
            facts.autostart.append(AutostartFact("scheduled_task", task["name"], task["command"], "schtasks",
                                                 task.get("run_as") or None))


def _tasks(ctx: ScanContext, facts: RemoteFacts, cov) -> None:
    tree = ctx.tree
    folder = ctx.win_path(TASKS_DIR)
    readable, why = False, "Task Scheduler folder not found"
    if folder is not None and tree.is_dir(folder):
        try:
            tree.listdir(folder)
            readable = True
        except OSError as exc:
            why = f"Tasks folder unreadable ({safeio.reason_of(exc)})"
    if not readable:
        if ctx.live:
            _schtasks(ctx, facts, cov, why)
        else:
            cov.note = why
        return
    stack = [(folder, 0)]
    while stack:
        cur, depth = stack.pop()
        try:
            children = tree.listdir(cur)
        except OSError as exc:
            cov.skip(str(cur), safeio.reason_of(exc))
            continue
        for entry in children:
            child = entry.path
            if entry.kind == "dir":
                if depth < 32:
                    stack.append((child, depth + 1))
                continue
            try:
                data = tree.read_bytes(child, max_size=MAX_TASK_BYTES)
            except safeio.Refused as exc:
                cov.skip(str(child), "too large for a task file" if exc.errno == errno.EFBIG else exc.reason)
                continue
            except OSError as exc:
                cov.skip(str(child), safeio.reason_of(exc))
                continue
            try:
                commands, enabled = parse_task_xml(data)
            except ET.ParseError:
                cov.skip(str(child), "not a valid task XML file")
                continue
            cov.examined += 1
            if not enabled:
                continue
            name = "\\" + str(child.relative_to(folder)).replace("/", "\\")
            for command in commands:
                facts.autostart.append(AutostartFact("scheduled_task", name, command, str(child)))
    if cov.examined == 0 and not cov.skipped:
        # A real Windows always has tasks here; an empty folder is not proof of "no tasks": ask schtasks. Wine's
        # Task Scheduler keeps its tasks in this very folder (and its schtasks /query lists none): nothing to ask.
        if ctx.live and not winhost.is_wine():
            _schtasks(ctx, facts, cov, "Task Scheduler folder is empty")
        else:
            cov.status, cov.note = "no_data", "Task Scheduler folder is empty" + (
                " (Wine keeps its tasks in this folder: schtasks not asked)" if ctx.live else "")


def collect(ctx: ScanContext, facts: RemoteFacts) -> None:
    for source, step in (("installed:program-folders", _program_folders),
                         ("autostart:startup-folders", _startup_folders),
                         ("autostart:scheduled-tasks", _tasks)):
        cov = ctx.coverage.source(AREA, source)
        try:
            step(ctx, facts, cov)
        except Exception as exc:  # noqa: BLE001 - one failing source never stops a scan
            cov.status, cov.note = "failed", f"{type(exc).__name__}: {exc}"
