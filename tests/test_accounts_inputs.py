"""Input files of the accounts area read directly: dates, header variants, status words, joins (pandas)
and the shared-use sessions, on real files written to tmp_path."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts_helpers import AS_OF, write_csv, write_xlsx
from auditor.core import checks as core_checks
from auditor import packs
from auditor.accounts.checks import AccountChecks, overlapping, sessions, shared_pc
from auditor.accounts.dates import BadDate, is_never, parse_when
from auditor.accounts.inputs import classify, load_inputs, vocab
from auditor.accounts.join import Joiner
from auditor.accounts.records import LoginEvent
from auditor.core.factory import FindingFactory
from auditor.errors import UsageError
from auditor.core.model import Coverage


@pytest.mark.parametrize("text, expected", [
    ("2024/3/5 9:12:33", dt.datetime(2024, 3, 5, 9, 12, 33)),
    ("3/5/2024 9:12:33 AM", dt.datetime(2024, 3, 5, 9, 12, 33)),
    ("3/5/2024 12:01:00 AM", dt.datetime(2024, 3, 5, 0, 1)),
    ("2024/3/5 下午 1:02:03", dt.datetime(2024, 3, 5, 13, 2, 3)),
    ("2024-03-05T09:12:33+08:00", dt.datetime(2024, 3, 5, 9, 12, 33)),
    ("2024年3月5日 9时12分", dt.datetime(2024, 3, 5, 9, 12)),
    ("2024年3月5日", dt.datetime(2024, 3, 5)),
    ("2024.3.5", dt.datetime(2024, 3, 5)),
    ("20240305", dt.datetime(2024, 3, 5)),
    ("20240305091233", dt.datetime(2024, 3, 5, 9, 12, 33)),
    ("45356.5", dt.datetime(2024, 3, 5, 12, 0)),
    ("25/3/2024", dt.datetime(2024, 3, 25)),
    ("", None), ("-", None), ("从未登录", None), ("Never", None),
])
def test_dates(text, expected):
    assert parse_when(text) == expected


def test_bad_dates_and_never():
    for bad in ("2025-13-45", "2025-02-30", "昨天", "12345"):
        with pytest.raises(BadDate):
            parse_when(bad)
    assert is_never("从未登录") and is_never("never") and not is_never("")


def test_status_words():
    voc = vocab()
    acct = voc.values["account_status"]
    assert [classify(v, acct) for v in ("启用", "正常", "已停用", "未启用", "冻结中", "Enabled", "DISABLED")] == \
        ["enabled", "enabled", "disabled", "disabled", "disabled", "enabled", "disabled"]
    roster = voc.values["roster_status"]
    assert [classify(v, roster) for v in ("在职", "已离职", "待离职", "试用期", "Terminated", "主动离职")] == \
        ["active", "departed", "active", "active", "departed", "departed"]


def test_header_variants_title_rows_and_sheets(tmp_path):
    subs = write_xlsx(tmp_path / "抖店子账号.xlsx", {
        "说明": (["本表由抖店后台导出"], []),
        "子账号列表": (["子账号名称", "员工姓名", "账号状态", "创建时间", "最近登录时间(北京时间)"],
                   [["云仓抖店:张伟", "张伟", "正常", "2024-01-01 10:00", "2025-06-01 10:00"]]),
    }, title_rows=1)
    logs = write_csv(tmp_path / "wms_log.csv", ["操作员账号", "操作人姓名", "操作时间", "IP地址", "操作类型", "导出条数", "登录结果"],
                     [["zhangwei", "张伟", "2025/6/1 10:00", "10.0.0.8", "登录", "", "成功"],
                      ["zhangwei", "张伟", "2025/6/1 10:05", "10.0.0.8", "导出出库单", "1,234", "成功"],
                      ["zhangwei", "张伟", "2025/6/2 23:00", "8.8.8.8", "登录", "", "失败"]], encoding="gb18030")
    cov = Coverage()
    inputs = load_inputs(None, [subs], [logs], None, {}, cov)
    row = inputs.subaccounts.iloc[0]
    assert row["account"] == "云仓抖店:张伟" and row["holder"] == "张伟" and row["enabled"] is True
    assert row["platform"] == "doudian" and row["last_login"] == dt.datetime(2025, 6, 1, 10) and row["row"] == 3
    lg = inputs.logins
    assert list(lg["action"]) == ["login", "export", "login"]
    assert list(lg["count"]) == [None, 1234, None] and list(lg["ok"]) == [True, True, False]
    assert lg.iloc[1]["ip"] == "10.0.0.8" and lg.iloc[1]["row"] == 3
    notes = {c.source: c.note for c in cov.entries}
    assert "account=操作员账号" in notes["logins:wms_log.csv"] and "holder=操作人姓名" in notes["logins:wms_log.csv"]
    assert "last_login=最近登录时间(北京时间)" in notes["subaccounts:抖店子账号.xlsx"]


def test_small_gbk_file_is_not_taken_for_big5(tmp_path):
    roster = write_csv(tmp_path / "r.csv", ["工号", "姓名", "离职日期"], [["E1", "张三", ""]], encoding="gbk")
    inputs = load_inputs(roster, [], [], None, {}, Coverage())
    assert inputs.roster.iloc[0]["name"] == "张三"


def test_unknown_layout_message(tmp_path):
    bad = write_csv(tmp_path / "登录日志.csv", ["用户", "备注"], [["a", "b"]], encoding="gbk")
    with pytest.raises(UsageError) as exc:
        load_inputs(None, [], [bad], None, {}, Coverage())
    msg = str(exc.value)
    assert "login log (--logins)" in msg and "登录日志.csv" in msg and "time (登录时间" in msg
    assert "columns found: '用户', '备注'" in msg


def _join(tmp_path, roster_rows, sub_rows, log_rows, sub_header=("子账号", "状态", "最后登录时间", "创建时间")):
    roster = write_csv(tmp_path / "roster.csv", ["工号", "姓名", "状态", "离职日期"], roster_rows, encoding="gbk")
    subs = write_csv(tmp_path / "taobao_subs.csv", list(sub_header), sub_rows, encoding="gbk")
    logs = write_csv(tmp_path / "log.csv", ["账号", "登录时间", "IP"], log_rows, encoding="gbk")
    inputs = load_inputs(roster, [subs], [logs], None, {}, Coverage())
    views = Joiner(inputs, [], vocab(), AS_OF).run()
    return {v.ref: v for v in views}


def test_joins_by_name_in_account_fullwidth_colon_and_sub_part(tmp_path):
    views = _join(tmp_path,
                  [["E1", "张伟", "在职", ""], ["E2", "王芳（客服）", "离职", "2025-03-31"], ["E3", "李娜", "在职", ""],
                   ["E4", "李娜", "在职", ""]],
                  [["云仓旗舰店：张伟", "启用", "", "2024-01-01"], ["云仓旗舰店:王芳02", "启用", "", "2024-01-01"],
                   ["云仓旗舰店:李娜", "启用", "", "2024-01-01"]],
                  [["张伟", "2025-06-01 09:00", "1.1.1.1"],            # the sub-account part alone
                   ["云仓旗舰店:王芳02", "2025-05-01 09:00", "2.2.2.2"],
                   ["店铺乙:赵六", "2025-06-01 09:00", "3.3.3.3"]])  # in no export: an account of its own
    zhang = views["taobao:云仓旗舰店:张伟"]  # NFKC: the full-width colon of the export is an ASCII one
    assert [p.employee_id for p in zhang.people] == ["E1"] and zhang.matched_by == "name_in_account"
    assert [(e.time, e.ip) for e in zhang.events] == [(dt.datetime(2025, 6, 1, 9), "1.1.1.1")]
    wang = views["taobao:云仓旗舰店:王芳02"]
    assert [p.employee_id for p in wang.people] == ["E2"] and wang.people[0].departed(AS_OF)
    li = views["taobao:云仓旗舰店:李娜"]
    assert li.people == [] and "matches 2 roster rows (E3, E4)" in li.ambiguous[0]
    assert views["other:店铺乙:赵六"].kind == "log_only"


def test_absence_from_a_log_that_covers_the_period_is_stale(tmp_path):
    # an export without a last-login column: the log (from 2025-01-01) is what tells
    views = _join(tmp_path, [["E1", "张伟", "在职", ""], ["E2", "王芳", "在职", ""]],
                  [["店:张伟", "启用", "2023-01-01"], ["店:王芳", "启用", "2023-01-01"]],
                  [["店:张伟", "2025-01-01 09:00", "1.1.1.1"], ["店:张伟", "2025-06-29 09:00", "1.1.1.1"]],
                  sub_header=("子账号", "状态", "创建时间"))
    checks = AccountChecks(FindingFactory(core_checks.checks(), None), AS_OF, 90, None, True, True, True)
    found = {(f.check_id, f.target.ref): f for f in checks.run(list(views.values()), [], None,
                                                                 shared_pc(None, [], AS_OF, 90))}
    stale = found[("AC-003", "taobao:店:王芳")]
    assert stale.evidence["no_login_in_logs_since"] == "2025-01-01 09:00:00" and stale.evidence["days_since_login"] == 180
    assert not any(ref == "taobao:店:张伟" for _, ref in found)


def _ev(ip, h, m, action="login"):
    return LoginEvent(dt.datetime(2025, 6, 1, h, m), ip=ip, action=action, source="log.csv")


def test_sessions_and_overlaps():
    # one person moving from the office to home in the evening: no overlap
    moving = [_ev("1.1.1.1", 9, 0), _ev("1.1.1.1", 9, 20), _ev("1.1.1.1", 17, 0, "logout"), _ev("2.2.2.2", 21, 0)]
    assert overlapping(sessions(moving)) == []
    # two people at the same time
    both = [_ev("1.1.1.1", 9, 0), _ev("2.2.2.2", 9, 15), _ev("1.1.1.1", 9, 25, "view"), _ev("2.2.2.2", 9, 40, "export")]
    pairs = overlapping(sessions(both))
    assert len(pairs) == 1 and {pairs[0][0].ip, pairs[0][1].ip} == {"1.1.1.1", "2.2.2.2"}
    # a logout ends the session: the next login elsewhere is not an overlap
    handover = [_ev("1.1.1.1", 9, 0), _ev("1.1.1.1", 9, 4, "logout"), _ev("2.2.2.2", 9, 5)]
    assert overlapping(sessions(handover)) == []
