"""`auditor remediate` as root against the people whose files it masks (see hostilekit.py).

- the races: at each crash-test checkpoint of masking and restoring, the user swaps the parent folder for a
  link to a root-only folder (or the file for a link to a root-only file) and lets the agent go on: nothing is
  written there and the original survives;
- formula cells holding mobiles and ID numbers (openpyxl and xlsxwriter workbooks, several formula shapes):
  masked, formula gone, no raw number left in any part of the file; or the file is refused with the reason;
- damaged journals and items: reported, set aside, never blocking the other items;
- the quarantine itself as a mask target; FIFOs where a file or a record should be.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from clirun import child_env
from exportgen import export_rows, person, write_csv
from hostilekit import assert_no_leak, auditor, give_to_user, needs_root, state_env

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX users, links and FIFOs; Windows is covered under Wine")

MASK_STEPS = ["mask:begun", "mask:copying", "mask:original-copied", "mask:ready", "mask:temp-written",
              "mask:replaced"]
RESTORE_STEPS = ["restore:begun", "restore:temp-written", "restore:replaced", "restore:cleanup"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _qdir(env: dict) -> Path:
    return Path(env["AUDITOR_QUARANTINE_DIR"])


def _items(env: dict) -> list[Path]:
    d = _qdir(env) / "items"
    return sorted(d.iterdir()) if d.is_dir() else []


def _originals(env: dict) -> list[bytes]:
    return [f.read_bytes() for f in _qdir(env).rglob("original.*") if f.is_file()]


def _qid(out: str) -> str:
    return re.search(r"quarantined as ([0-9a-f]{8})", out).group(1)


@pytest.fixture
def env(tmp_path_factory):
    return state_env(tmp_path_factory.mktemp("agent"))  # outside every folder a test scans or swaps


def _user_export(tmp_path: Path, rows: int = 40, name: str = "订单导出.csv") -> tuple[Path, bytes]:
    """An export on an ordinary user's Desktop (the user owns home, Desktop and the file)."""
    home = tmp_path / "home-u"
    desk = home / "Desktop"
    desk.mkdir(parents=True, exist_ok=True)
    path = write_csv(desk / name, export_rows(random.Random(rows), "erp", rows)[0], encoding="gb18030")
    give_to_user(home, desk, path)
    return path, path.read_bytes()


def _vault(tmp_path: Path) -> Path:
    """A root-only folder holding a root-only file: what the user wants the agent to write into."""
    vault = tmp_path / "root-only"
    vault.mkdir(mode=0o700)
    os.chmod(vault, 0o700)
    (vault / "secret.conf").write_bytes(b"root's own file\n")
    os.chmod(vault / "secret.conf", 0o600)
    return vault


def _assert_vault_untouched(vault: Path) -> None:
    assert sorted(p.name for p in vault.iterdir()) == ["secret.conf"], "the agent wrote into the root-only folder"
    st = (vault / "secret.conf").stat()
    assert (vault / "secret.conf").read_bytes() == b"root's own file\n" and st.st_uid == 0 and st.st_mode & 0o777 == 0o600
    vst = vault.stat()
    assert vst.st_uid == 0 and vst.st_mode & 0o777 == 0o700


def _swap_folder_for_link(folder: Path, vault: Path) -> Path:
    moved = folder.with_name(folder.name + ".moved")
    os.rename(folder, moved)
    folder.symlink_to(vault)
    give_to_user(folder)
    return moved


