"""Property tests of every parser that reads outside input (hypothesis).

The writer of the input is hostile: a user who plants a file the scan reads, an HR clerk's broken export, a
tampered regedit export or task file. Whatever the bytes, each parser returns a value of its documented type
or raises its documented error (UsageError, UnreadableTable, ParseError, BadDate …): never another exception,
never a hang (a deadline per example, inputs of several hundred KB, and large crafted inputs timed in a child
process), never memory out of proportion to the input (the child's peak RSS; tracemalloc for the XML bombs). Inputs are arbitrary bytes, arbitrary text in the encodings
Chinese office PCs write (UTF-8, GBK, UTF-16 LE with BOM), and structured mutations of valid inputs (the
recorded Windows outputs in tests/fixtures/windows and the generators of tests/exportgen.py and
tests/accounts_helpers.py): truncated, duplicated, swapped, NULs inserted, huge fields, deep nesting.

Failure messages show inputs by size and digest only (``Sample``), and an unexpected exception by its type
and place, never by its message: the generated rows hold (synthetic) people.

Budget: the whole file runs in well under a minute here; ``HYPOTHESIS_PROFILE=ci`` multiplies the examples.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import sys
import tempfile
import time
import tracemalloc
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

TESTS = Path(__file__).resolve().parent.parent
FIXTURES = TESTS / "fixtures" / "windows"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import accounts_helpers as ah  # noqa: E402
import exportgen  # noqa: E402
import hostilekit  # noqa: E402
from clirun import run_in_process  # noqa: E402

from auditor import packs  # noqa: E402
from auditor.accounts import net_user  # noqa: E402
from auditor.accounts.dates import BadDate, parse_day, parse_when  # noqa: E402
from auditor.accounts.inputs import Inputs, load_inputs  # noqa: E402
from auditor.accounts.records import OsAccount  # noqa: E402
from auditor.adapters.regfile import RegFile  # noqa: E402
from auditor.scan.pipeline import read_registry_exports  # noqa: E402
from auditor.adapters.schtasks import parse_schtasks_csv  # noqa: E402
from auditor.allowlist import Approval, load_allowlist  # noqa: E402
from auditor.remote.win_files import parse_task_xml  # noqa: E402
from auditor.errors import UsageError  # noqa: E402
from auditor.pii.rules import load_rules  # noqa: E402
from auditor.files.table_scan import TableAnalyzer, TableResult  # noqa: E402
from auditor.core.model import Coverage  # noqa: E402
from auditor.tabular import UnreadableTable, iter_sheets  # noqa: E402
from auditor.textcodec import decode_console, decode_text  # noqa: E402

# --------------------------------------------------------------------------- budget

SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 1
DEADLINE = dt.timedelta(seconds=20)  # per example: a hang guard, not a timing target (an honest example takes well
#                                     under 1 s alone, 6 s was seen on 2 cores shared by a parallel run and other work)


def budget(examples: int, deadline: dt.timedelta | None = DEADLINE):
    """Settings of one property: ``examples`` (times 10 with HYPOTHESIS_PROFILE=ci), a deadline, no example
    database written into the worktree, and the failing example's blob printed so it can be replayed."""
    return settings(max_examples=examples * SCALE, deadline=deadline, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture, HealthCheck.large_base_example])


class Sample:
    """An input shown in failure messages by size and digest only, never by content."""

    def __init__(self, data: bytes | str) -> None:
        self.data = data

    def __repr__(self) -> str:
        raw = self.data.encode("utf-8", "surrogatepass") if isinstance(self.data, str) else self.data
        return f"Sample({type(self.data).__name__}, {len(self.data)} long, sha256 {hashlib.sha256(raw).hexdigest()[:16]})"


def call(fn, *args, allowed: tuple[type[BaseException], ...] = (), what: str = ""):
    """``fn(*args)``; a documented error is returned, anything else fails the test naming only the exception
    type and where it was raised (its message may quote the hostile input)."""
    try:
        return fn(*args)
    except allowed as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - this is what the property is about
        frames = traceback.extract_tb(exc.__traceback__)
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames[-3:]))
        raise AssertionError(f"{what or fn.__name__} raised {type(exc).__name__} at {where}; "
                             f"documented: {', '.join(e.__name__ for e in allowed) or 'nothing'}") from None


