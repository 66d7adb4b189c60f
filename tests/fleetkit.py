"""Report sets for the fleet tests and the fleet benchmark.

A few *real* scans are run once (a copied waybill-printing PC tree with remote tools, unmasked exports and weak
accounts; a clean tree; the live host with renamed `sleep` copies named like ToDesk and frpc; browser download
history with back-office exports and the export files themselves). From them many PCs of many sites over
several weeks are made programmatically: host name, site, role and times are changed, some findings are left
out, the judgement is redone by auditor.compliance and the report is sealed again with auditor.integrity.seal.
Broken files are added on demand: altered after sealing, truncated, a future schema version, not JSON."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from conftest import Spawner, load_report, run_cli
from exportgen import export_rows, write_csv
from reportkit import three_area_tree, unmasked, write

CITIES = ["义乌", "余姚", "金华", "杭州", "宁波", "温州", "嘉兴", "绍兴", "台州", "湖州", "广州", "东莞", "深圳",
          "泉州", "厦门", "临沂", "石家庄", "郑州", "成都", "武汉"]
TZ = dt.timezone(dt.timedelta(hours=8))
TB_EXPORT = "https://trade.taobao.com/trade/itemlist/list_export_order.htm?event_submit_do_apply_export=1&t=SECRET1"
PDD_EXPORT = "https://mms.pinduoduo.com/orders/exportExcel?exportType=0&sid=SECRET2"


def _scan(out: Path, *args: str, env: dict | None = None) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    res = run_cli("scan", "-q", "--fail-on", "none", "-o", str(out), *args,
                  env={"AUDITOR_STATE_DIR": str(out.parent / "state"), **(env or {})})
    assert res.returncode == 0, res.stderr
    return load_report(out)


def _trail_home(base: Path) -> tuple[Path, list[str]]:
    """A user folder with Chrome download history: exports from Taobao and Pinduoduo, one still on the desktop
    unmasked, one gone, one in Downloads. Returns (home, raw personal data written into the export files)."""
    from trailkit import Dl, local_state, make_history

    home = base / "homes" / "dadan01"
    desk, dl = home / "Desktop", home / "Downloads"
    desk.mkdir(parents=True, exist_ok=True)
    dl.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    secrets: list[str] = []
    for path, layout, n in [(desk / "ExportOrderList202611.csv", "taobao", 40), (dl / "拼多多订单.csv", "pdd", 30)]:
        rows, _ = export_rows(rng, layout, n)
        write_csv(path, rows)
        secrets += unmasked("\n".join(",".join(map(str, r)) for r in rows[1:]))
    now = dt.datetime.now().astimezone().replace(microsecond=0)
    chrome = home / ".config" / "google-chrome"
    local_state(chrome, ["Default"])
    make_history(chrome / "Default" / "History", [
        Dl(str(desk / "ExportOrderList202611.csv"), now - dt.timedelta(days=2), tab_url=TB_EXPORT, mime="text/csv"),
        Dl(str(dl / "拼多多订单.csv"), now - dt.timedelta(days=3), tab_url=PDD_EXPORT, mime="text/csv"),
        Dl(str(dl / "已删除订单.xlsx"), now - dt.timedelta(days=4), tab_url=TB_EXPORT),
    ])
    return home, secrets


def real_templates(base: Path) -> dict:
    """Run the real scans once. Returns {"templates": {name: report}, "secrets": [raw values planted]}."""
    base.mkdir(parents=True, exist_ok=True)
    root = base / "dirty-root"
    planted = three_area_tree(root)["secrets"]
    dirty = _scan(base / "dirty" / "r.json", "--root", str(root), "--role", "waybill-printing")
    clean_root = base / "clean-root"
    write(clean_root, "etc/os-release", 'PRETTY_NAME="Kylin V10 SP1"\nVERSION_ID="V10"\n')
    write(clean_root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nkf01:x:1000:1000::/home/kf01:/bin/bash\n")
    write(clean_root, "etc/shadow", "root:!:19000:0:90:7:::\nkf01:$6$s$h:20000:0:90:7:::\n")
    (clean_root / "home/kf01/Desktop").mkdir(parents=True, exist_ok=True)
    clean = _scan(base / "clean" / "r.json", "--root", str(clean_root), "--role", "office")
    spawn = Spawner(base / "procs")
    try:
        procs = [spawn.start("ToDesk.exe"), spawn.start("frpc")]
        spawn.wait_visible()
        live = _scan(base / "live" / "r.json", "--only", "remote")
    finally:
        spawn.stop()
    # only the processes started here: what else runs on this host must not change the fleet (Variants judges
    # and seals each variant again)
    ours = {p.pid for p in procs}
    live["findings"] = [f for f in live["findings"] if f["evidence"].get("pid") in ours]
    home, trail_secrets = _trail_home(base)
    trail = _scan(base / "trail" / "r.json", "--only", "trail", "--only", "files", "--home", str(home),
                  "--path", str(home / "Desktop"), "--path", str(home / "Downloads"), "--days", "30")
    for name, rep in {"dirty": dirty, "live": live, "trail": trail}.items():
        assert rep["findings"], f"the {name} scan found nothing"
    assert any(f["check_id"] == "RC-001" for f in live["findings"])
    assert any(f["check_id"].startswith("TR-") for f in trail["findings"])
    return {"templates": {"dirty": dirty, "clean": clean, "live": live, "trail": trail},
            "secrets": sorted(set(planted + trail_secrets))}


# --------------------------------------------------------------------------- variants

@dataclass
class FleetSpec:
    sites: int = 6
    pcs_per_site: tuple[int, int] = (2, 4)
    weeks: int = 4
    scans_per_week: int = 1
    end: dt.date = field(default_factory=dt.date.today)
    silent_every: int = 5  # every n-th PC stops reporting after its first weeks
    bad_sites: tuple[int, ...] = (0,)  # these sites get the dirtiest PCs
    seed: int = 1


@dataclass
class Fleet:
    files: list[Path]
    pcs: dict[str, dict]  # hostname -> {"site", "last": date, "silent": bool, "template"}
    worst_sites: list[str]


def site_name(i: int) -> str:
    return f"{CITIES[i % len(CITIES)]}{i // len(CITIES) + 1}号仓"


def _recount(report: dict) -> None:
    by_sev = {s: 0 for s in ("critical", "high", "medium", "low", "info")}
    by_area: dict[str, int] = {}
    for f in report["findings"]:
        by_sev[f["severity"]] += 1
        by_area[f["area"]] = by_area.get(f["area"], 0) + 1
    report["summary"] = {"total": len(report["findings"]), "by_severity": by_sev, "by_area": by_area}


class Variants:
    """Judged variants of the templates (a subset of the findings kept), cached: only host and times differ
    between the reports made from one variant."""

    def __init__(self, templates: dict[str, dict]) -> None:
        from auditor.compliance import finish_report

        self.finish = finish_report
        self.templates = templates
        self.cache: dict[tuple[str, int], dict] = {}

    def get(self, name: str, keep_mask: int) -> dict:
        key = (name, keep_mask)
        if key not in self.cache:
            rep = copy.deepcopy(self.templates[name])
            for k in ("integrity", "changes", "rendered_from"):
                rep.pop(k, None)
            fs = rep["findings"]
            rep["findings"] = [f for i, f in enumerate(fs) if keep_mask >> (i % 16) & 1] if keep_mask else fs
            _recount(rep)
            self.finish(rep)
            self.cache[key] = rep
        return self.cache[key]


def make_report(base: dict, hostname: str, site: str, role: str, finished: dt.datetime, key: bytes | None) -> dict:
    from auditor.integrity import seal

    rep = dict(base)
    rep["host"] = {**base["host"], "hostname": hostname, "site": site, "role": role,
                   "machine_id": hashlib.md5(f"{site}/{hostname}".encode()).hexdigest()}  # as /etc/machine-id
    rep["started_at"] = (finished - dt.timedelta(seconds=42)).isoformat(timespec="seconds")
    rep["finished_at"] = finished.isoformat(timespec="seconds")
    return seal(rep, key)


def write_report(path: Path, report: dict) -> Path:
    from auditor.render.json_report import render

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render(report))
    return path


def make_fleet(templates: dict[str, dict], out: Path, spec: FleetSpec, key: bytes | None = None,
               limit: int | None = None) -> Fleet:
    """Scheduled-scan output of a fleet: out/<site>/<host>/<host>-<date>-<k>.json, one or more per week, written
    week by week (oldest first) up to ``limit`` reports."""
    rng = random.Random(spec.seed)
    variants = Variants(templates)
    machines = []
    n = 0
    for s in range(spec.sites):
        site = site_name(s)
        for p in range(rng.randint(*spec.pcs_per_site)):
            n += 1
            host = f"WH{s:03d}-PC{p:02d}"
            if s in spec.bad_sites:
                tmpl = "dirty" if p % 2 == 0 else "live"
            else:
                tmpl = rng.choice(["clean", "clean", "clean", "trail", "live", "dirty"])
            role = "waybill-printing" if tmpl == "dirty" else rng.choice(["office", "warehouse", "waybill-printing"])
            silent = bool(spec.silent_every) and n % spec.silent_every == 0 and s not in spec.bad_sites
            machines.append({"n": n, "s": s, "site": site, "host": host, "template": tmpl, "role": role,
                             "silent": silent, "last": None})
    files: list[Path] = []
    for w in range(spec.weeks):
        for m in machines:
            if m["silent"] and w >= max(1, spec.weeks - 2):  # stopped two weeks before the end
                continue
            for k in range(spec.scans_per_week):
                if limit is not None and len(files) >= limit:
                    break
                n = m["n"]
                day = spec.end - dt.timedelta(days=7 * (spec.weeks - 1 - w) + 6 - min(6, k * 2 + (n % 3)))
                finished = dt.datetime.combine(day, dt.time(12, 30 + (n % 20), k)).replace(tzinfo=TZ)
                mask = 0 if m["s"] in spec.bad_sites else rng.choice([0, 0, 0xFFFF, 0x5555, 0x3333, 0x0F0F])
                rep = make_report(variants.get(m["template"], mask), m["host"], m["site"], m["role"], finished, key)
                path = out / m["site"] / m["host"] / f"{m['host']}-{day.isoformat()}-{k}.json"
                files.append(write_report(path, rep))
                m["last"] = day
    pcs = {m["host"]: {"site": m["site"], "last": m["last"], "silent": m["silent"], "template": m["template"],
                       "role": m["role"]} for m in machines}
    return Fleet(files, pcs, [site_name(s) for s in spec.bad_sites])


# --------------------------------------------------------------------------- broken files

def altered(src: Path, dest: Path) -> Path:
    """A sealed report changed afterwards (a finding's severity lowered) without resealing."""
    rep = json.loads(src.read_text(encoding="utf-8"))
    if rep["findings"]:
        rep["findings"][0]["severity"] = "info"
    else:
        rep["host"]["site"] = "改过的站点"
    return write_report(dest, rep)


def truncated(src: Path, dest: Path) -> Path:
    """The first half of a report, cut between two characters (a copy stopped half way)."""
    data = src.read_bytes()
    cut = len(data) // 2
    while cut and (data[cut] & 0xC0) == 0x80:  # not inside a multi-byte UTF-8 character
        cut -= 1
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data[:cut])
    return dest


def future_schema(src: Path, dest: Path) -> Path:
    from auditor.integrity import seal

    rep = json.loads(src.read_text(encoding="utf-8"))
    rep["schema_version"] = "2.0"
    return write_report(dest, seal(rep))


# --------------------------------------------------------------------------- shared by the test modules

_REAL: dict = {}


def templates_once(tmp_path_factory) -> dict:
    """The real scans, run once per test session (every fleet test module shares them)."""
    if not _REAL:
        _REAL.update(real_templates(tmp_path_factory.mktemp("fleet-real")))
    return _REAL


def ingest_cli(*paths: Path, db: Path, extra: tuple[str, ...] = (), env: dict | None = None):
    return run_cli("fleet", "ingest", *map(str, paths), "--db", str(db), "--lang", "en", *extra, env=env)


def store_dump(db: Path, skip_columns: tuple[str, ...] = ()) -> list[str]:
    """Every row of every table of the store, as text (to compare two stores or one store twice)."""
    import sqlite3

    con = sqlite3.connect(db)
    out = []
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})") if r[1] not in skip_columns]
        for row in con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(cols)}"):
            out.append(f"{table}|{json.dumps(row, ensure_ascii=False)}")
    con.close()
    return out