class Paused:
    """The real CLI stopped at a checkpoint; the test acts, then lets it go on."""

    def __init__(self, args: list[str], env: dict, step: str, tmp: Path) -> None:
        self.pause = tmp / f"pause-{step.replace(':', '-')}-{time.time_ns()}"
        self.proc = subprocess.Popen([sys.executable, "-m", "auditor", "remediate", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env=child_env({**env, "AUDITOR_TEST_PAUSE_AT": step,
                                          "AUDITOR_TEST_PAUSE_FILE": str(self.pause)}))
        deadline = time.monotonic() + 60
        while not self.pause.exists():
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError(f"finished before {step}: {out} {err}")
            assert time.monotonic() < deadline, f"hung: never reached {step}"
            time.sleep(0.01)

    def resume(self) -> tuple[int, str]:
        self.pause.unlink()
        try:
            out, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail("hung: the command did not finish after it was let go on")
        return self.proc.returncode, out + err


def _big_user_export(tmp_path: Path) -> tuple[Path, bytes]:
    path, data = _user_export(tmp_path, rows=9000)
    assert len(data) > 1 << 20  # more than one copy chunk: "mask:copying" is mid-copy
    return path, data


# --------------------------------------------------------------------------- the races, for real

@pytest.mark.slow
@needs_root
@pytest.mark.parametrize("step", MASK_STEPS)
def test_mask_folder_swapped_for_link_at_each_step(tmp_path, env, step):
    path, original = _big_user_export(tmp_path)
    vault = _vault(tmp_path)
    run = Paused(["mask", "--lang", "en", str(path), "--apply"], env, step, tmp_path)
    moved = _swap_folder_for_link(path.parent, vault)
    code, out = run.resume()
    _assert_vault_untouched(vault)
    real = moved / path.name
    if step == "mask:replaced":  # the rename was already done in the real folder
        assert code == 0, out
        assert real.read_bytes() != original and _originals(env) == [original]
    else:
        assert code == 1 and "replaced" in out, out
        assert real.read_bytes() == original and _items(env) == []
    assert [p.name for p in moved.iterdir()] == [path.name]  # no temporary file left behind
    res = auditor("remediate", "list", "--lang", "en", env=env)
    assert res.code == 0 and not list((_qdir(env) / "journal").iterdir()), res.output


@pytest.mark.slow
@needs_root
@pytest.mark.parametrize("step", RESTORE_STEPS)
def test_restore_folder_swapped_for_link_at_each_step(tmp_path, env, step):
    path, original = _user_export(tmp_path)
    res = auditor("remediate", "mask", "--lang", "en", str(path), "--apply", env=env)
    assert res.code == 0, res.output
    qid = _qid(res.stdout)
    masked = path.read_bytes()
    vault = _vault(tmp_path)
    run = Paused(["restore", "--lang", "en", qid, "--apply"], env, step, tmp_path)
    moved = _swap_folder_for_link(path.parent, vault)
    code, out = run.resume()
    _assert_vault_untouched(vault)
    real = moved / path.name
    if step in ("restore:replaced", "restore:cleanup"):
        assert code == 0, out
        assert real.read_bytes() == original and _items(env) == []
        assert real.stat().st_uid == 1000  # the owner came back with the file
    else:
        assert code == 1 and "replaced" in out and f"{qid} stays in the quarantine" in out, out
        assert real.read_bytes() == masked and _originals(env) == [original]
        # the user puts the folder back: now the restore goes through
        path.parent.unlink()
        os.rename(moved, path.parent)
        res = auditor("remediate", "restore", "--lang", "en", qid, "--apply", env=env)
        assert res.code == 0 and path.read_bytes() == original, res.output
    assert not list((_qdir(env) / "journal").iterdir())


@needs_root
@pytest.mark.parametrize("args, step", [(["mask"], "mask:temp-written"), (["restore"], "restore:temp-written")])
def test_file_swapped_for_link_to_root_file_before_the_rename(tmp_path, env, args, step):
    path, original = _user_export(tmp_path)
    if args == ["restore"]:
        res = auditor("remediate", "mask", "--lang", "en", str(path), "--apply", env=env)
        assert res.code == 0, res.output
        args = ["restore", _qid(res.stdout), "--apply"]
    else:
        args = ["mask", str(path), "--apply"]
    vault = _vault(tmp_path)
    run = Paused(args, env, step, tmp_path)
    before = path.read_bytes()
    aside = path.with_name("mine.csv")
    os.rename(path, aside)
    path.symlink_to(vault / "secret.conf")
    give_to_user(path, aside)
    code, out = run.resume()
    assert code == 1, out
    _assert_vault_untouched(vault)
    assert path.is_symlink() and aside.read_bytes() == before
    assert original in _originals(env) or before == original  # the original: in place or in the quarantine
    assert auditor("remediate", "list", "--lang", "en", env=env).code == 0


@needs_root
def test_folder_reached_through_users_link_is_refused_before_anything(tmp_path, env):
    path, original = _user_export(tmp_path)
    vault = _vault(tmp_path)
    shutil.copy(path, vault / path.name)
    moved = _swap_folder_for_link(path.parent, vault)
    for args in (["mask", "--lang", "en", str(path)], ["mask", "--lang", "en", str(path), "--apply"]):
        res = auditor("remediate", *args, env=env)
        assert res.code == 1 and "symbolic link owned by uid 1000" in res.stdout, res.output
    assert (vault / path.name).read_bytes() == original and _items(env) == []
    assert (moved / path.name).read_bytes() == original


@needs_root
def test_restore_refuses_a_replaced_or_linked_folder(tmp_path, env):
    path, original = _user_export(tmp_path)
    res = auditor("remediate", "mask", "--lang", "en", str(path), "--apply", env=env)
    qid = _qid(res.stdout)
    masked = path.read_bytes()
    vault = _vault(tmp_path)
    moved = _swap_folder_for_link(path.parent, vault)
    res = auditor("remediate", "restore", "--lang", "en", qid, "--apply", env=env)
    assert res.code == 1 and "symbolic link owned by uid 1000" in res.output and "nothing changed" in res.output
    _assert_vault_untouched(vault)
    # a new folder of the same name (another inode) is not the folder the file was masked in
    path.parent.unlink()
    path.parent.mkdir()
    give_to_user(path.parent)
    res = auditor("remediate", "restore", "--lang", "en", qid, "--apply", env=env)
    assert res.code == 1 and "not the one the file was masked in" in res.output, res.output
    assert list(path.parent.iterdir()) == [] and (moved / path.name).read_bytes() == masked
    # the real folder back in place: restored, owner and all
    path.parent.rmdir()
    os.rename(moved, path.parent)
    res = auditor("remediate", "restore", "--lang", "en", qid, "--apply", env=env)
    assert res.code == 0 and path.read_bytes() == original and path.stat().st_uid == 1000, res.output


def test_restore_recreates_a_deleted_folder(tmp_path, env):
    path, original = _user_export(tmp_path)
    qid = _qid(auditor("remediate", "mask", "--lang", "en", str(path), "--apply", env=env).stdout)
    shutil.rmtree(path.parent)
    res = auditor("remediate", "restore", "--lang", "en", qid, "--apply", env=env)
    assert res.code == 0 and path.read_bytes() == original, res.output


# --------------------------------------------------------------------------- FIFOs where files should be

def test_fifo_as_target_or_in_place_of_the_masked_file_never_hangs(tmp_path, env):
    fifo = tmp_path / "导出.csv"
    os.mkfifo(fifo)
    for args in (["mask", str(fifo)], ["mask", str(fifo), "--apply"]):
        res = auditor("remediate", *args, env=env, timeout=20, child=True)  # a FIFO: only a kill would end a hang
        assert res.code == 1 and "FIFO" in res.stdout, res.output
    path, original = _user_export(tmp_path)
    qid = _qid(auditor("remediate", "mask", "--lang", "en", str(path), "--apply", env=env).stdout)
    path.unlink()
    os.mkfifo(path)
    for args in (["restore", qid], ["restore", qid, "--apply"]):
        res = auditor("remediate", *args, env=env, timeout=20, child=True)  # a FIFO: only a kill would end a hang
        assert res.code == 1 and "FIFO" in res.output, res.output
    assert _originals(env) == [original]
    path.unlink()
    assert auditor("remediate", "restore", "--lang", "en", qid, "--apply", env=env).code == 0 and path.read_bytes() == original


# --------------------------------------------------------------------------- the quarantine is never a target

def test_quarantine_is_never_a_mask_target(tmp_path, env):
    path, original = _user_export(tmp_path)
    qid = _qid(auditor("remediate", "mask", "--lang", "en", str(path), "--apply", env=env).stdout)
    item = _qdir(env) / "items" / qid
    inside = [item / "original.csv", item / "masked.csv"]
    link = tmp_path / "shortcut"
    link.symlink_to(item)  # the same folder reached through a (root's) link
    inside.append(link / "original.csv")
    for target in inside:
        before = target.read_bytes()
        res = auditor("remediate", "mask", "--lang", "en", str(target), "--apply", env=env)
        assert res.code == 1 and "inside the quarantine" in res.stdout, res.output
        assert target.read_bytes() == before
    assert [p.name for p in _items(env)] == [qid]

    # a sealed report naming the quarantined original (a real scan's report, one finding pointed at it):
    # passed over with a note, the other file masked
    from auditor.integrity import seal

    other, _ = _user_export(tmp_path, name="second.csv")
    third, third_data = _user_export(tmp_path, name="third.csv")
    report = tmp_path / "r.json"
    scan = auditor("scan", "--only", "files", "--path", str(other.parent), "--fail-on", "none", "-q", "-o", str(report),
                   env=env)
    assert scan.code == 0, scan.output
    data = json.loads(report.read_text(encoding="utf-8"))
    for f in data["findings"]:
        if f.get("evidence", {}).get("path") == str(third):
            f["evidence"]["path"] = f["target"]["ref"] = str(item / "original.csv")
            f["evidence"]["locator"] = {"path_hex": os.fsencode(item / "original.csv").hex()}
    report.write_text(json.dumps(seal(data), ensure_ascii=False), encoding="utf-8")
    res = auditor("remediate", "mask", "--lang", "en", "--from-report", str(report), "--apply", env=env)
    assert res.code == 0, res.output
    assert "passed over" in res.stdout and "inside the quarantine" in res.stdout and "masked " in res.stdout
    assert (item / "original.csv").read_bytes() == original and len(_items(env)) == 2
    assert third.read_bytes() == third_data  # not named by the report any more: untouched
    assert auditor("remediate", "restore", "--lang", "en", qid, "--apply", env=env).code == 0 and path.read_bytes() == original


# --------------------------------------------------------------------------- formula cells

FORMULAS = {
    "text": lambda v: f'="{v}"',
    "ampersand": lambda v: f'="{v[:3]}"&"{v[3:]}"',
    "concatenate": lambda v: f'=CONCATENATE("{v[:3]}","{v[3:7]}","{v[7:]}")',
    "text-function": lambda v: f'=TEXT({v},"0")' if v.isdigit() else f'="{v}"',
    "concat-xlfn": lambda v: f'=_xlfn.CONCAT("{v[:5]}",TRIM(" {v[5:]} "))',
}
HEADER = ["订单编号", "收货人", "身份证号", "联系电话", "收货地址", "备注"]


def _people(n: int, seed: int):
    rng = random.Random(seed)
    return [person(rng) for _ in range(n)]


def _formula_workbook(path: Path, writer: str, shape: str, people) -> None:
    make = FORMULAS[shape]
    rows = [[f"7{n:017d}", p.name, make(p.id_number), make(p.mobile), p.address, f"备注{n}"]
            for n, p in enumerate(people)]
    if writer == "openpyxl":  # formulas only, no cached values
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "订单"
        ws.append(HEADER)
        for row in rows:
            ws.append(row)
        wb.save(path)
        return
    import xlsxwriter  # formulas with the results Excel would have cached

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("订单")
    ws.write_row(0, 0, HEADER)
    for r, (row, p) in enumerate(zip(rows, people), 1):
        for c, value in enumerate(row):
            if value.startswith("="):
                ws.write_formula(r, c, value, None, p.id_number if c == 2 else p.mobile)
            else:
                ws.write_string(r, c, value)
    wb.close()


def _all_parts(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())


@pytest.mark.parametrize("writer", ["openpyxl", "xlsxwriter"])
@pytest.mark.parametrize("shape", list(FORMULAS))
def test_formula_cells_are_masked_and_the_formula_removed(tmp_path, env, writer, shape):
    import openpyxl
    import python_calamine

    people = _people(12, hash((writer, shape)) & 0xFFFF)
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "订单.xlsx"
    _formula_workbook(path, writer, shape, people)
    original = path.read_bytes()
    res = auditor("remediate", "mask", "--lang", "en", str(path), "--apply", env=env)
    assert res.code == 0 and "masked" in res.stdout, res.output
    needles = [x for p in people for x in (p.mobile, p.id_number)]
    assert_no_leak(needles, text=_all_parts(path))  # formulas, cached values, shared strings: every part
    wb = openpyxl.load_workbook(path)
    ws = wb["订单"]
    for row in ws.iter_rows(min_row=2):
        idn, mob = row[2], row[3]
        assert idn.data_type == "s" and mob.data_type == "s"  # the formula is gone, the masked text stays
        assert re.fullmatch(r"1\d\d\*{6}\d\d", mob.value) and idn.value[6:14] == "*" * 8
    values = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("订单").to_python()
    assert_no_leak(needles, text=json.dumps(values, ensure_ascii=False, default=str))
    assert all("*" in str(r[3]) for r in values[1:])
    scan = auditor("scan", "--only", "files", "--path", str(folder), "--full", "--fail-on", "none", "-q",
                   "-o", str(tmp_path / "r.json"), env=env)
    assert scan.code == 0, scan.output
    assert [f for f in json.loads((tmp_path / "r.json").read_text())["findings"] if f["check_id"].startswith("PI")] == []
    res = auditor("remediate", "restore", "--lang", "en", _qid(res.stdout), "--apply", env=env)
    assert res.code == 0 and path.read_bytes() == original


def test_formulas_that_cannot_be_worked_out_are_refused_not_left(tmp_path, env):
    import openpyxl
    from openpyxl.workbook.defined_name import DefinedName

    people = _people(10, 77)
    path = tmp_path / "名单.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "联系电话", "收货地址"])
    for p in people:  # the mobile hidden in a function we do not evaluate, no cached value
        ws.append([p.name, f'=LEFT("{p.mobile}X",11)', p.address])
    wb.save(path)
    before = path.read_bytes()
    res = auditor("remediate", "mask", "--lang", "en", str(path), "--apply", env=env)
    assert res.code == 1 and "formula" in res.stdout and "file left unchanged" in res.stdout, res.output
    assert path.read_bytes() == before and _items(env) == []
    assert_no_leak([p.mobile for p in people], text=res.output)

    # a defined name holding a mobile: refused too
    path2 = tmp_path / "named.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["备注"])
    wb.active.append(["无"])
    wb.defined_names.add(DefinedName(name="kehu", attr_text=f'"{people[0].mobile}"'))
    wb.save(path2)
    res = auditor("remediate", "mask", "--lang", "en", str(path2), "--apply", env=env)
    assert res.code == 1 and "defined name" in res.stdout and _items(env) == [], res.output


def test_cached_value_of_a_reference_formula_is_masked(tmp_path, env):
    """A column of =Sheet2!B2 references whose cached results (xlsxwriter) are the mobiles."""
    import xlsxwriter

    people = _people(10, 5)
    path = tmp_path / "ref.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("订单")
    ws.write_row(0, 0, ["收货人", "联系电话"])
    src = wb.add_worksheet("来源")
    src.write_row(0, 0, ["编号", "电话"])
    for r, p in enumerate(people, 1):
        ws.write_string(r, 0, p.name)
        ws.write_formula(r, 1, f"=来源!B{r + 1}", None, p.mobile)
        src.write_string(r, 0, f"N{r}")
        src.write_string(r, 1, p.mobile)
    wb.close()
    res = auditor("remediate", "mask", "--lang", "en", str(path), "--apply", env=env)
    assert res.code == 0, res.output
    assert_no_leak([p.mobile for p in people], text=_all_parts(path))


# --------------------------------------------------------------------------- bounds

def _sparse_workbook(path: Path, people) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["收货人", "联系电话"])
    for p in people:
        ws.append([p.name, p.mobile])
    ws["XFD1048576"] = "end"  # one far cell: a dimension of 17 billion positions
    wb.save(path)


