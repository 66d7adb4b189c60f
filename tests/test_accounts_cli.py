"""The accounts area through the real command line: a planted roster (XLSX), a GBK sub-account export and
an XLSX login log, plus a Linux tree; bad inputs end in one clear message (exit 2) or a coverage entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts_helpers import (AS_OF, LOGIN_HEADER, LOGINS, ROSTER, ROSTER_HEADER, SUB_HEADER, SUBACCOUNTS,
                              linux_tree, write_csv, write_scenario, write_xlsx)
from conftest import load_report, run_cli

SHOP = "taobao:云仓旗舰店:"


def _scan(tmp_path: Path, *args: str, root: Path | None = None, name: str = "r.json"):
    out = tmp_path / name
    tree = root or linux_tree(tmp_path / "root")
    res = run_cli("scan", "--only", "accounts", "--root", str(tree), "--as-of", AS_OF.isoformat(), "-q",
                  "-o", str(out), "--lang", "en", *args)  # usage errors in English (Chinese by default)
    return res, out


def _by_check(report: dict) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for f in report["findings"]:
        out.setdefault(f["check_id"], {})[f["target"]["ref"]] = f
    return out


@pytest.fixture
def scenario(tmp_path) -> dict[str, Path]:
    return write_scenario(tmp_path / "in")


def test_planted_accounts_are_named_and_healthy_ones_are_not(tmp_path, scenario):
    res, out = _scan(tmp_path, "--roster", str(scenario["roster"]), "--subaccounts", str(scenario["subaccounts"]),
                     "--logins", str(scenario["logins"]), "--role", "warehouse")
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    got = _by_check(report)

    # departed, still enabled (high)
    assert set(got["AC-001"]) == {SHOP + "王芳", SHOP + "李娜", "os:chenmo"}
    wang = got["AC-001"][SHOP + "王芳"]
    assert wang["severity"] == "high"
    ev = wang["evidence"]
    assert ev["account"] == "云仓旗舰店:王芳" and ev["holder"] == "王芳" and ev["employee_id"] == "E002"
    assert ev["roster_status"] == "离职" and ev["leave_date"] == "2025-03-31" and ev["hire_date"] == "2023-05-10"
    assert ev["last_login"] == "2025-03-28 17:30:00" and ev["enabled"] is True
    assert ev["sources"]["account"] == ["千牛子账号导出.csv row 3"]
    assert ev["sources"]["roster"] == "花名册.xlsx row 3"
    assert ev["sources"]["last_login"] == "千牛子账号导出.csv row 3"
    assert wang["legal_basis"] == ["PIPL-51", "EXPR-REG-34", "POSTAL-PI-2014", "GBT22239-8.1.8.2",
                                   "GBT22239-8.1.4.2", "GBT35273-11.6"]
    assert "王芳" in wang["title"]["zh"] and "2025-03-31" in wang["title"]["en"]

    # login after departure (critical), with the log lines as evidence
    assert set(got["AC-002"]) == {SHOP + "李娜", "os:chenmo"}
    li = got["AC-002"][SHOP + "李娜"]
    assert li["severity"] == "critical"
    ev = li["evidence"]
    assert [(e["time"], e["ip"], e["action"], e.get("count"), e["source"], e["row"]) for e in ev["logins"]] == [
        ("2025-04-15 22:13:05", "183.14.7.92", "login", None, "千牛登录日志.xlsx", 6),
        ("2025-04-15 22:20:41", "183.14.7.92", "export", 500, "千牛登录日志.xlsx", 7),
        ("2025-05-02 23:01:00", "183.14.7.92", "login", None, "千牛登录日志.xlsx", 8),
    ]
    assert ev["leave_date"] == "2025-02-28" and ev["ips_after_departure"] == ["183.14.7.92"]
    assert ev["records_exported_after_departure"] == 500 and ev["days_since_departure"] == 122
    assert ev["sources"]["logins"] == ["千牛登录日志.xlsx"]
    chen = got["AC-002"]["os:chenmo"]["evidence"]
    assert chen["logins"][0]["time"] == "2025-06-03 21:40:00" and chen["logins"][0]["ip"] == "183.14.7.92"
    assert chen["logins"][0]["source"].endswith("var/log/wtmp") and chen["matched_by"] == "holder"

    # stale (medium), orphan (medium), never used (low), shared with export rights (high)
    assert set(got["AC-003"]) == {SHOP + "刘洋"}
    stale = got["AC-003"][SHOP + "刘洋"]
    assert stale["severity"] == "medium" and stale["evidence"]["days_since_login"] == 166
    assert set(got["AC-004"]) == {SHOP + "小李"}
    assert got["AC-004"][SHOP + "小李"]["evidence"]["orphan_reason"]["en"] == "holder not on the roster"
    assert set(got["AC-006"]) == {SHOP + "黄强"}
    assert got["AC-006"][SHOP + "黄强"]["severity"] == "low"
    assert set(got["AC-005"]) == {SHOP + "周杰"}
    shared = got["AC-005"][SHOP + "周杰"]
    assert shared["severity"] == "high" and shared["evidence"]["ips"] == ["112.10.44.7", "115.236.10.21"]
    assert shared["evidence"]["can_export"] is True

    healthy = {SHOP + n for n in ("张伟", "陈静", "杨磊", "赵敏", "吴刚")} | {"os:wh01", "os:locked", "os:newhire",
                                                                         "os:root", "os:cups", "os:daemon"}
    named = {f["target"]["ref"] for f in report["findings"] if f["check_id"] not in ("AC-008",)}
    assert not healthy & named, healthy & named
    # staff accounts appear in full; customer data from a log line (the action text) never does
    text = out.read_text(encoding="utf-8")
    assert "王小二" not in text and "13800138000" not in text
    assert li["evidence"]["logins"][1]["action_label"] == "导出"


def test_without_inputs_only_os_accounts_and_coverage_says_what_is_missing(tmp_path):
    res, out = _scan(tmp_path)
    assert res.returncode == 0, res.stderr  # guest/no-password are medium: below the default --fail-on high
    report = load_report(out)
    got = _by_check(report)
    assert set(got) == {"AC-007", "AC-008", "AC-009", "AC-010"}
    assert set(got["AC-007"]) == {"os:olduser"} and set(got["AC-009"]) == {"os:guest"}
    assert set(got["AC-010"]) == {"os:temp"}
    # three people logged in within 90 days: a shared PC, where passwords must expire
    assert got["AC-008"]["os:wh01"]["evidence"]["shared_pc"]["en"] == \
        "3 accounts logged in within 90 days (chenmo, temp, wh01)"
    cov = {c["source"]: c for c in report["coverage"]}
    for cid in ("AC-001", "AC-002", "AC-003", "AC-004", "AC-005", "AC-006"):
        assert cov[f"check {cid}"]["status"] == "not_assessed", cid
    assert "--roster" in cov["check AC-001"]["note"] and "--subaccounts" in cov["check AC-003"]["note"]
    assert "--logins" in cov["check AC-005"]["note"]


def test_live_default_scan_includes_accounts_quickly_and_never_exits_2(tmp_path):
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "accounts", "-q", "-o", str(out), timeout=60)
    assert res.returncode in (0, 1), res.stderr
    report = load_report(out)
    assert any(c["source"].startswith("os-accounts") for c in report["coverage"])


def test_stale_days_and_as_of_change_the_judgement(tmp_path, scenario):
    common = ("--roster", str(scenario["roster"]), "--subaccounts", str(scenario["subaccounts"]),
              "--logins", str(scenario["logins"]))
    res, out = _scan(tmp_path, *common, "--stale-days", "200", name="a.json")
    assert res.returncode == 1, res.stderr
    got = _by_check(load_report(out))
    assert "AC-003" not in got  # 166 days is not stale at 200
    assert set(got["AC-006"]) == {SHOP + "黄强"}  # 272 days old
    # a year earlier, 王芳 and 李娜 had not left yet
    tree = tmp_path / "root"
    out2 = tmp_path / "b.json"
    res = run_cli("scan", "--only", "accounts", "--root", str(tree), "--as-of", "2025-02-01", "-q", "-o", str(out2),
                  *common)
    got = _by_check(load_report(out2))
    assert "AC-001" not in got and "AC-002" not in got
    assert "2025-02-01" == load_report(out2)["findings"][0]["evidence"]["as_of"]


def test_header_variants_english_xlsx_and_pdd_platform(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    roster = write_csv(folder / "hr.csv", ["Employee No", "Full Name", "Dept", "Employment Status", "Hire Date",
                                           "Termination Date"],
                       [["A1", "张伟", "CS", "Active", "2022/3/1", ""],
                        ["A2", "王芳", "CS", "Terminated", "2023/5/10", "2025/3/31"],
                        ["A3", "刘洋", "Ops", "Active", "2021/7/1", ""]], encoding="utf-8-sig")
    subs = write_xlsx(folder / "pdd_subaccounts.xlsx", {"Sheet1": (
        ["Sub-account", "Account Status", "Created At", "Last Login Time"],
        [["云仓拼多多店:张伟", "Enabled", "3/5/2022 9:12:33 AM", "6/29/2025 9:12:33 AM"],
         ["云仓拼多多店:王芳", "Enabled", "5/11/2023 9:00:00 AM", "3/1/2025 5:00:00 PM"],
         ["云仓拼多多店:刘洋", "Disabled", "7/2/2021 9:00:00 AM", "1/1/2025 9:00:00 AM"],
         ["云仓拼多多店:客服007", "Enabled", "1/2/2024 9:00:00 AM", "6/1/2025 9:00:00 AM"]])})
    res, out = _scan(tmp_path, "--roster", str(roster), "--subaccounts", str(subs))
    assert res.returncode == 1, res.stderr
    got = _by_check(load_report(out))
    assert set(got["AC-001"]) == {"pinduoduo:云仓拼多多店:王芳"}
    assert got["AC-001"]["pinduoduo:云仓拼多多店:王芳"]["evidence"]["matched_by"] == "name_in_account"
    assert set(got["AC-004"]) == {"pinduoduo:云仓拼多多店:客服007"}  # a stale-free orphan
    assert "AC-003" not in got  # 刘洋 is disabled


def test_account_map_joins_and_finds_accounts_shared_by_several_people(tmp_path, scenario):
    folder = scenario["roster"].parent
    subs = write_csv(folder / "聚水潭用户.csv", ["登录账号", "用户名称", "状态", "角色", "最后登录时间"],
                     [["kefu01", "客服一组", "启用", "客服", "2025-06-29 10:00"],
                      ["cangku", "仓库公用", "启用", "仓库主管,订单导出", "2025-06-29 11:00"],
                      ["E005", "", "启用", "客服", "2025-06-28 10:00"]], encoding="gbk")
    amap = write_csv(folder / "map.csv", ["账号", "工号"], [["kefu01", "E002"], ["cangku", "E001"], ["cangku", "E004"]],
                     encoding="gbk")
    res, out = _scan(tmp_path, "--roster", str(scenario["roster"]), "--subaccounts", str(subs), "--account-map",
                     str(amap))
    assert res.returncode == 1, res.stderr
    got = _by_check(load_report(out))
    assert set(got["AC-001"]) == {"jushuitan:kefu01", "os:chenmo"}  # kefu01 is mapped to 王芳, who left
    assert got["AC-001"]["jushuitan:kefu01"]["evidence"]["matched_by"] == "account_map"
    shared = got["AC-005"]["jushuitan:cangku"]
    assert shared["severity"] == "high"  # can export
    assert [p["employee_id"] for p in shared["evidence"]["people"]] == ["E001", "E004"]
    assert "AC-004" not in got  # E005 is an employee id on the roster


def test_unknown_layout_exits_2_naming_needed_and_found_columns_and_map_fixes_it(tmp_path, scenario):
    odd = write_csv(tmp_path / "快麦账号.csv", ["登录用户", "是否可用", "备注"],
                    [["云仓旗舰店:王芳", "正常", "x"]], encoding="gbk")
    res, _ = _scan(tmp_path, "--roster", str(scenario["roster"]), "--subaccounts", str(odd))
    assert res.returncode == 2
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in res.stderr
    assert "快麦账号.csv" in err and "unknown layout" in err
    assert "account (子账号" in err and "'登录用户', '是否可用', '备注'" in err and "--map" in err
    res, out = _scan(tmp_path, "--roster", str(scenario["roster"]), "--subaccounts", str(odd),
                     "--map", "account=登录用户", "--map", "subaccounts.status=是否可用")
    assert res.returncode == 1, res.stderr
    got = _by_check(load_report(out))
    assert set(got["AC-001"]) == {"kuaimai:云仓旗舰店:王芳", "os:chenmo"}


@pytest.mark.parametrize("maparg, fragment", [
    ("nosuch=列", "unknown field 'nosuch'"),
    ("status=不存在的列", "no input file has a column '不存在的列'"),
    ("hr.status=状态", "unknown input kind 'hr'"),
])
def test_bad_map_is_a_usage_error(tmp_path, scenario, maparg, fragment):
    res, _ = _scan(tmp_path, "--roster", str(scenario["roster"]), "--map", maparg)
    assert res.returncode == 2 and fragment in res.stderr and "Traceback" not in res.stderr


def test_bad_rows_go_to_coverage_with_row_numbers(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    rows = ROSTER + [["E002", "王芳", "客服部", "离职", "2023-05-10", "2025-03-31"],   # identical repeat
                     ["E005", "陈静", "客服部", "离职", "2025-04-01", "2025-06-15"],   # conflicting repeat
                     ["E012", "孙丽", "客服部", "离职", "2023-01-01", "2025-13-45"],   # bad date
                     ["", "", "客服部", "在职", "", ""]]                               # nobody
    roster = write_csv(folder / "roster_utf16.csv", ROSTER_HEADER, rows, encoding="utf-16")  # another encoding
    logs = LOGINS + [["云仓旗舰店:张伟", "昨天下午", "115.236.10.21", "登录", ""]]
    login_csv = write_csv(folder / "login.csv", LOGIN_HEADER, logs, encoding="gb18030")
    subs = write_csv(folder / "subs.csv", SUB_HEADER, SUBACCOUNTS + [["云仓旗舰店:孙丽", "孙丽", "待审核", "客服",
                                                                      "2024-01-01", "2025-01-01"]], encoding="gbk")
    res, out = _scan(tmp_path, "--roster", str(roster), "--subaccounts", str(subs), "--logins", str(login_csv))
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    cov = {c["source"]: c for c in report["coverage"]}
    skipped = {s["item"]: s["reason"] for s in cov["roster:roster_utf16.csv"]["skipped"]}
    assert skipped["roster_utf16.csv row 15"] == "离职日期 '2025-13-45' is not a date (left empty)"
    assert skipped["roster_utf16.csv row 16"] == "no employee id and no name: row ignored"
    assert "appears 2 times (rows 3, 13)" in skipped["roster_utf16.csv rows 3, 13"]
    assert "row 14 is used" in skipped["roster_utf16.csv rows 6, 14"]
    assert cov["roster:roster_utf16.csv"]["status"] == "partial"
    log_skips = {s["item"]: s["reason"] for s in cov["logins:login.csv"]["skipped"]}
    assert log_skips["login.csv row 16"] == "登录时间 '昨天下午' is not a date: row ignored"
    sub_skips = {s["item"]: s["reason"] for s in cov["subaccounts:subs.csv"]["skipped"]}
    assert "status '待审核' not recognised" in sub_skips["subs.csv row 13"]
    got = _by_check(report)
    # the later row for E005 says 陈静 left on 2025-06-15: her enabled account is now a departed one, and
    # her login of 2025-06-28 one after departure (files without a platform in their name: "other")
    assert "other:云仓旗舰店:陈静" in got["AC-001"]
    assert got["AC-002"]["other:云仓旗舰店:陈静"]["evidence"]["first_login_after_departure"] == "2025-06-28 10:00:00"
    # 孙丽 left with an unreadable leave date: AC-002 cannot be judged for her and coverage says so
    cov_ac002 = {s["item"]: s["reason"] for s in cov["check AC-002"]["skipped"]}
    assert "no leave date" in cov_ac002["other:云仓旗舰店:孙丽"]


def test_empty_inputs(tmp_path, scenario):
    empty_roster = tmp_path / "empty.csv"
    empty_roster.write_bytes(b"")
    res, _ = _scan(tmp_path, "--roster", str(empty_roster))
    assert res.returncode == 2 and "empty.csv" in res.stderr and "empty" in res.stderr
    header_only = write_csv(tmp_path / "roster_header_only.csv", ROSTER_HEADER, [], encoding="gbk")
    res, _ = _scan(tmp_path, "--roster", str(header_only))
    assert res.returncode == 2 and "no employees" in res.stderr
    no_logins = write_csv(tmp_path / "logins_none.csv", LOGIN_HEADER, [], encoding="gbk")
    zero = tmp_path / "subs_zero.csv"
    zero.write_bytes(b"")
    res, out = _scan(tmp_path, "--roster", str(scenario["roster"]), "--logins", str(no_logins),
                     "--subaccounts", str(zero), name="e.json")
    assert res.returncode == 1, res.stderr
    cov = {c["source"]: c for c in load_report(out)["coverage"]}
    assert cov["logins:logins_none.csv"]["status"] == "no_data"
    assert cov["subaccounts:subs_zero.csv"]["status"] == "no_data"


def test_unreadable_input_is_a_usage_error(tmp_path, scenario):
    garbage = tmp_path / "subs.xlsx"
    garbage.write_bytes(b"PK\x03\x04 not really a workbook")
    res, _ = _scan(tmp_path, "--roster", str(scenario["roster"]), "--subaccounts", str(garbage))
    assert res.returncode == 2 and "subs.xlsx" in res.stderr and "Traceback" not in res.stderr


def test_roster_pc_account_column_and_the_trail_map_names(tmp_path):
    """HR records each employee's PC account; `--map departure=…` (the export trail's name) is accepted."""
    roster = write_csv(tmp_path / "hr.csv", ["员工编号", "姓名", "电脑账号", "任职状态", "最后一天"],
                       [["E20", "王强", "olduser", "离职", "2025-04-30"], ["E21", "赵丽", "wh01", "在职", ""]],
                       encoding="gb18030")
    res, out = _scan(tmp_path, "--roster", str(roster), "--map", "departure=最后一天")
    assert res.returncode == 1, res.stderr
    got = _by_check(load_report(out))
    assert set(got["AC-001"]) == {"os:olduser"}
    ev = got["AC-001"]["os:olduser"]["evidence"]
    assert ev["matched_by"] == "roster_account" and ev["employee_id"] == "E20" and ev["leave_date"] == "2025-04-30"
    assert "AC-007" not in got or "os:olduser" not in got["AC-007"]


def test_a_roster_header_named_twice_is_a_coverage_note_saying_which_column_was_read(tmp_path):
    """HR's export has 姓名 twice (the employee's, then the line manager's): the first is read, and the report
    says so in the coverage, in HTML, Markdown and on the terminal, in both languages."""
    roster = write_csv(tmp_path / "hr.csv", ["员工编号", "姓名", "电脑账号", "任职状态", "最后一天", "姓名"],
                       [["E20", "王强", "olduser", "离职", "2025-04-30", "刘主管"],
                        ["E21", "赵丽", "wh01", "在职", "", "刘主管"]])
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "accounts", "--root", str(linux_tree(tmp_path / "root")), "--as-of",
                  AS_OF.isoformat(), "--roster", str(roster), "--map", "departure=最后一天", "--fail-on", "none",
                  "-o", str(out), "-o", str(tmp_path / "r.html"), "-o", str(tmp_path / "r.md"))
    assert res.returncode == 0, res.stderr
    report = load_report(out)
    entry = next(c for c in report["coverage"] if c["source"] == "roster:hr.csv")
    zh = "列“姓名”出现了 2 次（第 2 (B), 6 (F) 列）；读取的是第 2 (B) 列（作为 name），其余同名列被忽略"
    en = "The column “姓名” appears 2 times (columns 2 (B), 6 (F)); column 2 (B) was read as name"
    assert entry["notes"] == [{"zh": zh, "en": en + ", the other ones were ignored"}]
    assert zh in res.stdout.replace("\n", "")
    assert zh in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert zh in (tmp_path / "r.md").read_text(encoding="utf-8")
    ac001 = _by_check(report)["AC-001"]["os:olduser"]["evidence"]
    assert ac001["employee_id"] == "E20" and "王" in ac001["holder"] and "刘" not in ac001["holder"]  # the first
    res = run_cli("report", str(out), "-o", str(tmp_path / "en.html"), "-o", str(tmp_path / "en.md"), "--lang", "en")
    assert res.returncode == 0, res.stderr
    assert en in (tmp_path / "en.html").read_text(encoding="utf-8")
    assert en in (tmp_path / "en.md").read_text(encoding="utf-8")
    # one 姓名 column: no note
    single = write_csv(tmp_path / "one.csv", ["员工编号", "姓名", "电脑账号", "任职状态", "最后一天"],
                       [["E20", "王强", "olduser", "离职", "2025-04-30"]])
    res, out = _scan(tmp_path, "--roster", str(single), "--map", "departure=最后一天", name="one.json")
    assert "notes" not in next(c for c in load_report(out)["coverage"] if c["source"] == "roster:one.csv")
