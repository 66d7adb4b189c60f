"""Every message in the chosen language (issue 20): usage and pack errors, argparse's own messages, `verify` and
`schedule run-now` lines, read as a new user reads them, through the real command line, in Chinese (the default)
and in English; and the message catalog (auditor/messages.toml) walked against the code that raises its keys, so a
message without its Chinese text, or a key the catalog lacks, fails here."""

from __future__ import annotations

import ast
import json
import re
import shutil
import string
from pathlib import Path

import pytest

from auditor import messages
from auditor.errors import PackError, UsageError
from auditor.messages import Text, Worded
from auditor.resources import embedded_pack_dir
from conftest import run_cli
from exportgen import export_rows, write_csv

PACKAGE = Path(messages.__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff]")
RAISERS = {"UsageError", "PackError", "SchemaError", "Text"}


def _fields(text: str) -> set[str]:
    return {f.split("!")[0] for _, f, _, _ in string.Formatter().parse(text) if f}


def _keys_in(node: ast.AST) -> list[str] | None:
    """The catalog keys an argument can be: a string constant, either branch of ``a if c else b``, or the
    constant prefix of an f-string key (``f"verify.members_{which}"``, checked as a prefix); None for anything
    else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _keys_in(node.body), _keys_in(node.orelse)
        return None if a is None or b is None else a + b
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return [node.values[0].value + "*"]
    return None


def _raise_sites() -> list[tuple[str, int, str, ast.Call]]:
    """Every call of an error class or of messages.Text in the package (Text only where it is messages.Text;
    errors.py and messages.py themselves pass keys through)."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("errors.py", "messages.py"):
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        ours = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and (node.module or "").endswith("messages") for alias in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in RAISERS and (name != "Text" or "Text" in ours):
                    out.append((str(path.relative_to(PACKAGE.parent)), node.lineno, name, node))
    return out


def test_every_raised_message_is_a_catalog_key_with_both_languages():
    catalog = messages.catalog()
    sites = _raise_sites()
    assert len(sites) > 250  # the walk sees the code (about 200 usage and pack errors, the verify problems…)
    problems = []
    for where, line, name, call in sites:
        first = call.args[0]
        if isinstance(first, ast.Call) and getattr(first.func, "id", None) == "t":
            continue  # worded already in the reader's language through auditor.i18n (inspect, watch)
        if name == "Text" and isinstance(first, ast.Constant) and first.value == "":
            continue  # the empty result line before a run
        keys = _keys_in(first)
        if keys is None:
            problems.append(f"{where}:{line}: {name}(…) is given text, not a message key")
            continue
        given = {kw.arg for kw in call.keywords if kw.arg}
        for key in keys:
            found = [k for k in catalog if k.startswith(key[:-1])] if key.endswith("*") else [key] * (key in catalog)
            if not found:
                problems.append(f"{where}:{line}: key {key!r} is not in auditor/messages.toml")
            for k in found:
                missing = _fields(catalog[k]["en"]) - given
                if missing and not any(kw.arg is None for kw in call.keywords):
                    problems.append(f"{where}:{line}: {k} needs {sorted(missing)}")
    assert not problems, "\n".join(problems)


def test_catalog_entries_have_both_languages_with_the_same_parameters():
    raw = messages.catalog()
    assert len(raw) > 300
    for key, entry in raw.items():
        assert set(entry) == set(messages.LANGS), key
        assert all(entry[lang].strip() for lang in messages.LANGS), key
        assert _fields(entry["zh"]) == _fields(entry["en"]), key
        words = re.sub(r"\{[^}]*\}|--[\w-]+|`[^`]*`|\b[\w-]+\.(toml|json)\b|\[[^\]]*\]", "", entry["en"])
        if re.search(r"[A-Za-z]{3,}", words):  # the English says something in words: so must the Chinese
            assert CJK.search(entry["zh"]), f"{key}: no Chinese in {entry['zh']!r}"


def test_a_key_without_its_chinese_text_is_caught(tmp_path, monkeypatch):
    """The checks above read the real catalog; here a catalog missing one language shows what they catch."""
    broken = tmp_path / "messages.toml"
    broken.write_text('[usage.new_thing]\nen = "{path}: new"\n', encoding="utf-8")
    monkeypatch.setattr(messages, "CATALOG", broken)
    messages.catalog.cache_clear()
    try:
        entry = messages.catalog()["usage.new_thing"]
        assert set(entry) != set(messages.LANGS)  # what the test above fails on
    finally:
        messages.catalog.cache_clear()