def _styles_bomb(path: Path, people) -> None:
    """A 200 KB workbook whose styles part inflates to 200 MB."""
    plain = path.with_suffix(".plain.xlsx")
    _sparse_workbook(plain, people)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/styles.xml":
                data = data.replace(b"</styleSheet>", b"<!--" + b" " * (200 << 20) + b"--></styleSheet>")
            out.writestr(info, data)
    plain.unlink()


BOUNDS = {
    "200k-columns.csv": lambda p, people: p.write_text(",".join(x.mobile for x in people) * 20000 + "\n"),
    "one-line.txt": lambda p, people: p.write_text(" ".join(x.mobile for x in people) * 60000),
    "far-cell.xlsx": _sparse_workbook,
    "styles-bomb.xlsx": _styles_bomb,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(BOUNDS))
def test_crafted_tables_are_refused_within_bounds(tmp_path, env, name):
    from hostilekit import limit_memory_mb

    people = _people(10, 3)
    path = tmp_path / name
    BOUNDS[name](path, people)
    before = path.read_bytes()
    for args in (["mask", "--lang", "en", str(path)], ["mask", "--lang", "en", str(path), "--apply"]):
        res = auditor("remediate", *args, env=env, timeout=60, child=True)  # peak RSS
        assert res.code == 1 and "cannot mask" in res.stdout, res.output
        assert res.peak_rss_mb < limit_memory_mb() and res.seconds < 30, (res.peak_rss_mb, res.seconds)
    assert path.read_bytes() == before and _items(env) == []


