"""`schtasks /query /fo csv /v` output (English and Chinese Windows), the fallback source of scheduled
tasks when the Tasks folder cannot be read (a scan without administrator rights).

Real schtasks output does not double the quotes inside fields (`""C:\\x.exe" --tray"`), and it repeats the
header line for every task folder, so it is split on the `","` separators rather than read as RFC 4180."""

from __future__ import annotations

FIELDS = {
    "name": ("TaskName", "任务名"),
    "command": ("Task To Run", "要运行的任务"),
    "state": ("Scheduled Task State", "计划任务状态"),
    "run_as": ("Run As User", "作为用户运行"),
    "author": ("Author", "创建者"),
}
DISABLED = {"disabled", "已禁用"}


def _split(line: str) -> list[str]:
    line = line.strip()
    if line.startswith('"'):
        line = line[1:]
    if line.endswith('"'):
        line = line[:-1]
    return line.split('","')


def parse_schtasks_csv(text: str) -> list[dict[str, str]]:
    """Tasks with name, command, state, run_as, author; one entry per (task, action), duplicates removed."""
    header: dict[str, int] | None = None
    out: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        cells = _split(line)
        if cells and cells[0] in ("HostName", "主机名"):
            header = {}
            for key, names in FIELDS.items():
                for i, cell in enumerate(cells):
                    if cell in names:
                        header[key] = i
            continue
        if not header or "name" not in header or "command" not in header:
            continue
        row = {key: cells[i].strip() if i < len(cells) else "" for key, i in header.items()}
        ident = (row["name"], row["command"])
        if ident in seen or not row["command"] or row["command"] in ("N/A", "COM 处理程序", "COM handler"):
            continue
        seen.add(ident)
        row["enabled"] = "no" if row.get("state", "").casefold() in DISABLED else "yes"
        out.append(row)
    return out