def peak_memory(fn, *args, allowed: tuple[type[BaseException], ...] = ()) -> tuple[object, int]:
    """(result, peak bytes allocated by Python while it ran)."""
    tracemalloc.start()
    try:
        result = call(fn, *args, allowed=allowed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


_CHILD = r"""
import json, sys, time
sys.path[:0] = json.loads(sys.argv[1])


def status(field):  # kB of this process (VmRSS, VmHWM): its own, where ru_maxrss counts the parent's too
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


ns = {}
exec(sys.argv[2], ns)
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # the high-water mark starts again from here
except OSError:
    pass
before = status("VmRSS")
start = time.process_time()
exec(sys.argv[3], ns)
took = time.process_time() - start  # CPU seconds of this child: a quadratic parser shows, a loaded machine does not
print(json.dumps({"s": took, "mb": (status("VmHWM") - before) / 1024, "out": str(ns.get("out"))[:200]}))
"""


def in_child(setup: str, body: str, timeout: float = 60) -> dict:
    """Run ``body`` (after ``setup``) in a fresh interpreter: its CPU time, how far its peak RSS rose above the RSS
    before it in MB (C allocations included, unlike tracemalloc) and ``str(out)``. A run past ``timeout``
    fails as hung."""
    import subprocess

    try:
        res = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([str(TESTS.parent), str(TESTS)]), setup, body],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung: no result within {timeout:.0f} s")
    assert res.returncode == 0, res.stderr[-1500:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def one_line(message: str) -> bool:
    return "\n" not in message and "\r" not in message and len(message) < 2000


# --------------------------------------------------------------------------- inputs

def utf16(text: str) -> bytes:
    return b"\xff\xfe" + text.encode("utf-16-le", "surrogatepass")


ENCODERS = {
    "utf-8": lambda t: t.encode("utf-8", "surrogateescape"),
    "gbk": lambda t: t.encode("gbk", "replace"),
    "utf-16": utf16,
}
encoding_names = st.sampled_from(sorted(ENCODERS))

# text with the characters hostile inputs use: CJK, controls, bidi overrides, quotes, separators, NUL
odd_tokens = st.sampled_from(list("\x00\x1b\r\n\t\u202e\u2028\ufeff\ufffd\"',;|\\[]{}()（）【】<>=*#@ 　") +
                            ["张", "三", "年", "月", "日", "时", "分", "上午", "下午", "é", "ß", "\U0001f600"])
hostile_text = st.lists(st.one_of(st.characters(codec="utf-8"), odd_tokens), max_size=120).map("".join)


@st.composite
def encoded_text(draw, text=hostile_text) -> Sample:
    return Sample(ENCODERS[draw(encoding_names)](draw(text)))


raw_bytes = st.binary(max_size=2000).map(Sample)

OPS = ("truncate", "duplicate", "swap", "nul", "huge", "nest", "byte", "delete")


@st.composite
def mutated(draw, seeds: list[bytes], huge: tuple[bytes, ...] = (b"A",), nest: tuple[bytes, bytes] = (b"(", b")"),
            max_ops: int = 4) -> Sample:
    """One of ``seeds`` after one to ``max_ops`` structural mutations."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(OPS))
        n = len(data)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, n))
        if op == "truncate":
            del data[i:]
        elif op == "duplicate":
            k = draw(st.integers(0, n))
            data[k:k] = data[i:j] * draw(st.sampled_from((1, 2, 50)))
        elif op == "swap" and n > 1:
            k = draw(st.integers(0, n - 1))
            i = min(i, n - 1)
            data[i], data[k] = data[k], data[i]
        elif op == "nul":
            data[i:i] = b"\x00" * draw(st.integers(1, 9))
        elif op == "huge":
            data[i:i] = draw(st.sampled_from(huge)) * draw(st.sampled_from((300, 5_000, 100_000)))
        elif op == "nest":
            depth = draw(st.sampled_from((50, 2_000, 40_000)))
            data[i:i] = nest[0] * depth + nest[1] * depth
        elif op == "byte":
            data[i:i + 1] = bytes([draw(st.integers(0, 255))])
        elif op == "delete":
            del data[i:j]
    return Sample(bytes(data))


def fixture_bytes(pattern: str) -> list[bytes]:
    found = sorted(p for p in FIXTURES.rglob(pattern) if p.is_file())
    assert found, pattern
    return [p.read_bytes() for p in found]


# =========================================================================== dates (accounts/dates.py)

date_alphabet = st.sampled_from(list("0123456789０１２-/.: Tt+年月日时分秒點点,") +
                                ["上午", "下午", "AM", "PM", "am", "pm", "Z", "UTC", " ", "\t", "\u3000", "从未登录"])
date_like = st.lists(date_alphabet, max_size=40).map("".join)


def _check_date(value) -> None:
    out = call(parse_when, value, allowed=(BadDate,))
    assert out is None or isinstance(out, (dt.datetime, BadDate))
    if isinstance(out, dt.datetime):
        assert out.tzinfo is None
    day = call(parse_day, value, allowed=(BadDate,))
    assert day is None or isinstance(day, (dt.date, BadDate))


@budget(300)
@given(st.one_of(date_like, hostile_text, st.integers(-10**20, 10**20).map(str),
                 st.floats(allow_nan=True).map(str)))
def test_dates_any_text_gives_a_naive_datetime_none_or_baddate(text):
    _check_date(text)


DATE_STARTS = ["2024-3-5", "3/5/2024", "2024年3月5日", "20240305", "45356", "1709600000", ""]
DATE_FILLERS = [" ", "\t", "\u3000", " t", "t", "上午 ", "0", ":", "1:", "日", "+08:00", "\xa0"]
DATE_TAILS = ["", "x", "9", "时", "pm", "：0"]


def test_dates_long_cells_are_refused_quickly():
    """A cell that repeats what a date may hold (spaces, digits, 上午 …) never takes regex time out of
    proportion: every start, filler and tail, at 200 and 3,000 repetitions (3,000 spaces took the patterns
    longer than a minute: their white-space runs overlapped), well under a second in all."""
    start = time.monotonic()
    for head in DATE_STARTS:
        for filler in DATE_FILLERS:
            for tail in DATE_TAILS:
                for n in (200, 3_000):
                    _check_date(head + filler * n + tail)
                    _check_date(head + filler * 20 + tail)  # short enough to be read as a date
    took = time.monotonic() - start
    assert took < 5, f"{took:.1f} s"


@budget(150)
@given(st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)),
       st.sampled_from(["iso", "isoT", "slash", "dots", "zh", "us", "compact", "zh_ampm"]))
def test_dates_round_trip_in_every_written_form(when, form):
    hour12 = when.hour % 12 or 12
    text = {
        "iso": when.strftime("%Y-%m-%d %H:%M:%S"),
        "isoT": when.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00",
        "slash": f"{when.year}/{when.month}/{when.day} {when.hour}:{when.minute:02d}:{when.second:02d}",
        "dots": f"{when.year}.{when.month}.{when.day} {when.hour}:{when.minute:02d}:{when.second:02d}",
        "zh": f"{when.year}年{when.month}月{when.day}日 {when.hour}时{when.minute}分{when.second}秒",
        "us": f"{when.month}/{when.day}/{when.year} {hour12}:{when.minute:02d}:{when.second:02d} "
              f"{'AM' if when.hour < 12 else 'PM'}",
        "compact": when.strftime("%Y%m%d%H%M%S"),
        "zh_ampm": f"{when.year}/{when.month}/{when.day} {'上午' if when.hour < 12 else '下午'} "
                   f"{hour12}:{when.minute:02d}:{when.second:02d}",
    }[form]
    assert parse_when(text) == when, form


# =========================================================================== .reg exports (adapters/regfile.py)

REG_SEEDS = fixture_bytes("*.reg")
REG_HUGE = (b"\\\r\n", b"[", b"\"", b"00,", b"hex(7):", b"\\", b"[-HKEY_LOCAL_MACHINE\\A]\r\n",
            b"[HKEY_CURRENT_USER\\a\\b]\r\n", b"\"v\"=-\r\n")
REG_VALUE_TYPES = (str, int, list, bytes)


def _check_reg(reg) -> None:
    assert isinstance(reg, RegFile)
    assert all(isinstance(n, int) and isinstance(why, str) for n, why in reg.problems)
    assert len(reg.problems) <= 1001, "problems must be bounded"
    for key in ("HKLM", "HKLM\\SOFTWARE", "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
                "HKEY_USERS", "", "\\\\", "HKLM\\" + "a\\" * 50, "BOGUS\\x"):
        subs = call(reg.subkeys, key)
        vals = call(reg.values, key)
        assert subs is None or all(isinstance(s, str) for s in subs)
        assert vals is None or all(isinstance(k, str) and isinstance(v, REG_VALUE_TYPES) for k, v in vals.items())


@budget(60)
@given(st.one_of(raw_bytes, encoded_text(), mutated(REG_SEEDS, huge=REG_HUGE, nest=(b"[", b"]"))))
def test_regfile_any_bytes_parse_to_a_registry_view(sample):
    text = call(decode_text, sample.data)
    assert isinstance(text, str)
    _check_reg(call(RegFile.from_text, text))


@budget(30)
@given(mutated(REG_SEEDS, huge=REG_HUGE, nest=(b"[", b"]"), max_ops=2))
def test_regfile_reading_a_hostile_export_gives_a_view_or_says_why(sample):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.reg"
        path.write_bytes(sample.data)
        out = call(read_registry_exports, [path], allowed=(UsageError,))
        if isinstance(out, UsageError):
            assert one_line(str(out)) and "export.reg" in str(out)
        else:
            _check_reg(out)


@pytest.mark.parametrize("body", [
    b"\"x\"=hex:" + b"01,\\\r\n" * 400_000,  # one value continued over 400,000 lines
    b"\"y\"=hex:01" + b"\\\r\n\r\n" * 400_000,  # a backslash, an empty line, 400,000 times
    b"".join(b"[HKEY_LOCAL_MACHINE\\A\\%d]\r\n" % i for i in range(30_000)) +
    b"[-HKEY_LOCAL_MACHINE\\B]\r\n" * 30_000,  # many keys, many deletions
    b"[HKEY_LOCAL_MACHINE\\" + b"k\\" * 200_000 + b"]\r\n" * 20,  # keys 200,000 levels deep
    b"!bad line\r\n" * 300_000,  # 300,000 problems
    b"\"z\"=hex:" + b"0," * 2_000_000 + b"\r\n",  # one value of 2,000,000 one-digit bytes
], ids=["continued", "empty-continuations", "deletions", "deep", "problems", "long-value"])
@pytest.mark.slow
def test_regfile_large_exports_stay_linear_and_bounded(body, tmp_path):
    data = utf16("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\A]\r\n" +
                 body.decode("ascii"))
    path = tmp_path / "big.reg"
    path.write_bytes(data)
    run = in_child("from auditor.scan.pipeline import read_registry_exports",
                   f"out = len(read_registry_exports([{str(path)!r}]).problems)")
    assert run["s"] < 10, f"{run['s']:.1f} CPU s for {len(data) >> 10} KiB"
    assert run["mb"] < 6 * len(data) / 2**20 + 32, f"{run['mb']:.0f} MB more for {len(data) >> 20} MiB"
    assert int(run["out"]) <= 1001


# =========================================================================== schtasks /query /fo csv /v

SCHTASKS_SEEDS = fixture_bytes("schtasks_*.csv")


def _check_tasks(tasks) -> None:
    assert isinstance(tasks, list)
    seen = set()
    for t in tasks:
        assert isinstance(t, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in t.items())
        assert t["enabled"] in ("yes", "no") and t["command"] and "name" in t
        assert (t["name"], t["command"]) not in seen
        seen.add((t["name"], t["command"]))


@budget(80)
@given(st.one_of(raw_bytes, encoded_text(), mutated(SCHTASKS_SEEDS, huge=(b'","', b'"', b"\r\n", b","))))
def test_schtasks_any_console_output_gives_a_task_list(sample):
    text = call(decode_console, sample.data)
    assert isinstance(text, str)
    _check_tasks(call(parse_schtasks_csv, text))


task_field = st.text(st.characters(codec="utf-8", exclude_characters='"\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029'),
                     min_size=1, max_size=40).filter(lambda s: s.strip() and s.strip() == s)


@budget(60)
@given(st.lists(st.tuples(task_field, task_field, st.booleans()), max_size=8, unique_by=lambda t: (t[0], t[1])),
       st.booleans())
def test_schtasks_round_trip(tasks, chinese):
    """What schtasks prints (English, or Chinese in the GBK console code page) reads back as the same tasks."""
    assume(all(c not in ("N/A", "COM 处理程序", "COM handler") for _, c, _ in tasks))
    header = ("主机名", "任务名", "要运行的任务", "计划任务状态") if chinese else \
        ("HostName", "TaskName", "Task To Run", "Scheduled Task State")
    off = "已禁用" if chinese else "Disabled"
    lines = ['"' + '","'.join(header) + '"']
    for name, command, enabled in tasks:
        lines.append('"' + '","'.join(("PC", name, command, "就绪" if enabled else off)) + '"')
    text = "\r\n".join(lines)
    if chinese:
        try:
            data = text.encode("gbk")
        except UnicodeEncodeError:
            assume(False)
        assume(not _is_utf8(data))  # a GBK console text that happens to be valid UTF-8 is read as UTF-8
    else:
        data = text.encode("utf-8")
    parsed = parse_schtasks_csv(decode_console(data))
    assert [(t["name"], t["command"], t["enabled"] == "yes") for t in parsed] == tasks


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# =========================================================================== Task Scheduler XML

TASK_SEEDS = fixture_bytes("tasks/**/*") + [utf16(
    '<?xml version="1.0" encoding="UTF-16"?>\r\n<Task xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">'
    '<Settings><Enabled>true</Enabled></Settings><Actions><Exec><Command>C:\\a.exe</Command>'
    '<Arguments>--x</Arguments></Exec></Actions></Task>')]
BOMBS = [
    b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "' + b"x" * 1000 + b'">' +
    b"".join(b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(8)) +
    b']><Task><Actions><Exec><Command>&i;</Command></Exec></Actions></Task>',
    b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY e SYSTEM "file:///etc/passwd">]><Task><Exec><Command>&e;'
    b'</Command></Exec></Task>',
    b'<?xml version="1.0" encoding="x-unknown"?><Task/>',
    b'<?xml version="1.0" encoding="gbk"?><Task/>',
    b'<?xml version="1.0" encoding="utf-7"?><Task/>',
    b"<Task>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Task>",
]


def _check_task(out) -> None:
    assert isinstance(out, (tuple, ET.ParseError))
    if isinstance(out, tuple):
        commands, enabled = out
        assert isinstance(enabled, bool) and all(isinstance(c, str) and c for c in commands)


@budget(80)
@given(st.one_of(raw_bytes, encoded_text(), st.sampled_from(BOMBS).map(Sample),
                 mutated(TASK_SEEDS + BOMBS[:2], huge=(b"<Exec>", b"&a;", b"<", b"\x00"),
                         nest=(b"<a>", b"</a>"))))
def test_task_xml_any_bytes_give_commands_or_parse_error(sample):
    _check_task(call(parse_task_xml, sample.data, allowed=(ET.ParseError,)))


@pytest.mark.parametrize("bomb", BOMBS, ids=["laughs", "external", "unknown-enc", "gbk-decl", "utf7", "deep"])
def test_task_xml_bombs_and_odd_declarations_are_parse_errors_in_bounded_memory(bomb):
    out, peak = peak_memory(parse_task_xml, bomb, allowed=(ET.ParseError,))
    _check_task(out)
    assert peak < 64 << 20
    if isinstance(out, tuple):
        assert not any("root:" in c or "xxxxxxxxxx" in c for c in out[0]), "entities must not be expanded"


xml_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and s)


@budget(60)
@given(st.lists(st.tuples(xml_text, st.one_of(st.just(""), xml_text)), max_size=5), st.booleans(),
       st.sampled_from(["utf-16", "utf-8"]))
def test_task_xml_round_trip(actions, enabled, encoding):
    from xml.sax.saxutils import escape

    body = "".join(f"<Exec><Command>{escape(c)}</Command><Arguments>{escape(a)}</Arguments></Exec>"
                   for c, a in actions)
    text = (f'<?xml version="1.0" encoding="{encoding.upper()}"?>\r\n'
            '<Task xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">'
            f"<Settings><Enabled>{str(enabled).lower()}</Enabled></Settings><Actions>{body}</Actions></Task>")
    data = utf16(text) if encoding == "utf-16" else text.encode("utf-8")
    assume(all(ch not in c + a for c, a in actions for ch in "\ufffe\uffff"))
    commands, on = parse_task_xml(data)
    assert on is enabled
    assert commands == [f"{c} {a}".strip() for c, a in actions]


# =========================================================================== net user

NET_SEEDS = fixture_bytes("net_user_*.txt")


@budget(100)
@given(st.one_of(raw_bytes, encoded_text(), mutated(NET_SEEDS, huge=(b" ", b"*", b"-----", b"\r\n  ", b"  x"))))
def test_net_user_any_console_output_gives_names_and_an_account(sample):
    text = call(decode_console, sample.data)
    names = call(net_user.parse_list, text)
    assert isinstance(names, list) and all(isinstance(n, str) and n.strip() == n and n for n in names)
    user = call(net_user.parse_detail, text)
    assert isinstance(user, net_user.NetUser)
    acc = call(net_user.to_account, user, dt.date(2025, 6, 30), "net user x")
    assert isinstance(acc, OsAccount)
    assert acc.enabled in (True, False, None) and acc.password_required in (True, False, None)
    assert all(isinstance(p, str) and len(p) < 400 for p in acc.problems), "problems quote a bounded excerpt"
    for when in (acc.last_login, acc.password_set, acc.account_expires, acc.password_expires):
        assert when is None or isinstance(when, dt.date)


@pytest.mark.parametrize("make", [
    "'User name                    x\\r\\nLocal Group Memberships      *Users\\r\\n' + '    *G\\r\\n' * 400_000",
    "'User name                    x\\r\\nLast logon                   2024/3/5' + ' ' * 200_000 + 'x\\r\\n'",
    "'-----\\r\\n' + 'a                        b\\r\\n' * 200_000",
], ids=["continued-groups", "spaced-date", "long-list"])
@pytest.mark.slow
def test_net_user_large_outputs_stay_linear(make, request):
    """400,000 continuation lines, a date padded with 200,000 spaces, a list of 400,000 names: each parsed in
    time and memory in proportion to the text (the group list was joined again for every line)."""
    run = in_child(f"from auditor.accounts import net_user; import datetime as dt; text = {make}",
                   "acc = net_user.to_account(net_user.parse_detail(text), dt.date(2025, 6, 30), 'x')\n"
                   "out = (len(net_user.parse_list(text)), acc.name, len(acc.groups), acc.problems)")
    assert run["s"] < 10, f"{run['s']:.1f} CPU s"
    assert run["mb"] < 64, f"{run['mb']:.0f} MB for a text of a few MB"
    assert run["out"].startswith({"continued-groups": "(0, 'x', 400001, [])",
                                  "spaced-date": "(0, 'x', 0, [\"last_logon: '2024/3/5 ",
                                  "long-list": "(400000, '', 0, [])"}[request.node.callspec.id])
    assert len(run["out"]) < 200, "a problem quotes a bounded excerpt"


label_value = st.tuples(st.sampled_from(sorted({lab for labs in net_user.LABELS.values() for lab in labs})),
                        st.one_of(date_like, st.sampled_from(["Yes", "No", "是", "否", "Never", "从不", "*Users",
                                                              "*Administrators *Users"]), hostile_text))


@budget(80)
@given(st.lists(label_value, max_size=12))
def test_net_user_detail_from_labels_and_values(pairs):
    text = "\r\n".join(f"{label:<29}{value}" for label, value in pairs) + "\r\nThe command completed successfully.\r\n"
    acc = call(net_user.to_account, net_user.parse_detail(text), dt.date(2025, 6, 30), "net user x")
    assert isinstance(acc, OsAccount)


# =========================================================================== the allowlist (allowlist.py)

TOOLS = packs.catalog()


def _toml(value) -> str:
    """A TOML literal for a Python value (strings through JSON escapes, which TOML shares)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if not isinstance(value, float) or value == value else "nan"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml(v)}"
                               for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