# --------------------------------------------------------------------------- damaged journals and items

def _mask_several(tmp_path: Path, env: dict, n: int) -> list[tuple[Path, bytes, str]]:
    folder = tmp_path / "exports"
    files = [write_csv(folder / f"e{i}.csv", export_rows(random.Random(100 + i), "pdd", 12)[0]) for i in range(n)]
    data = [f.read_bytes() for f in files]
    res = auditor("remediate", "mask", "--lang", "en", *map(str, files), "--apply", env=env)
    assert res.code == 0, res.output
    ids = re.findall(r"quarantined as ([0-9a-f]{8})", res.stdout)
    assert len(ids) == n
    return list(zip(files, data, ids))


def _journal_entry(path: Path, qid: str, state: str = "ready") -> dict:
    return {"id": qid, "op": "mask", "state": state, "path": str(path), "orig_sha256": "0" * 64,
            "masked_sha256": "1" * 64, "started": "2026-01-01T00:00:00+08:00"}


def _fifo(p: Path) -> None:
    p.unlink(missing_ok=True)
    os.mkfifo(p)


ITEM_DAMAGE = {
    "meta-truncated": lambda item: (item / "meta.json").write_bytes((item / "meta.json").read_bytes()[:40]),
    "meta-wrong-types": lambda item: (item / "meta.json").write_text(json.dumps(
        {**json.loads((item / "meta.json").read_text()), "mode": "rw-r--r--", "mtime_ns": [1]})),
    "meta-escapes-item": lambda item: (item / "meta.json").write_text(json.dumps(
        {**json.loads((item / "meta.json").read_text()), "original": "../../../../etc/passwd"})),
    "meta-huge-int": lambda item: (item / "meta.json").write_text(
        re.sub(r'"mtime_ns": \d+', '"mtime_ns": 1' + "0" * 400, (item / "meta.json").read_text())),
    "meta-unparsable-int": lambda item: (item / "meta.json").write_text(
        re.sub(r'"mode": \d+', '"mode": 1' + "0" * 5000, (item / "meta.json").read_text())),
    "meta-missing": lambda item: (item / "meta.json").unlink(),
    "meta-fifo": lambda item: _fifo(item / "meta.json"),
    "meta-huge": lambda item: (item / "meta.json").write_bytes(b" " * (3 << 20) + b"{}"),
    "meta-folder": lambda item: ((item / "meta.json").unlink(), (item / "meta.json").mkdir()),
    "original-missing": lambda item: (item / "original.csv").unlink(),
    "original-fifo": lambda item: _fifo(item / "original.csv"),
}


