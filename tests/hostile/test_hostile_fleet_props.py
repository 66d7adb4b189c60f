"""Property tests: random mutations of a real sealed report and of a real inspector bundle, fed to `fleet ingest`,
`report` and `verify`, never give exit 3, a traceback or unbounded memory; and the report schema's validator never
accepts what the published schema refuses.

The commands run in this process through auditor.cli.main (the real command line, argument parsing to exit
code), so that hundreds of mutations take seconds; memory is traced per run. Mutations are sealed again most of
the time (SHA-256 needs no key), so the checks behind the digest are the ones exercised."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import tempfile
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from hostile_reports import forged, scanned_report

pytestmark = [pytest.mark.skipif(os.name == "nt", reason="POSIX temporary files"),
              pytest.mark.slow]  # property runs: seconds each

MAX_TRACED_MB = 200  # a mutation of a 100 kB report: anything near this is unbounded growth

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.sampled_from(["", "\ud800", "1.1", "2.0", "critical", "D-REMOTE", "2026-11-30T12:00:00+08:00",
                              "0123456789abcdef", "x" * 70]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    return scanned_report(tmp_path_factory.mktemp("props-real"))


def _children(node):
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


@st.composite
def mutated(draw, base: dict):
    """A copy of ``base`` with one to three changes at random places: another value, a key removed or added,
    a value wrapped in deep nesting, a huge number or string, text no UTF-8 writer accepts, NaN."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        parent, key = None, None
        node = doc
        while _children(node) and draw(st.integers(0, 3)):  # descend a few levels, at random
            key = draw(st.sampled_from(_children(node)))
            parent, node = node, node[key]
        if parent is None:
            continue
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "nest", "huge-int", "long-text",
                                   "odd-text", "odd-number"]))
        if op == "odd-text":
            parent[key] = draw(st.sampled_from(["\ud800", "a\udfffb", "\x00", "\u202e", "\n" * 3]))
        elif op == "odd-number":
            parent[key] = draw(st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -0.0, 2 ** 63]))
        elif op == "replace":
            parent[key] = draw(VALUES)
        elif op == "delete":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(VALUES)
        elif op == "nest":
            value = parent[key]
            for _ in range(draw(st.sampled_from([2, 40, 70, 300]))):
                value = [value]
            parent[key] = value
        elif op == "huge-int":
            parent[key] = 10 ** draw(st.integers(15, 30))
        elif op == "long-text":
            parent[key] = "x" * draw(st.sampled_from([1000, (1 << 20) + 1]))
    return doc


def _run(*argv: str) -> tuple[int, str, float]:
    """(exit code, stderr, peak traced MB) of the real command line, in this process."""
    from auditor.cli import main

    err, out = io.StringIO(), io.StringIO()
    tracemalloc.start()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(list(argv))
        peak = tracemalloc.get_traced_memory()[1] / (1 << 20)
    finally:
        tracemalloc.stop()
    return code, err.getvalue(), peak


def _clean(code: int, err: str, peak: float, allowed: set[int]) -> None:
    assert code in allowed, (code, err[-1500:])
    assert "internal error" not in err and "Traceback" not in err, err[-1500:]
    assert peak < MAX_TRACED_MB, f"{peak:.0f} MB traced"


PROPS = settings(max_examples=30, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])


