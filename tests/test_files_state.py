"""The incremental state (auditor.files.state) on a real database: what it stores comes back for the same file
unchanged, and a row it did not write as it writes them (damaged, edited by hand, trailing data) is no state at
all: the file is read again, never judged from half a row."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from auditor.files.state import SCHEMA, FileState
from clirun import child_env
from exportgen import export_rows, write_csv
from test_startup import PROBE

OUTCOMES = [{"records": 20, "id_rows": 0, "kinds": {"mobile": "unmasked"}, "sheets": [{"name": "", "rows": 20}]}]


def test_a_stored_outcome_comes_back_for_the_same_file_only(tmp_path):
    state = FileState(tmp_path / "s" / "files.sqlite")
    root = tmp_path / "root"
    path = root / "u0" / "f0.csv"
    state.store(path, root, 10, 20, 30, OUTCOMES)
    state.close()
    state = FileState(tmp_path / "s" / "files.sqlite")
    assert state.lookup(path, 10, 20, 30) == OUTCOMES
    assert state.lookup(Path(str(path)), 10, 20, 30) == OUTCOMES  # an equal path, another object
    assert state.lookup(path, 11, 20, 30) is None and state.lookup(path, 10, 21, 30) is None
    assert state.lookup(root / "u0" / "f1.csv", 10, 20, 30) is None
    assert state.key(path) == state.key(str(path)) == state.key(bytes(str(path), "utf-8")) != state.key(root)
    state.close()


def test_a_row_not_written_as_the_state_writes_it_is_no_state(tmp_path):
    db = tmp_path / "s" / "files.sqlite"
    state = FileState(db)
    root = tmp_path / "root"
    paths = [root / f"f{i}.csv" for i in range(6)]
    for p in paths:
        state.store(p, root, 1, 2, 3, OUTCOMES)
    bad = ['[{"records": 20}] trailing', ' [{"records": 20}]', '{"records": 20}', "[{", 42]
    for p, text in zip(paths, bad):
        state.db.execute("UPDATE files SET outcomes = ? WHERE key = ?", (text, state.key(p)))
    state.close()
    state = FileState(db)
    assert [state.lookup(p, 1, 2, 3) for p in paths] == [None] * 5 + [OUTCOMES]
    assert state.db.execute("SELECT COUNT(*) FROM files WHERE schema = ?", (SCHEMA,)).fetchone()[0] == 6
    state.close()


def test_an_unchanged_rescan_reads_no_file_and_loads_no_file_reader(tmp_path):
    """A fresh interpreter per scan, as the agent runs: the first scan reads the exports (and loads the file
    kernel, numpy with it); the rescan of the unchanged folder takes every file from the state and imports
    neither, with the same findings."""
    rows, expected = export_rows(random.Random(3), "jd", 20)
    for i in range(3):
        write_csv(tmp_path / "exports" / f"f{i}.csv", rows)
    env = child_env({"AUDITOR_STATE_DIR": str(tmp_path / "state")})
    reports = []
    for run in range(2):
        out = tmp_path / f"r{run}.json"
        res = subprocess.run([sys.executable, "-c", PROBE, "scan", "--only", "files", "--path", str(tmp_path / "exports"),
                              "-q", "--fail-on", "none", "-o", str(out)], capture_output=True, text=True, env=env,
                             timeout=300, stdin=subprocess.DEVNULL)
        last = json.loads(res.stderr.strip().splitlines()[-1])
        assert last["code"] == 0, res.stderr
        reports.append((json.loads(out.read_text(encoding="utf-8")), set(last["modules"])))
    (first, loaded), (second, again) = reports
    assert {"numpy", "auditor.files.kernel.scanner"} <= loaded
    assert not {"numpy", "auditor.files.kernel.scanner", "auditor.files.file_scan", "auditor.tabular"} & again
    note = next(c["note"] for c in second["coverage"] if c["source"] == "files:content")
    assert note.startswith("0 files read, 3 unchanged"), note
    assert [f["evidence"]["records"] for f in second["findings"]] == [expected] * 3
    assert [f["id"] for f in second["findings"]] == [f["id"] for f in first["findings"]]


def test_a_file_seen_again_keeps_its_row_and_its_seen_time_moves_on_once_a_day(tmp_path):
    import time

    from auditor.files.state import FORGET_DAYS, SEEN_STEP

    db = tmp_path / "s" / "files.sqlite"
    root = tmp_path / "root"
    paths = [root / f"f{i}.csv" for i in range(3)]
    state = FileState(db)
    for p in paths:
        state.store(p, root, 1, 2, 3, OUTCOMES)
    now = int(time.time())
    ages = [2 * SEEN_STEP, 100, FORGET_DAYS * 86400 + 10]  # a day old, minutes old, older than forgetting
    for p, age in zip(paths, ages):
        state.db.execute("UPDATE files SET seen = ? WHERE key = ?", (now - age, state.key(p)))
    state.close()
    state = FileState(db)
    for p in paths:  # all three walked again, unchanged
        state.seen(p, root)
        assert state.lookup(p, 1, 2, 3) == OUTCOMES
    assert state.drop_missing([root]) == 0  # the one past FORGET_DAYS is kept: it was seen now
    seen = {k: s for k, s in state.db.execute("SELECT key, seen FROM files")}
    keys = [state.key(p) for p in paths]
    state.close()
    assert seen[keys[0]] >= now  # refreshed: older than a day
    assert seen[keys[1]] == now - 100  # left: written minutes ago
    assert seen[keys[2]] >= now