def test_damaged_items_are_set_aside_and_never_block_the_others(tmp_path, env):
    masked = _mask_several(tmp_path, env, len(ITEM_DAMAGE) + 1)
    good_path, good_data, good_id = masked[0]
    damaged = {}
    for (path, data, qid), (kind, damage) in zip(masked[1:], ITEM_DAMAGE.items()):
        damage(_qdir(env) / "items" / qid)
        damaged[qid] = (kind, path, data)
    (_qdir(env) / "items" / "not-an-item").mkdir()
    (_qdir(env) / "items" / "0badf00d").write_text("a file where an item folder should be")
    (_qdir(env) / "items" / "0badf00e").symlink_to("/etc")

    res = auditor("remediate", "list", "--lang", "en", env=env, timeout=30)
    assert res.code == 0, res.output
    listed, _, aside = res.stdout.partition("quarantine: ")[2].partition("damaged, set aside")
    assert good_id in listed and all(qid not in listed for qid in damaged)
    for qid, (kind, path, data) in damaged.items():
        assert qid in aside, kind
        where = _qdir(env) / "damaged" / qid
        reason = json.loads((where / "reason.json").read_text())
        assert reason["id"] == qid and reason["reason"], kind
        if kind not in ("original-missing", "original-fifo"):
            assert (where / "item" / "original.csv").read_bytes() == data, kind  # kept, never deleted
    assert {"not-an-item", "0badf00d", "0badf00e"} <= {p.name for p in (_qdir(env) / "damaged").iterdir()}
    assert Path("/etc/passwd").exists() and os.path.isdir("/etc")
    assert [p.name for p in _items(env)] == [good_id]

    res = auditor("remediate", "restore", "--lang", "en", good_id, "--apply", env=env)
    assert res.code == 0 and good_path.read_bytes() == good_data, res.output
    again = auditor("remediate", "list", "--lang", "en", env=env)  # settled: nothing more to set aside
    assert again.code == 0 and "damaged" in again.stdout and "recovered" not in again.stdout, again.output
    new, _ = _user_export(tmp_path, name="later.csv")
    assert auditor("remediate", "mask", "--lang", "en", str(new), "--apply", env=env).code == 0  # later commands work


