"""Every ordinary line of `schedule install/status/remove`, `remediate mask/restore/list` and `keygen` in the chosen
language (issue 20), read as a new user reads them: the real command line, in Chinese (the default) and with
`--lang en`, on real files, a crontab file standing in for the user's and a temporary quarantine."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from conftest import run_cli
from exportgen import export_rows, write_csv

#: a run of three or more English words: left in a Chinese line, a sentence of ours not translated
ENGLISH_RUN = re.compile(r"[A-Za-z][\w'.-]*(?:[ ,;:()]+[A-Za-z][\w'.-]*){2,}")


def _english_left(text: str) -> list[str]:
    """The English word runs of ``text`` outside paths, flags, quoted commands and the commands a line tells the
    user to type (``auditor remediate restore ID --apply``): what a Chinese reader would meet untranslated."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"[^\s：；，（）]*[/\\][^\s：；，（）]*", " ", line)  # a path (up to Chinese punctuation)
        line = re.sub(r"`[^`]*`", " ", line)  # a quoted command
        line = re.sub(r"\bauditor(?: [a-z][a-z-]*){1,3}", " ", line)  # a command to type
        line = re.sub(r"(?<!\w)-{1,2}[\w-]+", " ", line)  # a flag
        found += ENGLISH_RUN.findall(line)
    return found


def _zh(text: str) -> str:
    assert re.search(r"[\u4e00-\u9fff]", text), text
    assert not _english_left(text), (_english_left(text), text)
    return text


def test_the_check_catches_an_english_sentence():
    assert _english_left("已脱敏 /x/a.csv：nothing to mask in it") == ["nothing to mask in it"]
    assert _english_left("撤销：auditor remediate restore 1a2b3c4d --apply；--sign-key /x/site.key") == []


@pytest.fixture
def sched_env(tmp_path):
    """A user schedule written to a crontab file (no real crontab touched), its record in a temporary state."""
    return {"AUDITOR_STATE_DIR": str(tmp_path / "state"), "AUDITOR_CRONTAB_FILE": str(tmp_path / "crontab")}


def test_schedule_install_status_remove_in_chinese_and_english(tmp_path, sched_env):
    out = tmp_path / "报告"
    install = ("schedule", "install", "--user", "--backend", "cron", "--weekly", "mon", "08:45", "--output-dir",
               str(out), "--keep", "3", "--path", str(tmp_path))

    res = run_cli("schedule", "status", "--user", env=sched_env)
    assert res.returncode == 1 and _zh(res.stdout).strip() == "用户：未安装计划任务"

    res = run_cli(*install, env=sched_env)
    assert res.returncode == 0, res.stderr
    lines = _zh(res.stdout).splitlines()
    assert lines[0] == f"cron 条目已添加到 {tmp_path / 'crontab'}"
    assert lines[1].startswith(f"计划任务已安装：每周一 08:45，报告保存在 {out}（保留最近 3 份），下次运行 20")

    res = run_cli("schedule", "status", env=sched_env)
    assert res.returncode == 0, res.stderr
    said = _zh(res.stdout)
    assert f"用户：cron，每周一 08:45，报告保存在 {out}（保留最近 3 份）" in said
    assert "；已注册：是" in said and "  下次运行：20" in said
    assert "  已保留本机报告：0 份" in said and "  上次运行：尚无" in said

    res = run_cli("schedule", "remove", "--user", env=sched_env)
    assert res.returncode == 0, res.stderr
    assert _zh(res.stdout).splitlines() == [f"已从 {tmp_path / 'crontab'} 删除 cron 条目", "用户：计划任务已移除（报告保留）"]
    res = run_cli("schedule", "remove", "--user", env=sched_env)
    assert _zh(res.stdout).splitlines()[-1] == "用户：之前未安装计划任务"

    # the same steps in English: the wording the README and the older tests quote
    res = run_cli(*install, "--lang", "en", env=sched_env)
    assert res.returncode == 0, res.stderr
    assert f"cron entry added to {tmp_path / 'crontab'}" in res.stdout
    assert f"schedule installed: weekly on Mon at 08:45, reports in {out} (last 3 kept)" in res.stdout
    res = run_cli("schedule", "status", "--lang", "en", "--user", env=sched_env)
    assert "user: cron, weekly on Mon at 08:45" in res.stdout and "last run: none yet" in res.stdout
    assert "reports kept: 0 of this PC" in res.stdout
    res = run_cli("schedule", "remove", "--lang", "en", "--user", env=sched_env)
    assert res.stdout.splitlines()[-1] == "user: schedule removed (reports kept)"


def test_schedule_install_print_says_where_in_the_chosen_language(tmp_path, sched_env):
    args = ("schedule", "install", "--print", "--user", "--backend", "cron", "--daily", "07:05", "--output-dir",
            str(tmp_path / "r"))
    zh = run_cli(*args, env=sched_env)
    en = run_cli(*args, "--lang", "en", env=sched_env)
    assert zh.returncode == en.returncode == 0, (zh.stderr, en.stderr)
    assert _zh(zh.stderr).strip() == f"schedule install 在本机将使用 cron，条目位于 {tmp_path / 'crontab'}"
    assert en.stderr.strip() == f"schedule install would use cron here, entry in {tmp_path / 'crontab'}"
    # the entry itself is not a message: the same text, each naming the language its runs will use
    assert zh.stdout.replace("--lang zh", "--lang en") == en.stdout and "5 7 * * *" in zh.stdout
    assert not (tmp_path / "crontab").exists()  # --print installs nothing