def test_an_error_is_english_as_str_and_in_either_language_as_text():
    exc = UsageError("usage.cannot_read", path="/x/订单.csv", why=Worded("permission denied"))
    assert str(exc) == "/x/订单.csv: cannot read (permission denied)"
    assert exc.text("zh") == "/x/订单.csv：无法读取（权限不足）"
    nested = PackError("pack.i18n.bad_template", path="zh.toml", key="k", exc=exc)
    assert nested.text("zh").endswith("：/x/订单.csv：无法读取（权限不足）")  # a nested message follows the language
    assert UsageError("a text that is not a key").text("zh") == "a text that is not a key"
    problem = Text("verify.member_altered", name="report.json")
    assert "; ".join([problem, "x"]) == "report.json: SHA-256 does not match the manifest (altered); x"


def test_argparse_wording_is_recognised_and_a_long_one_is_left_as_it_is():
    said = Worded("argument --roster: /x/名单.csv: a FIFO (named pipe), not a regular file")
    assert said.text("zh") == "参数 --roster：/x/名单.csv：命名管道（FIFO），不是普通文件"
    assert said.text("en") == str(said)
    assert Worded("something argparse says that we do not know").text("zh").startswith("something argparse")
    long = "argument --roster: " + "a: b, " * 20_000 + "x: a FIFO (named pipe), not a regular file"
    assert len(long) > messages.MAX_WORDED and Worded(long).text("zh") == long  # never matched: bounded work


# --------------------------------------------------------------------------- a new user's first steps

def _one_line(res, code=2):
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def test_usage_errors_in_chinese_by_default_and_english_on_request(tmp_path):
    missing = tmp_path / "无此报告.json"
    for lang_args, said in (((), "文件不存在"), (("--lang", "zh"), "文件不存在"), (("--lang", "en"), "no such file")):
        line = _one_line(run_cli("verify", str(missing), *lang_args))
        assert str(missing) in line and said in line
    line = _one_line(run_cli("scan", "--only", "printers", "--lang", "zh"))
    assert "参数 --only：无效的选择：'printers'（可选：" in line
    line = _one_line(run_cli("scan", "--bogus", "--lang=zh"))
    assert "无法识别的参数：--bogus" in line
    line = _one_line(run_cli("scan", "--bogus", "--lang", "en"))
    assert "unrecognized arguments: --bogus" in line
    line = _one_line(run_cli("scan", "--max-file-size", "lots", "--lang", "zh"))
    assert "lots：不是 50M 或 2G 这样的大小" in line
    line = _one_line(run_cli("report", "--lang", "zh"))
    assert "缺少必需的参数：REPORT.json" in line
    line = _one_line(run_cli("schedule", "remove", "--user", "--system", "--lang", "zh"))
    assert line == "auditor: 请给出 --user 或 --system，不要同时给出"
    line = _one_line(run_cli("remediate", "restore", "zz", "--lang", "zh"))
    assert "'zz'：不是隔离 ID" in line


def test_pack_errors_name_the_file_in_chinese(tmp_path):
    empty = tmp_path / "empty-pack"
    empty.mkdir()
    line = _one_line(run_cli("scan", "--only", "remote", "--lang", "zh", "-o", str(tmp_path / "r.json"),
                             env={"AUDITOR_CHECKS_DIR": str(empty)}))
    assert str(empty) in line and "无法读取（没有那个文件或目录）" in line

    pack = tmp_path / "pack"
    shutil.copytree(embedded_pack_dir("checks"), pack)
    (pack / "roles.toml").write_text('[role\nid = "office"\n', encoding="utf-8")
    for lang, said in (("zh", "TOML 格式错误"), ("en", "roles.toml: ")):
        line = _one_line(run_cli("scan", "--only", "remote", "--lang", lang, "-o", str(tmp_path / "r.json"),
                                 env={"AUDITOR_CHECKS_DIR": str(pack)}))
        assert str(pack / "roles.toml") in line and said in line, line

    line = _one_line(run_cli("scan", "--lang", "zh", env={"AUDITOR_CHECKS_DIR": str(tmp_path / "nowhere")}))
    assert f"AUDITOR_CHECKS_DIR={tmp_path / 'nowhere'}：文件夹不存在（它指向本站点自己的 'checks' 数据包副本）" in line


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("lang-verify")
    root = base / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    out = base / "r.json"
    res = run_cli("scan", "--only", "remote", "--root", str(root), "-q", "-o", str(out))
    assert res.returncode == 0, res.stderr
    return out