JOURNAL_DAMAGE = {
    "truncated": lambda p, e: p.write_bytes(json.dumps(e).encode()[:30]),
    "a-list": lambda p, e: p.write_text("[1, 2, 3]"),
    "wrong-types": lambda p, e: p.write_text(json.dumps({**e, "path": 12, "state": ["ready"]})),
    "unknown-state": lambda p, e: p.write_text(json.dumps({**e, "state": "halfway"})),
    "nul-in-path": lambda p, e: p.write_text(json.dumps({**e, "path": "/tmp/a\u0000b"})),
    "relative-path": lambda p, e: p.write_text(json.dumps({**e, "path": "../../etc/shadow"})),
    "bad-digest": lambda p, e: p.write_text(json.dumps({**e, "orig_sha256": "z" * 64})),
    "deep-nesting": lambda p, e: p.write_text("[" * 100000 + "]" * 100000),
    "not-utf8": lambda p, e: p.write_bytes(b"\xff\xfe{\x00"),
    "fifo": lambda p, e: os.mkfifo(p),
    "huge": lambda p, e: p.write_bytes(b"{" + b" " * (3 << 20) + b"}"),
}


def test_damaged_journals_are_set_aside_and_their_items_kept(tmp_path, env):
    masked = _mask_several(tmp_path, env, len(JOURNAL_DAMAGE))
    journal = _qdir(env) / "journal"
    for (path, data, qid), (kind, damage) in zip(masked, JOURNAL_DAMAGE.items()):
        damage(journal / f"{qid}.json", _journal_entry(path, qid))
    (journal / "stray.txt").write_text("not ours")
    res = auditor("remediate", "list", "--lang", "en", env=env, timeout=30)
    assert res.code == 0, res.output
    assert not list(journal.iterdir())
    # every item had a valid record: each is listed and restorable; the journals are kept for inspection
    listed = res.stdout.partition("quarantine: ")[2].split("damaged, set aside")[0]
    for path, data, qid in masked:
        assert qid in listed
        assert os.path.lexists(_qdir(env) / "damaged" / qid / "journal.json")
    for path, data, qid in masked:
        res = auditor("remediate", "restore", "--lang", "en", qid, "--apply", env=env)
        assert res.code == 0 and path.read_bytes() == data, res.output


