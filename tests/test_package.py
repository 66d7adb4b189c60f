"""Packaging is part of the product: a wheel built from the repo, installed in a clean venv, runs a scan
with the check packs it carries (not the ones in this checkout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, validate_report

pytestmark = pytest.mark.slow  # a wheel built and installed into a fresh venv


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    wheels = list(out.glob("yuncang_auditor-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


def test_wheel_carries_the_data_packs(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "auditor/_packs/checks/rules/remote.toml" in names
    assert "auditor/_packs/checks/legal.toml" in names
    assert "auditor/_packs/reports/schema/report.schema.json" in names
    assert "auditor/_packs/reports/siem/elasticsearch-templates.json" in names  # `fleet export --template`
    assert sum(n.startswith("auditor/_packs/checks/remote-tools/") and n.endswith(".toml") for n in names) >= 100
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)


def test_wheel_in_a_clean_venv_runs_a_scan(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    res = subprocess.run([str(bindir / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "r.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUDITOR_CHECKS_DIR")}
    # run from an empty folder so nothing from this checkout can be picked up
    res = subprocess.run([str(bindir / "auditor"), "scan", "--only", "remote", "-o", str(out), "-q"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert res.returncode in (0, 1), res.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    validate_report(report)
    assert report["scope"]["catalog_tools"] >= 100
    where = subprocess.run([str(bindir / "python"), "-c", "import auditor.resources as r; print(r.pack_dir('checks'))"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)
    assert str(venv) in where.stdout