scalar = st.one_of(hostile_text, st.integers(-2**70, 2**70), st.floats(), st.booleans(), st.dates(), st.datetimes(),
                   st.times(), st.sampled_from(["todesk", "sunlogin", "frp", "2026-12-31", "*", "", " "]))
toml_value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.sampled_from(["a", "tool", "b"]), inner,
                                                                            max_size=3)), max_leaves=10)
entry_keys = st.sampled_from(["tool", "hosts", "host", "approver", "reason", "expires", "ticket", "extra", "Tool"])
VALID_ENTRY = {"tool": "todesk", "hosts": ["WH-*", "PRINT-03"], "approver": "李主管 (IT)", "reason": "打印机厂商远程维护",
               "expires": dt.date(2026, 12, 31), "ticket": "IT-2026-118"}


@st.composite
def allowlist_text(draw) -> Sample:
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        entry = dict(VALID_ENTRY)
        for key in draw(st.lists(entry_keys, max_size=3)):
            if draw(st.booleans()):
                entry[key] = draw(toml_value)
            else:
                entry.pop(key, None)
        lines.append(draw(st.sampled_from(["[[approved]]", "[[ approved ]]  # entry", "[approved]", "[[other]]"])))
        lines += [f"{json.dumps(k, ensure_ascii=False) if draw(st.booleans()) else k} = {_toml(v)}"
                  for k, v in entry.items() if k.isidentifier() or draw(st.booleans())]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from([
            "approved = 5", 'approved = ["x"]', "approved = [{tool = 1}]", "title = 'x'",
            "deep = " + "[" * 3000 + "]" * 3000, "deep = " + "{a = " * 600 + "1" + "}" * 600,
            '"a\\nb" = 1', "x = '" + "长" * 50_000 + "'"])))
    return Sample("\n".join(lines).encode("utf-8", "surrogateescape"))


