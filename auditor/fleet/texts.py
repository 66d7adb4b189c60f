"""Labels of the fleet report and the fleet commands, Chinese first. Keys the single-PC report already has
(severities, verdicts, areas, "r.*") come from auditor.i18n."""

from __future__ import annotations

from ..i18n import t as base_t

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "云仓电脑个人信息泄露隐患汇总报告",
        "subtitle": "全部站点与电脑的最新检查结果、趋势与未上报电脑",
        "as_of": "统计截至", "period": "统计期间", "since": "起", "all_time": "全部报告", "generated": "生成时间",
        "contents": "目录",
        "overview": "概览", "sites_n": "站点", "pcs_n": "电脑", "reports_n": "报告（期间内）",
        "silent_n": "未按时上报的电脑", "pcs_critical": "有严重级发现的电脑", "pcs_not_met": "有法定义务未履行的电脑",
        "rejected_n": "被拒收的报告文件",
        "worst_sites": "最需关注的站点", "worst_sites_note":
            "排序：最新报告中严重级发现数、高级发现数（多者在前），其次最低得分、未上报电脑数。",
        "sites": "各站点情况", "site": "站点", "no_site": "（未标注站点）", "pcs": "电脑数",
        "avg_score": "平均得分", "min_score": "最低得分", "worst_grade": "最差等级",
        "site_duties": "各站点法定义务履行情况",
        "site_duties_note": "每格为该站点各电脑最新报告的结论：任一电脑未履行即为“未履行”，全部已履行才为“已履行”；"
                            "括号内为未履行的电脑数 / 电脑总数。结论由每份报告自身给出（auditor.compliance），此处只做汇总。",
        "pc_table": "各电脑最新检查结果", "hostname": "电脑", "role": "角色", "last_scan": "最近检查",
        "days_ago": "距今天数", "score": "得分", "grade": "等级", "reports": "报告数", "status": "状态",
        "silent": "未上报", "reporting": "正常上报",
        "silent_title": "未按时上报的电脑（本身即为发现）",
        "silent_note": "最近一次检查报告早于 {days} 天前（截至 {as_of}）的电脑。停止检查的电脑本身就是隐患。",
        "no_silent": "所有电脑都在 {days} 天内上报了检查报告。",
        "trends": "每周趋势", "week": "周", "week_start": "起始日",
        "trends_note": "每台电脑取该周最后一份报告；严重程度为这些报告的发现数之和。",
        "pcs_reporting": "上报电脑数",
        "tools": "最常见的远程控制软件", "tool": "软件", "category": "类别", "findings": "发现数",
        "worst": "最高严重程度", "no_tools": "各电脑最新报告中没有远程控制软件。",
        "locations": "导出文件最常见的存放位置", "location": "位置", "records": "涉及记录数",
        "no_locations": "各电脑最新报告中没有面单/订单导出文件。",
        "platforms": "导出来源后台", "platform": "后台", "no_platforms": "各电脑最新报告中没有后台导出记录。",
        "rejected": "被拒收的报告文件", "file": "文件", "reason": "原因", "first_seen": "首次发现",
        "no_rejected": "没有被拒收的报告文件。",
        "rejected_note": "这些文件没有载入：格式错误、被截断、被改动（摘要或签名不符）或报告版本未知。被改动的报告应当作安全事件核查。",
        "method": "说明",
        "method_text": "每台电脑以“站点 + 主机名”区分，取统计期间内最新的一份报告；报告按其 SHA-256 摘要去重，载入前已核对摘要"
                       "（提供密钥时还核对签名）。法定义务结论、得分与等级均来自各报告（auditor.compliance），本报告只做汇总。",
        "store": "数据库", "severity_counts": "发现（最新报告）",
        "loc.desktop": "桌面", "loc.downloads": "下载文件夹", "loc.documents": "文档文件夹", "loc.wechat": "微信接收文件",
        "loc.qq": "QQ 接收文件", "loc.dingtalk": "钉钉文件", "loc.temp": "临时文件夹", "loc.removable": "U 盘 / 移动存储",
        "loc.other_drive": "其他磁盘（非 C 盘）", "loc.other": "其他文件夹",
        "cat.remote_support": "远程协助", "cat.rmm": "远程运维管理", "cat.vnc": "VNC", "cat.rdp": "RDP 客户端",
        "cat.tunnel": "内网穿透", "cat.rat": "远控木马", "cat.builtin": "系统内置", "cat.im_assist": "聊天软件远程协助",
        "cat.os_feature": "系统远程功能",
        "sheet.worst": "重点站点", "sheet.sites": "站点", "sheet.duties": "站点义务", "sheet.pcs": "电脑",
        "sheet.silent": "未上报电脑", "sheet.weekly": "每周趋势", "sheet.weekly_sites": "站点每周得分",
        "sheet.tools": "远程控制软件", "sheet.locations": "导出位置", "sheet.platforms": "导出来源",
        "sheet.rejected": "拒收文件",
        # command line
        "ingest.summary": "{files} 个文件：新载入 {loaded}，已在库中 {known}，拒收 {rejected}",
        "ingest.rejected": "拒收的文件：",
        "ingest.store": "数据库",
        "written": "已写入",
        "export.summary": "{docs} 条文档（{fmt}）",
        "export.skipped": "跳过 {n} 条库中文档：不是有效的检查发现（可能由旧版本载入）",
        "push.ok": "已推送 {ok} 条文档到 {url}",
        "push.existing": "{n} 条此前已推送（未重复写入）",
        "push.templates": "已安装索引模板",
        "push.failed": "推送失败",
    },
    "en": {
        "title": "Cloud-warehouse fleet report: personal-information leak risks",
        "subtitle": "Latest results of every site and PC, trends, and PCs that stopped reporting",
        "as_of": "As of", "period": "Period", "since": "from", "all_time": "all reports", "generated": "Generated",
        "contents": "Contents",
        "overview": "Overview", "sites_n": "Sites", "pcs_n": "PCs", "reports_n": "Reports (in period)",
        "silent_n": "PCs not reporting", "pcs_critical": "PCs with critical findings",
        "pcs_not_met": "PCs with a legal duty not met", "rejected_n": "Rejected report files",
        "worst_sites": "Sites needing attention first", "worst_sites_note":
            "Order: critical findings, then high findings in the latest reports (most first), then the lowest "
            "score, then PCs not reporting.",
        "sites": "Sites", "site": "Site", "no_site": "(no site label)", "pcs": "PCs",
        "avg_score": "Average score", "min_score": "Lowest score", "worst_grade": "Worst grade",
        "site_duties": "Legal duties per site",
        "site_duties_note": "Each cell sums up the latest report of every PC of the site: \"not met\" when any PC "
                            "does not meet the duty, \"met\" only when all do; in brackets, PCs not meeting it / PCs. "
                            "The verdicts come from each report (auditor.compliance); this report only adds them up.",
        "pc_table": "Latest result per PC", "hostname": "PC", "role": "Role", "last_scan": "Latest scan",
        "days_ago": "Days ago", "score": "Score", "grade": "Grade", "reports": "Reports", "status": "Status",
        "silent": "not reporting", "reporting": "reporting",
        "silent_title": "PCs that stopped reporting (a finding in itself)",
        "silent_note": "PCs whose latest scan report is more than {days} days old (as of {as_of}). A PC that "
                       "stopped scanning is itself a risk.",
        "no_silent": "Every PC reported a scan within {days} days.",
        "trends": "Weekly trends", "week": "Week", "week_start": "Starts",
        "trends_note": "Each PC's last report of the week; severities are the sums of their findings.",
        "pcs_reporting": "PCs reporting",
        "tools": "Most common remote-control tools", "tool": "Tool", "category": "Category", "findings": "Findings",
        "worst": "Worst severity", "no_tools": "No remote-control tool in the PCs' latest reports.",
        "locations": "Most common places of export files", "location": "Location", "records": "Records of people",
        "no_locations": "No waybill/order export in the PCs' latest reports.",
        "platforms": "Back offices the exports came from", "platform": "Back office",
        "no_platforms": "No back-office export in the PCs' latest reports.",
        "rejected": "Rejected report files", "file": "File", "reason": "Reason", "first_seen": "First seen",
        "no_rejected": "No report file was rejected.",
        "rejected_note": "These files were not loaded: malformed, truncated, altered (digest or signature does not "
                         "match) or of an unknown report version. An altered report should be looked into as a "
                         "security incident.",
        "method": "Method",
        "method_text": "A PC is a site + host name; its latest report in the period counts. Reports are de-duplicated "
                       "by their SHA-256 digest, which was checked on loading (and the signature, with a key). "
                       "Duty verdicts, scores and grades come from the reports (auditor.compliance); this report only "
                       "adds them up.",
        "store": "Store", "severity_counts": "Findings (latest reports)",
        "loc.desktop": "Desktop", "loc.downloads": "Downloads", "loc.documents": "Documents",
        "loc.wechat": "WeChat received files", "loc.qq": "QQ received files", "loc.dingtalk": "DingTalk files",
        "loc.temp": "Temporary folder", "loc.removable": "USB / removable drive",
        "loc.other_drive": "Other drive (not C:)", "loc.other": "Other folder",
        "cat.remote_support": "remote support", "cat.rmm": "RMM", "cat.vnc": "VNC", "cat.rdp": "RDP client",
        "cat.tunnel": "tunnel", "cat.rat": "RAT", "cat.builtin": "built in", "cat.im_assist": "messenger assistance",
        "cat.os_feature": "OS remote feature",
        "sheet.worst": "Worst sites", "sheet.sites": "Sites", "sheet.duties": "Duties per site", "sheet.pcs": "PCs",
        "sheet.silent": "Silent PCs", "sheet.weekly": "Weekly", "sheet.weekly_sites": "Weekly per site",
        "sheet.tools": "Remote tools", "sheet.locations": "Export locations", "sheet.platforms": "Back offices",
        "sheet.rejected": "Rejected files",
        "ingest.summary": "{files} files: {loaded} loaded, {known} already in the store, {rejected} rejected",
        "ingest.rejected": "Rejected files:",
        "ingest.store": "Store",
        "written": "Written",
        "export.summary": "{docs} documents ({fmt})",
        "export.skipped": "{n} stored documents skipped: not valid findings (stored by an earlier version?)",
        "push.ok": "Pushed {ok} documents to {url}",
        "push.existing": "{n} were there already (sent before; not stored twice)",
        "push.templates": "Index templates installed",
        "push.failed": "Push failed",
    },
}


def t(lang: str, key: str, **params: object) -> str:
    table = STRINGS.get(lang, STRINGS["zh"])
    if key in table:
        text = table[key]
        return text.format(**params) if params else text
    return base_t(lang, key, **params)


# --------------------------------------------------------------------------- outside text on the console

_UNSEEN = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_UNSEEN.update({c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                                            *range(0x2066, 0x206A), 0xFEFF)})


def shown(text: str, limit: int = 1000) -> str:
    """Text from outside (a file name in the share, a server's answer) for one console line: control characters,
    line breaks and bidi overrides written as escapes (shown, not obeyed), cut at ``limit`` characters."""
    text = str(text).translate(_UNSEEN)
    return text if len(text) <= limit else text[:limit] + "…"
