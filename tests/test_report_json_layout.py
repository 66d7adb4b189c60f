"""The JSON report's layout (auditor.render.json_report) and the leak guard's walk (auditor.leakguard.scrub):
the faster writing and the faster guard change no content. A report written in the new layout and one written
indented all the way (as every version before) both verify; any other layout of the same content is ALTERED;
the scrub of any value equals mask_pi applied to each of its strings, whatever scrub saw before."""

from __future__ import annotations

import dataclasses
import json
import re

from hypothesis import given, settings, strategies as st

from auditor import leakguard
from auditor.leakguard import mask_pi, scrub, scrub_shown
from auditor.render.json_report import INDENTED_LEVELS, render, render_indented
from auditor.textsafe import clean_text
from conftest import run_cli

KEY = b"0123456789abcdef-site-key"


def _report(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    key = tmp_path / "key"
    key.write_bytes(KEY)
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "remote", "--root", str(root), "-q", "-o", str(out), "--sign-key", str(key))
    assert res.returncode == 0, res.stderr
    return out, key


def test_the_report_is_written_in_the_new_layout_and_both_layouts_verify(tmp_path):
    out, key = _report(tmp_path)
    data = out.read_bytes()
    report = json.loads(data)
    assert data == render(report) != render_indented(report)
    assert data.startswith(b'{\n  "schema_version": ') and data.endswith(b"\n}\n")
    old = tmp_path / "indented.json"  # as every version before this one wrote it
    old.write_bytes(render_indented(report))
    other = tmp_path / "other.json"
    other.write_bytes((json.dumps(report, ensure_ascii=False, indent=4) + "\n").encode("utf-8"))
    for path in (out, old):
        res = run_cli("verify", str(path), "--sign-key", str(key), "--lang", "en")
        assert res.returncode == 0 and "signature valid" in res.stdout, (path.name, res.stdout, res.stderr)
    res = run_cli("verify", str(other), "--sign-key", str(key), "--lang", "en")
    assert res.returncode == 1 and "whitespace or formatting was changed" in res.stderr


def test_the_layout_indents_the_outer_levels_and_writes_the_rest_on_one_line():
    report = {"a": 1, "findings": [{"id": "x", "evidence": {"sheets": [{"n": 1}], "t": "中文\n\"q\""}}, {}],
              "e": {}, "l": [], "n": None, "f": 0.5, "nan": float("nan"), "t": ("x", 2), "k": {3: "int key"}}
    text = render(report).decode("utf-8")
    assert text.splitlines()[:8] == ['{', '  "a": 1,', '  "findings": [', '    {', '      "id": "x",',
                                     '      "evidence": {"sheets": [{"n": 1}], "t": "中文\\n\\"q\\""}', '    },',
                                     '    {}']
    assert INDENTED_LEVELS == 3
    back = json.loads(text)
    assert back == json.loads(json.dumps(report))  # the same content as json writes it (NaN, tuples, int keys)
    assert '"k": {"3": "int key"}' in text


values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(alphabet="0123456789１３８ -_.\n\u200b\u3000abcdefX张三王小明/\\\"", max_size=40),
              st.sampled_from(["13812345678", "138-1234-5678", "张三13812345678.csv", "110105194912310021",
                               "3b3ad1e00b7ede7c5cc828abb2ee0fc922a7bd7a68b48fee771fa0592e373e96",
                               "13812345678abcdef0123", "138******78"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(st.sampled_from(["path_hex", "sha256", "name", "13812345678", "k"]),
                                            inner, max_size=4)),
    max_leaves=12)


def _spec(value, key=""):
    """What scrub must give: mask_pi of every string but the hex digests and a path_hex it leaves alone."""
    if isinstance(value, str):
        if leakguard._HEX.fullmatch(value) and (len(value) in leakguard._DIGEST_LENGTHS or key == "path_hex"):
            return value
        return mask_pi(value)
    if isinstance(value, dict):
        return {_spec(k): _spec(v, k if isinstance(k, str) else "") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_spec(v, key) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(values, values)
def test_scrub_is_mask_pi_on_every_string_whatever_it_saw_before(first, value):
    scrub(first)  # whatever strings it found clean before
    assert scrub(value) == _spec(value)
    assert scrub(value) == _spec(value)  # and again, each clean string known by now


shown_values = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(alphabet="0123456789张三/\udc81\udcb7\ud800x", max_size=30),
              st.sampled_from(["13812345678\udc81.csv", "\udcd5\udcc5\udcc8\udcfd13812345678", "abc\udc81"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                            st.dictionaries(st.sampled_from(["path_hex", "name", "\udc81k", "k"]), inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(shown_values)
def test_scrub_shown_is_clean_text_then_scrub_in_one_walk(value):
    # what a finding and the report carry: undecodable file-name bytes (lone surrogates) as \xNN, then masked
    assert scrub_shown(value) == scrub(clean_text(value))
    json.dumps(scrub_shown(value), ensure_ascii=False).encode("utf-8")  # valid text all through


def test_the_report_guard_keeps_members_checked_already_and_checks_the_rest_in_their_order():
    findings = [{"path": "already checked"}]
    report = {"a": "张三 13812345678", "findings": findings, "13912345678": ["\udc81x"], "z": 1}
    leakguard.guard_report(report, checked=("findings",))
    assert list(report) == ["a", "findings", "139******78", "z"]
    assert report["a"] == "张* 138******78" and report["findings"] is findings
    assert report["139******78"] == ["\\x81x"]  # undecodable bytes as \xNN, as everywhere in a report
    assert leakguard.guard_report({"findings": [{"m": "13812345678"}]})["findings"] == [{"m": "138******78"}]


def test_a_string_left_alone_as_a_path_hex_is_masked_elsewhere():
    raw = "13812345678abcdef0123"  # hex of no digest length: left alone only as a path_hex
    assert scrub({"path_hex": raw}) == {"path_hex": raw}
    assert scrub({"name": raw}) == {"name": "138******78abcdef0123"}
    assert scrub([raw]) == ["138******78abcdef0123"]


def test_the_clean_strings_kept_are_bounded_and_never_personal_data(monkeypatch):
    monkeypatch.setattr(leakguard, "_CLEAN_MAX", 8)
    leakguard._CLEAN.clear()
    scrub([f"订单{i:05d}" for i in range(20)] + ["张三13812345678"])
    assert 0 < len(leakguard._CLEAN) <= 8
    assert not any("13812345678" in s for s in leakguard._CLEAN)


def test_strings_found_clean_are_checked_again_under_other_rules(monkeypatch):
    """A string found clean by one set of rules is not taken as clean by another (a site's pack read again)."""
    from auditor.pii import rules as pii_rules

    text = "工单 19912345678"  # a mobile only where 199 is a mobile prefix
    strict = dataclasses.replace(pii_rules.load_rules(), mobile_full=re.compile(r"1[3-8]\d{9}"))
    monkeypatch.setattr(leakguard, "_rules", lambda: strict)
    assert scrub([text]) == [text] and text in leakguard._CLEAN
    monkeypatch.setattr(leakguard, "_rules", pii_rules.load_rules)
    assert scrub([text]) == ["工单 199******78"]