def test_verify_lines_follow_lang_and_keep_their_prefixes(report, tmp_path):
    zh = run_cli("verify", str(report), "--lang", "zh")
    assert zh.returncode == 0 and zh.stdout.startswith(f"OK: {report} 完好（SHA-256 ") and "未签名" in zh.stdout
    en = run_cli("verify", str(report), "--lang", "en")
    assert en.returncode == 0 and en.stdout.startswith(f"OK: {report} is intact (SHA-256 ")
    assert "not signed" in en.stdout
    assert run_cli("verify", str(report)).stdout == zh.stdout  # Chinese by default, as every command

    altered = tmp_path / "altered.json"
    data = json.loads(report.read_text(encoding="utf-8"))
    data["host"]["hostname"] = "elsewhere"
    altered.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    line = _one_line(run_cli("verify", str(altered), "--lang", "zh"), code=1)
    assert line.startswith(f"auditor verify: ALTERED: {altered}: ") and "SHA-256 摘要与内容不符：报告被改动过" in line
    line = _one_line(run_cli("verify", str(altered), "--lang", "en"), code=1)
    assert line.startswith(f"auditor verify: ALTERED: {altered}: ")
    assert "SHA-256 digest does not match the content: the report was altered" in line


def test_run_now_in_chinese_and_the_first_report_says_so(tmp_path):
    exports = tmp_path / "exports"
    write_csv(exports / "淘宝订单.csv", export_rows(__import__("random").Random(3), "taobao", 30)[0])
    out = tmp_path / "reports"
    env = {"AUDITOR_STATE_DIR": str(tmp_path / "state")}
    args = ("schedule", "run-now", "--output-dir", str(out), "--only", "files", "--path", str(exports), "-o")

    first = run_cli(*args[:-1], "--lang", "zh", env=env)
    assert first.returncode == 1, first.stderr
    assert "首次运行（本机此前没有完好的报告）：每项发现都算作新增，新增 1 项（高危或严重 1 项）" in first.stdout
    assert not re.search(r"[A-Za-z]{4,}", re.sub(r"\S+\.json|\.html", "", first.stdout)), first.stdout
    last = json.loads((out / "last-run.json").read_text(encoding="utf-8"))
    assert last["first_run"] is True and "first run" in last["message"]  # the record stays English
    stem = last["report"][:-len(".json")]
    made = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
    assert made["first_report"] is True and "changes" not in made and made["schema_version"] == "1.3"
    html = (out / f"{stem}.html").read_text(encoding="utf-8")
    assert 'id="first-report"' in html and "这是本机的第一份报告" in html  # the HTML follows --lang too
    assert run_cli("verify", str(out / f"{stem}.json")).returncode == 0

    md = tmp_path / "first.md"
    res = run_cli("report", str(out / f"{stem}.json"), "-o", str(md), "--lang", "en")
    assert res.returncode == 0, res.stderr
    assert "This is the first report of this host: there is no earlier report of it" in md.read_text("utf-8")

    second = run_cli(*args[:-1], "--lang", "en", env=env)
    assert second.returncode == 0, second.stderr
    assert f"since {last['report']}: 0 new (0 high or critical), 1 still open, 0 resolved" in second.stdout
    newest = sorted(out.glob("20*.json"))[-1]
    again = json.loads(newest.read_text(encoding="utf-8"))
    assert "first_report" not in again and again["changes"]["baseline"]["intact"] is True
    assert "这是本机的第一份报告" not in newest.with_suffix(".html").read_text(encoding="utf-8")


def test_install_carries_lang_into_the_scheduled_run(tmp_path):
    for lang in ("zh", "en"):
        res = run_cli("schedule", "install", "--user", "--print", "--backend", "cron", "--lang", lang,
                      "--output-dir", str(tmp_path / "out"), env={"AUDITOR_STATE_DIR": str(tmp_path / "state")})
        assert res.returncode == 0, res.stderr
        assert "schedule run-now" in res.stdout and f"--lang {lang}" in res.stdout