def test_remediate_mask_list_restore_in_chinese_and_english(tmp_path):
    env = {"AUDITOR_QUARANTINE_DIR": str(tmp_path / "q"), "AUDITOR_STATE_DIR": str(tmp_path / "state")}
    export = tmp_path / "exports" / "订单导出.csv"
    write_csv(export, export_rows(random.Random(20), "taobao", 30)[0])
    original = export.read_bytes()

    res = run_cli("remediate", "list", env=env)
    assert res.returncode == 0 and _zh(res.stdout).startswith("隔离区为空（")

    dry = run_cli("remediate", "mask", str(export), env=env)
    assert dry.returncode == 0, dry.stderr
    said = _zh(dry.stdout)
    assert said.startswith(f"将脱敏 {export}：CSV，") and "；原文件将移入隔离区" in said and "个单元格；列 " in said
    assert said.splitlines()[-1] == "试运行：未做任何修改（加 --apply 才会脱敏）"
    dry_en = run_cli("remediate", "mask", str(export), "--lang", "en", env=env)
    assert dry_en.stdout.startswith(f"would mask {export}: CSV, ")
    assert dry_en.stdout.splitlines()[-1] == "dry run: nothing changed (add --apply to mask)"
    assert export.read_bytes() == original

    res = run_cli("remediate", "mask", str(export), "--apply", env=env)
    assert res.returncode == 0, res.stderr
    said = _zh(res.stdout)
    assert said.startswith(f"已脱敏 {export}：CSV，")
    qid = re.search(r"原文件已移入隔离区，编号 ([0-9a-f]{8})（撤销：auditor remediate restore \1 --apply）", said).group(1)
    assert export.read_bytes() != original

    res = run_cli("remediate", "mask", str(export), "--apply", env=env)  # masked already
    assert _zh(res.stdout).strip() == f"{export} 无需脱敏：未发现未脱敏的个人信息"

    listing = run_cli("remediate", "list", env=env)
    said = _zh(listing.stdout)
    assert said.splitlines()[0] == f"隔离区：{tmp_path / 'q'}"
    assert re.search(rf"^{qid}  \S+  {re.escape(str(export))}  （csv，已脱敏 30 行）$", said, re.M), said
    listing_en = run_cli("remediate", "list", "--lang", "en", env=env)
    assert f"{export}  (csv, 30 rows masked)" in listing_en.stdout

    res = run_cli("remediate", "restore", qid, env=env)
    said = _zh(res.stdout)
    assert said.splitlines() == [f"将从 {qid} 恢复 {export}（脱敏于 {said.split('脱敏于 ')[1].split('；')[0]}；"
                                 "该文件现在是脱敏后的版本）", "试运行：未做任何修改（加 --apply 才会恢复）"]
    res = run_cli("remediate", "restore", qid, "--lang", "en", env=env)
    assert "the file is now the masked version" in res.stdout

    res = run_cli("remediate", "restore", qid, "--apply", env=env)
    assert res.returncode == 0, res.stderr
    assert re.fullmatch(rf"已恢复 {re.escape(str(export))}（逐字节一致，SHA-256 [0-9a-f]{{16}}…）；{qid} 已移出隔离区\n",
                        _zh(res.stdout)), res.stdout
    assert export.read_bytes() == original


def test_remediate_refusals_name_their_cause_in_chinese(tmp_path):
    env = {"AUDITOR_QUARANTINE_DIR": str(tmp_path / "q"), "AUDITOR_STATE_DIR": str(tmp_path / "state")}
    folder = tmp_path / "导出"
    folder.mkdir()
    old = tmp_path / "旧格式.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0not really")
    notes = tmp_path / "说明.docx"
    notes.write_bytes(b"PK\x03\x04")
    res = run_cli("remediate", "mask", str(folder), str(old), str(notes), env=env)
    assert res.returncode == 1
    lines = _zh(res.stdout).splitlines()
    assert lines[0].startswith(f"无法脱敏 {folder}：文件夹，不是可以脱敏的文件；请给出其中的导出文件")
    assert lines[1] == f"无法脱敏 {old}：.xls 工作簿无法原地改写；请先另存为 .xlsx"
    assert lines[2] == f"无法脱敏 {notes}：不是可以脱敏的表格格式（.docx）"
    en = run_cli("remediate", "mask", str(old), "--lang", "en", env=env)
    assert en.stdout.splitlines()[0] == f"cannot mask {old}: .xls workbooks cannot be rewritten in place; save the " \
                                        "file as .xlsx first"


def test_keygen_lines_in_chinese_and_english(tmp_path):
    res = run_cli("keygen", "--out", str(tmp_path / "site"))
    assert res.returncode == 0, res.stderr
    lines = _zh(res.stdout).splitlines()
    assert lines[0] == f"私钥（请保密；用于 --sign-key）：{tmp_path / 'site.key'}"
    assert lines[1] == f"公钥（用于验证；--pubkey）：{tmp_path / 'site.pub'}"
    assert re.fullmatch(r"公钥 SHA-256：[0-9a-f]{64}", lines[2])
    res = run_cli("keygen", "--out", str(tmp_path / "other"), "--lang", "en")
    assert res.stdout.splitlines()[0] == f"private key (keep it secret; --sign-key): {tmp_path / 'other.key'}"
    assert res.stdout.splitlines()[2].startswith("public key SHA-256: ")
