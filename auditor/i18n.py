"""Terminal and report labels in Chinese (default) and English."""

from __future__ import annotations

LANGS = ("zh", "en")

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "云仓个人信息泄露隐患检查",
        "host": "主机", "role": "角色", "unspecified": "未指定", "waybill-printing": "打单电脑",
        "office": "办公电脑", "warehouse": "仓库电脑", "server": "服务器", "areas": "检查范围",
        "severity": "严重程度", "count": "数量", "check": "检查项", "finding": "发现", "target": "对象",
        "critical": "严重", "high": "高", "medium": "中", "low": "低", "info": "提示",
        "no_findings": "未发现问题。",
        "coverage": "覆盖情况", "source": "来源", "status": "状态", "examined": "已检查", "skipped": "跳过",
        "ok": "完成", "partial": "部分", "no_data": "无数据", "failed": "失败", "not_assessed": "未评估",
        "more": "另有 {n} 项，见报告文件",
        "written": "报告已写入",
        "exit_hint": "存在 {sev} 及以上级别的发现（退出码 1）",
    },
    "en": {
        "title": "Cloud-warehouse personal-information leak audit",
        "host": "Host", "role": "Role", "unspecified": "unspecified", "waybill-printing": "waybill printing",
        "office": "office", "warehouse": "warehouse", "server": "server", "areas": "Areas",
        "severity": "Severity", "count": "Count", "check": "Check", "finding": "Finding", "target": "Target",
        "critical": "critical", "high": "high", "medium": "medium", "low": "low", "info": "info",
        "no_findings": "No findings.",
        "coverage": "Coverage", "source": "Source", "status": "Status", "examined": "Examined", "skipped": "Skipped",
        "ok": "ok", "partial": "partial", "no_data": "no data", "failed": "failed", "not_assessed": "not assessed",
        "more": "{n} more in the report file",
        "written": "Report written",
        "exit_hint": "Findings at or above {sev} (exit code 1)",
    },
}


def t(lang: str, key: str, **params: object) -> str:
    text = STRINGS.get(lang, STRINGS["zh"]).get(key, key)
    return text.format(**params) if params else text
