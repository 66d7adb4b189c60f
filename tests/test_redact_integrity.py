"""Secrets never reach evidence; reports carry a digest (and an HMAC with --sign-key)."""

from __future__ import annotations

import json

from auditor.integrity import check, seal
from auditor.redact import redact_cmdline, redact_command
from conftest import load_report, run_cli


def test_secrets_in_command_lines_are_masked():
    assert redact_cmdline(["frpc", "-t", "s3cr3t", "-c", "frpc.ini"]) == ["frpc", "-t", "***", "-c", "frpc.ini"]
    assert redact_cmdline(["npc", "-server=1.2.3.4:8024", "-vkey=abcdef"]) == ["npc", "-server=1.2.3.4:8024", "-vkey=***"]
    assert redact_cmdline(["ngrok", "authtoken", "x", "--authtoken", "2abc"]) == ["ngrok", "authtoken", "x", "--authtoken", "***"]
    assert redact_cmdline(["x11vnc", "-passwd", "hunter2", "-forever"]) == ["x11vnc", "-passwd", "***", "-forever"]
    assert redact_command("cloudflared tunnel run --token eyJhIjoi") == "cloudflared tunnel run --token ***"
    assert redact_cmdline(["ToDesk.exe", "--show", "--localPort=35600"]) == ["ToDesk.exe", "--show", "--localPort=35600"]


def test_digest_detects_a_change():
    report = seal({"schema_version": "1.0", "findings": [{"a": "张三"}]})
    assert check(report) == []
    report["findings"][0]["a"] = "李四"
    assert check(report) == ["SHA-256 digest does not match the content: the report was altered"]


def test_signed_report_from_the_cli(tmp_path, spawn):
    key = tmp_path / "key"
    key.write_bytes(b"0123456789abcdef-site-key")
    out = tmp_path / "r.json"
    run_cli("scan", "--only", "remote", "-q", "--sign-key", str(key), "-o", str(out))
    report = load_report(out)
    assert check(report, key.read_bytes()) == []
    assert check(report, b"another-key-0123456789") == [
        "HMAC signature does not match: altered, or signed with another key"]
    short = tmp_path / "short"
    short.write_bytes(b"abc")
    res = run_cli("scan", "--only", "remote", "-q", "--sign-key", str(short))
    assert res.returncode == 2 and "too short" in res.stderr
