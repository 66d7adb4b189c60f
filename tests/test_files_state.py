"""The incremental state (auditor.files.state) on a real database: what it stores comes back for the same file
unchanged, and a row it did not write as it writes them (damaged, edited by hand, trailing data) is no state at
all: the file is read again, never judged from half a row."""

from __future__ import annotations

from pathlib import Path

from auditor.files.state import SCHEMA, FileState

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