VALID_ALLOWLIST = ("[[approved]]\ntool = \"todesk\"\nhosts = [\"WH-*\"]\napprover = \"李主管\"\nreason = \"维护\"\n"
                   "expires = 2026-12-31\nticket = \"IT-1\"\n").encode()


def _check_allowlist(out, name: str) -> None:
    if isinstance(out, UsageError):
        message = str(out)
        assert one_line(message), "one line"
        assert name in message, "names the file"
        return
    assert isinstance(out, list)
    for a in out:
        assert isinstance(a, Approval) and a.tool in TOOLS
        assert a.hosts and all(isinstance(h, str) and h for h in a.hosts)
        assert isinstance(a.approver, str) and a.approver and isinstance(a.reason, str) and a.reason
        assert type(a.expires) is dt.date and (a.ticket is None or isinstance(a.ticket, str))
        assert isinstance(a.applies_to("WH-HZ-01"), bool)
        json.dumps(a.to_dict(dt.date(2026, 1, 1)))


def _load_allowlist(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "allow.toml"
        path.write_bytes(data)
        return call(load_allowlist, path, TOOLS, allowed=(UsageError,))


@budget(150)
@given(st.one_of(allowlist_text(), raw_bytes, encoded_text(),
                 mutated([VALID_ALLOWLIST], huge=(b"[", b"{a=", b'"', b"\\", b"\n", b"="), nest=(b"[", b"]"))))
def test_allowlist_any_file_gives_approvals_or_one_usage_line(sample):
    _check_allowlist(_load_allowlist(sample.data), "allow.toml")


def test_allowlist_valid_entry_still_loads():
    out = _load_allowlist(VALID_ALLOWLIST)
    assert [(a.tool, a.hosts, a.ticket) for a in out] == [("todesk", ("WH-*",), "IT-1")]


# =========================================================================== account input files (accounts/inputs.py)

MAP_HEADER = ["子账号", "工号", "姓名", "平台"]
MAP_ROWS = [["云仓旗舰店:张伟", "E001", "张伟", "淘宝"], ["pdd_kefu01", "E002", "王芳", "拼多多"]]
ACCOUNT_INPUTS = {
    "roster": (ah.ROSTER_HEADER, ah.ROSTER),
    "subaccounts": (ah.SUB_HEADER, ah.SUBACCOUNTS),
    "logins": (ah.LOGIN_HEADER, ah.LOGINS),
    "account_map": (MAP_HEADER, MAP_ROWS),
}
hostile_cell = st.one_of(
    hostile_text, date_like,
    st.sampled_from(["(" * 30_000, "（" * 30_000 + "\n", "2025-06-30" + " " * 30_000 + "x", "=HYPERLINK(\"x\")",
                     "\x00", "从未登录", "离职", "启用", "停用", "导出订单", "1e400", "99999999999999999999",
                     "-", "nan", "NaT", "E001", "云仓旗舰店:张伟", "张伟/王芳", "9" * 5000]),
    st.integers(-10**6, 10**6).map(str))


@st.composite
def account_table(draw, kind: str) -> list[list[str]]:
    header, rows = ACCOUNT_INPUTS[kind]
    table = [list(header)] + [[str(c) for c in r] for r in rows]
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["cell", "cell", "header", "dup", "drop_col", "wide", "title", "short", "empty"]))
        r = draw(st.integers(0, len(table) - 1))
        if op in ("cell", "header"):
            row = table[0 if op == "header" else r]
            if row:
                row[draw(st.integers(0, len(row) - 1))] = draw(hostile_cell)
        elif op == "dup":
            table.insert(draw(st.integers(0, len(table))), list(table[r]))
        elif op == "drop_col" and table[0]:
            c = draw(st.integers(0, len(table[0]) - 1))
            for row in table:
                del row[c:c + 1]
        elif op == "wide":
            table[r] = table[r] + [draw(st.sampled_from(["", "x", "工号", "状态"]))] * draw(
                st.sampled_from((10, 3000)))
        elif op == "title":
            table.insert(0, [draw(hostile_cell)])
        elif op == "short":
            table[r] = table[r][:draw(st.integers(0, 2))]
        elif op == "empty":
            table.insert(r, [])
    return table