def test_a_journal_of_an_item_without_a_record_sets_both_aside(tmp_path, env):
    (path, data, qid), = _mask_several(tmp_path, env, 1)
    item = _qdir(env) / "items" / qid
    (item / "meta.json").unlink()
    (_qdir(env) / "journal" / f"{qid}.json").write_text("{broken")
    res = auditor("remediate", "list", "--lang", "en", env=env)
    assert res.code == 0 and qid in res.stdout and "damaged" in res.stdout, res.output
    assert (_qdir(env) / "damaged" / qid / "item" / "original.csv").read_bytes() == data


def test_leftover_journal_of_a_vanished_folder_does_not_block(tmp_path, env):
    (path, data, qid), = _mask_several(tmp_path, env, 1)
    entry = _journal_entry(path, qid)
    entry["path"] = str(tmp_path / "gone" / "away.csv")
    (_qdir(env) / "journal" / f"{qid}.json").write_text(json.dumps(entry))
    res = auditor("remediate", "list", "--lang", "en", env=env)
    assert res.code == 0 and "recovered:" in res.stdout and qid in res.stdout, res.output
    assert auditor("remediate", "restore", "--lang", "en", qid, "--apply", env=env).code == 0 and path.read_bytes() == data


def test_fifo_in_place_of_the_masked_copy_during_recovery(tmp_path, env):
    """Killed at mask:ready, then the item's masked copy is a FIFO: the next command rolls back, no hang."""
    path, original = _user_export(tmp_path)
    run = Paused(["mask", "--lang", "en", str(path), "--apply"], env, "mask:ready", tmp_path)
    run.proc.kill()
    run.proc.communicate()
    item, = _items(env)
    _fifo(item / "masked.csv")
    res = auditor("remediate", "list", "--lang", "en", env=env, timeout=20, child=True)  # a FIFO: only a kill would end a hang
    assert res.code == 0 and "rolled back" in res.stdout, res.output
    assert path.read_bytes() == original and _items(env) == []


# --------------------------------------------------------------------------- nothing planted leaks

def test_remediate_output_and_quarantine_records_hold_no_planted_value(tmp_path, env):
    people = _people(8, 9)
    path = tmp_path / "x.csv"
    path.write_text("收货人,联系电话,身份证号\n" + "".join(f"{p.name},{p.mobile},{p.id_number}\n" for p in people),
                    encoding="utf-8")
    out = ""
    for args in (["mask", str(path)], ["mask", str(path), "--apply"], ["list"]):
        res = auditor("remediate", *args, env=env)
        assert res.code == 0, res.output
        out += res.output
    needles = [x for p in people for x in (p.mobile, p.id_number)]
    records = [f for f in _qdir(env).rglob("*.json")]
    assert_no_leak(needles, *records, text=out)


# --------------------------------------------------------------------------- property tests of the record readers

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from auditor.remediate import formulas  # noqa: E402
from auditor.remediate.quarantine import Quarantine  # noqa: E402
from auditor.remediate.records import Damaged, parse_journal, parse_meta  # noqa: E402