@PROPS
@given(data=st.data(), reseal=st.booleans())
def test_mutated_reports_through_ingest_and_verify(real, data, reseal):
    doc = data.draw(mutated(real["report"]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.json"
        path.write_bytes(forged(doc, reseal=reseal or data.draw(st.booleans())))
        db = str(Path(tmp) / "f.sqlite")
        code, err, peak = _run("fleet", "ingest", str(path), "--db", db, "-q")
        _clean(code, err, peak, {0, 1})
        if code == 0:  # loaded: every later export must still work
            _clean(*_run("fleet", "export", "--db", db, "--format", data.draw(st.sampled_from(["ecs", "ocsf"])),
                         "--no-silent", "-o", str(Path(tmp) / "x.ndjson"), "-q"), {0})
        _clean(*_run("verify", str(path)), {0, 1, 2})


@settings(PROPS, max_examples=12)
@given(data=st.data())
def test_mutated_reports_through_report(real, data):
    doc = data.draw(mutated(real["report"]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.dat"  # not *.json: the suite would validate it as a report left behind
        path.write_bytes(forged(doc))
        code, err, peak = _run("report", str(path), "-o", str(Path(tmp) / "x.html"), "-o", str(Path(tmp) / "x.md"))
        _clean(code, err, peak, {0, 2})
        if code == 0:  # accepted: then it was valid, and renders like any report
            from auditor.reportschema import report_validator

            assert report_validator().problem(json.loads(path.read_bytes())) is None


@settings(PROPS, max_examples=40)
@given(data=st.data(), raw=st.binary(max_size=64))
def test_mutated_bytes_of_a_report(real, data, raw):
    """Byte-level damage: cut, spliced, or bytes inserted, without sealing again."""
    text = real["path"].read_bytes()
    at = data.draw(st.integers(0, len(text)))
    op = data.draw(st.sampled_from(["cut", "insert", "overwrite"]))
    text = text[:at] if op == "cut" else text[:at] + raw + text[at + (len(raw) if op == "overwrite" else 0):]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.json"
        path.write_bytes(text)
        _clean(*_run("fleet", "ingest", str(path), "--db", str(Path(tmp) / "f.sqlite"), "-q"), {0, 1})
        _clean(*_run("verify", str(path)), {0, 1, 2})


# --------------------------------------------------------------------------- bundles

@pytest.fixture(scope="module")
def bundle(real):
    from auditor.inspector.bundle import json_bytes, make_bundle

    files = [("report.json", json_bytes(real["report"])), ("report.html", b"<html>" + b"x" * 3000 + b"</html>"),
             ("answers.json", json_bytes({"answers": {}})), ("host.json", json_bytes({"hostname": "P-PC"}))]
    return make_bundle(files, {"created_at": "2026-11-30T12:00:00+08:00", "host": "P-PC"}, b"k" * 20)


@settings(PROPS, max_examples=50)
@given(data=st.data())
def test_mutated_bundles_through_verify(real, bundle, data):
    from auditor.inspector.bundle import build_zip, check_bundle, json_bytes

    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    kind = data.draw(st.sampled_from(["bytes", "member", "report", "manifest"]))
    if kind == "bytes":
        out = bytearray(bundle)
        for _ in range(data.draw(st.integers(1, 4))):
            pos = data.draw(st.integers(0, len(out) - 1))
            out[pos] = data.draw(st.integers(0, 255))
        blob = bytes(out[:data.draw(st.integers(len(out) // 2, len(out)))])
    else:
        if kind == "member":
            name = data.draw(st.sampled_from(sorted(members)))
            members[name] = data.draw(st.binary(max_size=200)) if data.draw(st.booleans()) else zlib.compress(
                members[name])
        elif kind == "report":
            members["report.json"] = forged(data.draw(mutated(real["report"])))
        else:
            manifest = json.loads(members["manifest.json"])
            manifest = data.draw(mutated(manifest)) if data.draw(st.booleans()) else data.draw(VALUES)
            members["manifest.json"] = forged(manifest, False)
            if data.draw(st.booleans()):  # in the form auditor writes, where that form can hold the value
                with contextlib.suppress(UnicodeEncodeError, ValueError):
                    members["manifest.json"] = json_bytes(manifest)
        blob = build_zip(list(members.items()))
    problems, _facts = _in_process_check(check_bundle, blob)
    assert isinstance(problems, list)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.zip"
        path.write_bytes(blob)
        _clean(*_run("verify", str(path)), {0, 1, 2})


def _in_process_check(check_bundle, blob: bytes):
    from auditor.errors import UsageError

    try:
        return check_bundle(blob, None)
    except UsageError:  # a ZIP that is not a bundle at all: exit 2 by design
        return [], {}


# --------------------------------------------------------------------------- the validator against jsonschema

@settings(PROPS, max_examples=150)
@given(data=st.data())
def test_the_validator_never_accepts_what_the_published_schema_refuses(real, data):
    import jsonschema

    from auditor.reportschema import report_validator

    doc = data.draw(mutated(real["report"]))
    assume(_json_clean(doc))
    ours = report_validator().problem(doc)
    theirs = jsonschema.Draft202012Validator(_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    if not theirs.is_valid(doc):
        assert ours is not None, "accepted a report the published schema refuses"
    if ours is None:
        assert theirs.is_valid(doc)


_SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "reports" / "schema" / "report.schema.json")
                     .read_text(encoding="utf-8"))


def _json_clean(value) -> bool:
    """Values both validators see alike (JSON numbers, Unicode text)."""
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
        return True
    except (ValueError, UnicodeEncodeError):
        return False


# --------------------------------------------------------------------------- the structure pass

TRICKY_TEXT = st.text(alphabet=st.sampled_from('[]{},"\\:ab\u00e9\u4e2d\n/'), max_size=12)
TREES = st.recursive(st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY_TEXT, inner, max_size=4),
                     max_leaves=30)


def _depth_and_values(value) -> tuple[int, int]:
    deepest, values, stack = 0, 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        values += 1
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            stack += [(x, d + 1) for x in (v.values() if isinstance(v, dict) else v)]
    return deepest, values


@settings(max_examples=400, deadline=None, derandomize=True)
@given(tree=TREES, ascii_only=st.booleans(), indent=st.sampled_from([None, 1]))
def test_the_structure_pass_sees_what_the_parser_sees(tree, ascii_only, indent):
    """Brackets, quotes, commas and backslashes inside strings never fool the pass that bounds nesting and size
    before parsing: its depth is the parsed depth, its value count never below the parsed one."""
    from auditor.boundedjson import structure

    data = json.dumps(tree, ensure_ascii=ascii_only, indent=indent).encode("utf-8")
    depth, values = structure(data)
    true_depth, true_values = _depth_and_values(tree)
    assert depth == true_depth
    assert values >= true_values