def _csv_bytes(table: list[list[str]], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(table)
    return ENCODERS[encoding](buf.getvalue())


def _xlsx_bytes(table: list[list[str]]) -> bytes:
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in table:
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", c)[:32_000] for c in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@st.composite
def account_file(draw) -> tuple[str, str, Sample]:
    kind = draw(st.sampled_from(sorted(ACCOUNT_INPUTS)))
    table = draw(account_table(kind))
    form = draw(st.sampled_from(["csv", "csv", "csv", "bytes", "xlsx"]))
    if form == "xlsx":
        return kind, ".xlsx", Sample(_xlsx_bytes(table))
    data = _csv_bytes(table, draw(encoding_names))
    if form == "bytes":
        data = draw(mutated([data], huge=(b"\x00", b'"', b"\r\n", b",", b"(", b" "), max_ops=2)).data
    return kind, draw(st.sampled_from([".csv", ".txt", ".tsv"])), Sample(data)


def _load_account_file(kind: str, ext: str, data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input-{kind}{ext}"
        path.write_bytes(data)
        args = {"roster": None, "subaccounts": [], "logins": [], "account_map": None}
        args[kind] = path if kind in ("roster", "account_map") else [path]
        cov = Coverage()
        out = call(load_inputs, args["roster"], args["subaccounts"], args["logins"], args["account_map"], {}, cov,
                   allowed=(UsageError,))
        return out, cov, path.name


def _check_inputs(out, cov, name: str) -> None:
    if isinstance(out, UsageError):
        message = str(out)
        assert one_line(message) and name in message, "one line naming the file"
        return
    assert isinstance(out, Inputs)
    for f in out.files:
        assert all(isinstance(r.get("row"), int) for r in f.records)
    for entry in cov.entries:
        assert len(entry.skipped) <= 202, "skips are bounded per file (200, a count of the rest, one for duplicates)"
        for item in entry.skipped:
            text = json.dumps(item, ensure_ascii=False, default=str)
            assert len(text) < 1000, "a skip quotes a bounded excerpt of its cell"


@budget(60)
@given(account_file())
def test_account_inputs_any_file_gives_records_or_one_usage_line(case):
    kind, ext, sample = case
    out, cov, name = _load_account_file(kind, ext, sample.data)
    _check_inputs(out, cov, name)


@budget(40)
@given(st.sampled_from(sorted(ACCOUNT_INPUTS)), st.one_of(raw_bytes, encoded_text()),
       st.sampled_from([".csv", ".xlsx", ".xls", ".ods", ".txt"]))
def test_account_inputs_arbitrary_bytes(kind, sample, ext):
    out, cov, name = _load_account_file(kind, ext, sample.data)
    _check_inputs(out, cov, name)


@pytest.mark.slow
def test_account_inputs_big_hostile_cells_stay_fast(tmp_path):
    """Cells of brackets, spaces and digits (the patterns' worst cases) in every column of 2,000 rows."""
    header, _ = ACCOUNT_INPUTS["subaccounts"]
    rows = [header] + [["(" * 2_000, "（" * 2_000, "2025-06-30" + " " * 2_000 + "x", "启用" + " " * 2_000,
                        "2025" + " " * 2_000 + "x", "9" * 2_000] for _ in range(2_000)]
    path = tmp_path / "subaccounts.csv"
    path.write_bytes(_csv_bytes(rows, "utf-8"))
    start = time.monotonic()
    cov = Coverage()
    out = call(load_inputs, None, [path], [], None, {}, cov, allowed=(UsageError,))
    took = time.monotonic() - start
    _check_inputs(out, cov, path.name)
    assert took < 15, f"{took:.1f} s for {path.stat().st_size >> 20} MiB"


map_key = st.one_of(hostile_text, st.sampled_from(["name", "roster.name", "logins.time", "departure", "x.y.z",
                                                  "ROSTER.EMPLOYEE_ID", "account_map.account", ".", ""]))


@budget(60)
@given(st.dictionaries(map_key, st.one_of(hostile_text, st.sampled_from(["姓名", "工号", "(", ""])), max_size=4))
def test_column_map_any_options_give_a_map_or_one_usage_line(raw):
    """``--map FIELD=COLUMN`` options, whatever they say, with a roster beside them."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.csv"
        path.write_bytes(_csv_bytes([list(ah.ROSTER_HEADER)] + [[str(c) for c in r] for r in ah.ROSTER], "utf-8"))
        out = call(load_inputs, path, [], [], None, raw, Coverage(), allowed=(UsageError,))
    if isinstance(out, UsageError):
        assert one_line(str(out)) and "--map" in str(out)
    else:
        assert isinstance(out, Inputs)


# --------------------------------------------------------------------------- at the CLI (in process, then real runs)

def _main(*argv: str) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as state:
        res = run_in_process(*argv, env={"AUDITOR_STATE_DIR": state})
    return res.returncode, res.stderr


def _check_cli(code: int, err: str, name: str) -> None:
    assert code in (0, 1, 2), f"exit {code}: {err.splitlines()[-1][:120] if err else ''}"
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and name in lines[0], "one line naming the file"


@budget(25)
@given(st.one_of(allowlist_text(), mutated([VALID_ALLOWLIST], huge=(b"[", b"{a=", b'"'), nest=(b"[", b"]"))))
def test_cli_allowlist_hostile_file_is_exit_2_naming_it(sample):
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "root").mkdir()
        path = Path(tmp) / "approved.toml"
        path.write_bytes(sample.data)
        code, err = _main("scan", "--only", "remote", "--root", str(Path(tmp) / "root"), "--allowlist", str(path),
                          "-q", "--fail-on", "none")
        _check_cli(code, err, "approved.toml")


@budget(25)
@given(account_file())
def test_cli_account_input_hostile_file_is_exit_2_naming_it(case):
    kind, ext, sample = case
    option = {"roster": "--roster", "subaccounts": "--subaccounts", "logins": "--logins",
              "account_map": "--account-map"}[kind]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "root").mkdir()
        path = Path(tmp) / f"input{ext}"
        path.write_bytes(sample.data)
        code, err = _main("scan", "--only", "accounts", "--root", str(Path(tmp) / "root"), option, str(path), "-q",
                          "--fail-on", "none")
        _check_cli(code, err, path.name)


CLI_CASES = [
    ("--allowlist", "deep.toml", b"a = " + b"[" * 50_000 + b"]" * 50_000 + b"\n"),
    ("--allowlist", "types.toml", b"[[approved]]\ntool = [\"todesk\"]\napprover = 1\nreason = {}\nexpires = 1\n"),
    ("--allowlist", "table.toml", b"[approved]\ntool = \"todesk\"\n"),
    ("--allowlist", "keys.toml", b"\"a\\nb\\u202e\" = 1\n"),
    ("--roster", "roster.csv", "工号,姓名,状态\n".encode() + b"(" * 200_000 + b",x,\n"),
    ("--logins", "logins.csv", "子账号,登录时间\n".encode() + b"a," + b"2025-01-01" + b" " * 100_000 + b"x\n"),
    ("--subaccounts", "sub.csv", b"\xff\xfe" + "子账号,状态\r\n\x00\ud800".encode("utf-16-le", "surrogatepass")),
    ("--roster", "roster.xlsx", b"PK\x03\x04" + os.urandom(3000)),
]


@pytest.mark.slow
@pytest.mark.parametrize("option, name, data", CLI_CASES, ids=[c[1] for c in CLI_CASES])
def test_cli_real_run_on_hostile_inputs(tmp_path, option, name, data):
    (tmp_path / "root").mkdir()
    path = tmp_path / name
    path.write_bytes(data)
    area = "remote" if option == "--allowlist" else "accounts"
    run = hostilekit.auditor("scan", "--only", area, "--root", str(tmp_path / "root"), option, str(path), "-q",
                             "--fail-on", "none", env=hostilekit.state_env(tmp_path), timeout=60, child=True)
    assert run.code in (0, 2), f"exit {run.code}: {run.stderr[-300:]}"
    if run.code == 2:
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0], run.stderr[:300]
    assert run.peak_rss_mb < hostilekit.limit_memory_mb(), f"{run.peak_rss_mb:.0f} MB"


# =========================================================================== tables (tabular.py, files/table_scan.py)

RULES = load_rules()
UNMASKED_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
TABLE_ERRORS = (UnreadableTable, UnicodeError, ValueError)  # what the files area turns into coverage entries


def _export_csv(seed: int, layout: str, encoding: str, n: int = 12) -> tuple[bytes, int]:
    rows, expected = exportgen.export_rows(random.Random(seed), layout, n)
    return _csv_bytes(rows, encoding), expected


TABLE_SEEDS = [_export_csv(i, layout, enc)[0] for i, (layout, enc) in enumerate(
    [("taobao", "utf-8"), ("pdd", "gbk"), ("idcard", "utf-16"), ("erp", "gbk"), ("english", "utf-8")])] + \
    [_csv_bytes(exportgen.decoy_rows(random.Random(7), "catalog", 20), "utf-8")]


def _xlsx_seed() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        rows, _ = exportgen.export_rows(random.Random(3), "douyin", 10)
        return exportgen.write_xlsx(Path(tmp) / "s.xlsx", {"订单": rows, "空": [["x"]]}).read_bytes()


XLSX_SEEDS = [_xlsx_seed()]


def _tables(ext: str, data: bytes):
    """Every sheet of the file, rows read to the end, then judged: [(name, rows, TableResult)] or the error."""
    def read(path: Path):
        out = []
        for sheet in iter_sheets(path):
            rows = [list(r) for r in sheet.rows]
            out.append((sheet.name, rows, TableAnalyzer(RULES).analyze(iter(rows), sheet.name)))
        return out

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export{ext}"
        path.write_bytes(data)
        return call(read, path, allowed=TABLE_ERRORS, what="iter_sheets + TableAnalyzer.analyze")


def _check_tables(out) -> None:
    if isinstance(out, TABLE_ERRORS):
        return
    for name, rows, res in out:
        assert isinstance(name, str)
        assert all(isinstance(r, list) and all(isinstance(c, str) for c in r) for r in rows)
        assert isinstance(res, TableResult)
        assert 0 <= res.id_rows <= res.records <= res.total_rows <= len(rows)
        assert 0.0 <= res.masked_share <= 1.0
        assert len(res.samples) <= 3
        assert not any(UNMASKED_MOBILE.search(s) for s in res.samples), "samples are masked"


# (the million-column CSV itself is tested by tests/hostile/test_hostile_bounds.py)
TABLE_HUGE = (b'"', b"\r\n", b"\x00", b"1" * 17 + b"X", b"\xa1", b",", b"13812345678,")


@budget(60)
@given(st.one_of(raw_bytes, encoded_text(), mutated(TABLE_SEEDS, huge=TABLE_HUGE, nest=(b'"', b'"'))),
       st.sampled_from([".csv", ".txt", ".tsv"]))
def test_text_tables_any_bytes_give_rows_and_a_sane_judgement(sample, ext):
    _check_tables(_tables(ext, sample.data))


@budget(25)
@given(st.one_of(raw_bytes, mutated(XLSX_SEEDS, huge=(b"\x00", b"PK\x03\x04", b"<c r=\"XFD1\">"), max_ops=2)),
       st.sampled_from([".xlsx", ".xls", ".ods", ".xlsb"]))
def test_workbooks_any_bytes_give_rows_or_unreadable(sample, ext):
    _check_tables(_tables(ext, sample.data))


@budget(40)
@given(st.integers(0, 10**6), st.sampled_from(sorted(exportgen.LAYOUTS)), encoding_names, st.integers(5, 40))
def test_unmutated_exports_count_every_record_in_every_encoding(seed, layout, encoding, n):
    data, expected = _export_csv(seed, layout, encoding, n)
    out = _tables(".csv", data)
    _check_tables(out)
    assert not isinstance(out, Exception)
    assert sum(res.records for _, _, res in out) == expected


# =========================================================================== what the parsers' messages quote

def test_messages_about_a_hostile_file_hold_no_planted_person(tmp_path):
    person = exportgen.person(random.Random(11))
    (tmp_path / "root").mkdir()
    roster = tmp_path / "roster.csv"  # no header at all: the "columns found" are a person's data
    roster.write_bytes(_csv_bytes([[person.mobile, person.id_number, person.name]], "utf-8"))
    code, err = _main("scan", "--only", "accounts", "--root", str(tmp_path / "root"), "--roster", str(roster), "-q")
    assert code == 2
    logins = tmp_path / "logins.csv"  # a mobile where the time should be: "… is not a date" in the coverage
    logins.write_bytes(_csv_bytes([["子账号", "登录时间"], ["a", person.mobile], ["b", person.id_number]], "utf-8"))
    report = tmp_path / "r.json"
    code2, err2 = _main("scan", "--only", "accounts", "--root", str(tmp_path / "root"), "--logins", str(logins), "-q",
                        "--fail-on", "none", "-o", str(report))
    assert code2 == 0, err2[-300:]
    hostilekit.assert_no_leak([person.mobile, person.id_number], report, text=err + err2)


@pytest.mark.parametrize("kind, cells", [
    ("roster", ["E1", "(" * 30_000, "客服部", "在职", "2024-01-01", ""]),
    ("roster", ["1" * 30_000 + "x", "张伟", "客服部", "在职", "2024-01-01", ""]),
    ("subaccounts", ["店铺:" + "1" * 30_000 + "x", "（" * 30_000, "启用", "客服", "", ""]),
    ("logins", ["a" + " " * 30_000 + "b", "2025-06-29 09:01:00", "1.2.3.4", "登录", ""]),
], ids=["name-brackets", "id-digits", "account-digits", "account-spaces"])
def test_cli_identity_cells_of_any_length_are_judged_quickly(tmp_path, kind, cells):
    """A name, id or account cell of 30,000 characters (the joiner's name patterns took seconds per cell) is
    a row ignored with its reason, and the scan goes on."""
    header, rows = ACCOUNT_INPUTS[kind]
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(_csv_bytes([list(header), [str(c) for c in rows[0]], cells], "utf-8"))
    (tmp_path / "root").mkdir()
    report = tmp_path / "r.json"
    option = {"roster": "--roster", "subaccounts": "--subaccounts", "logins": "--logins"}[kind]
    start = time.monotonic()
    code, err = _main("scan", "--only", "accounts", "--root", str(tmp_path / "root"), option, str(path), "-q",
                      "--fail-on", "none", "-o", str(report))
    took = time.monotonic() - start
    assert code == 0, err[-300:]
    assert took < 5, f"{took:.1f} s"
    cov = {c["source"]: c for c in json.loads(report.read_text(encoding="utf-8"))["coverage"]}
    skipped = cov[f"{kind}:{path.name}"]["skipped"]
    assert any("longer than 256 characters" in s["reason"] for s in skipped)