QID = "0a1b2c3d"
VALID_META = {"id": QID, "path": "/home/u/Desktop/x.csv", "name": "x.csv", "format": "csv",
              "original": "original.csv", "masked": "masked.csv", "orig_sha256": "a" * 64, "masked_sha256": "b" * 64,
              "size": 10, "mode": 0o644, "mtime_ns": 1_700_000_000_000_000_000, "uid": 1000, "gid": 1000,
              "parent": [2049, 1234], "masked_at": "2026-01-01T00:00:00+08:00", "rows_changed": 1, "cells_changed": 1,
              "columns": []}
VALID_JOURNAL = {"id": QID, "op": "mask", "state": "ready", "path": "/home/u/Desktop/x.csv", "orig_sha256": "a" * 64,
                 "masked_sha256": "b" * 64, "parent": [2049, 1234], "started": "2026-01-01T00:00:00+08:00"}
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=12)


def _mutated(base: dict) -> st.SearchStrategy:
    return st.dictionaries(st.sampled_from(sorted(base)), json_values, max_size=4).map(
        lambda changes: {**base, **changes})


def _check_meta(meta: dict) -> None:
    assert isinstance(meta["path"], str) and "\0" not in meta["path"]
    assert meta["original"].startswith("original") and "/" not in meta["original"] and ".." not in meta["original"]
    assert isinstance(meta["mode"], int) and 0 <= meta["mode"] <= 0o7777
    assert isinstance(meta["mtime_ns"], int) and abs(meta["mtime_ns"]) < 1 << 63
    assert all(meta.get(k) is None or (type(meta[k]) is int and 0 <= meta[k] < 1 << 32) for k in ("uid", "gid"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_a_record_or_damaged(raw):
    for parse in (parse_journal, parse_meta):
        try:
            rec = parse(raw, QID)
        except Damaged as exc:
            assert exc.reason
        else:
            assert rec["id"] == QID


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(_mutated(VALID_META), _mutated(VALID_JOURNAL))
def test_mistyped_records_are_damaged_or_sound(meta, journal):
    try:
        _check_meta(parse_meta(json.dumps(meta).encode(), QID))
    except Damaged:
        pass
    try:
        entry = parse_journal(json.dumps(journal).encode(), QID)
        assert entry["op"] in ("mask", "restore") and isinstance(entry["path"], str)
    except Damaged:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), _mutated(VALID_JOURNAL).map(lambda d: json.dumps(d).encode())),
       st.one_of(st.binary(max_size=300), _mutated(VALID_META).map(lambda d: json.dumps(d).encode())))
def test_recovery_over_any_journal_and_meta_never_crashes_nor_deletes_an_original(journal_raw, meta_raw):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        q = Quarantine(Path(tmp) / "q")
        q.ensure()
        item = q.item(QID)
        item.mkdir()
        (item / "original.csv").write_bytes(b"the only copy")
        (item / "meta.json").write_bytes(meta_raw)
        (q.journal_dir / f"{QID}.json").write_bytes(journal_raw)
        try:
            lines = q.recover()
            assert all(isinstance(line, str) for line in lines)
            assert not list(q.journal_dir.iterdir())
            copies = [p for p in Path(tmp).rglob("original.csv")]
            # rolled back (an interrupted "begin": the file was never touched) or kept, in items/ or damaged/
            assert copies or any("rolled back" in line for line in lines), lines
            q.items(), q.damaged()
        finally:
            q.release()


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200) | st.builds(lambda parts: "=" + "&".join(parts),
                                         st.lists(st.text(alphabet='"0123456789(),&ACENOTX ', max_size=12), max_size=6)))
def test_formula_reader_takes_any_text(text):
    value = formulas.evaluate(text)
    assert value is None or isinstance(value, str)
    assert all(isinstance(v, str) for v in formulas.literals(text) + formulas.hidden_values(text))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=40), st.sampled_from(["begin", "ready"]), st.sampled_from(["mask", "restore"]))
def test_recovery_over_any_recorded_path_never_crashes(tail, state, op):
    """A journal naming any absolute path (odd characters, surrogates, a FIFO's folder) is recovered or set aside."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        q = Quarantine(Path(tmp) / "q")
        q.ensure()
        state = "restored" if op == "restore" and state == "ready" else state
        entry = {**VALID_JOURNAL, "op": op, "state": state, "path": "/" + tail}
        (q.journal_dir / f"{QID}.json").write_text(json.dumps(entry), encoding="utf-8")
        try:
            assert all(isinstance(line, str) for line in q.recover())
            assert not list(q.journal_dir.iterdir())
        finally:
            q.release()
