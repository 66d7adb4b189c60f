"""Offline Windows trees read from their hive files (auditor.adapters.hives, regipy) and the SAM accounts in them
(auditor.accounts.sam): on the committed hives of tests/fixtures/windows/hives (written by hivex from the recorded
regedit exports, see tests/hivekit.py), on hives made here by hivex while the test runs, and on damaged ones."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
from pathlib import Path, PureWindowsPath

import pytest

import hivekit
from conftest import findings_of, load_report, run_cli
from auditor import safeio
from auditor.accounts import sam
from auditor.adapters.hives import HiveRegistry
from auditor.adapters.regfile import RegFile
from auditor.core.context import ci_child

EXPORT_KEYS = (r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion", r"HKLM\SOFTWARE\WOW6432Node",
               r"HKLM\SOFTWARE\Policies", r"HKLM\SYSTEM\CurrentControlSet\Services",
               r"HKLM\SYSTEM\CurrentControlSet\Enum", r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server",
               r"HKLM\SYSTEM\CurrentControlSet\Control\Remote Assistance", r"HKLM\SYSTEM\MountedDevices",
               rf"HKU\{hivekit.USER_SID}")


def open_tree(root: Path) -> HiveRegistry:
    tree = safeio.tree(root)
    return HiveRegistry(tree, lambda p: ci_child(root, "/".join(PureWindowsPath(p).parts[1:]), tree))


def walk(view, key: str, out: dict) -> dict:
    values = view.values(key)
    if values is not None:
        out[key.casefold()] = values
    for sub in view.subkeys(key) or []:
        walk(view, f"{key}\\{sub}", out)
    return out


def assert_same_as_exports(reg: HiveRegistry) -> None:
    exported = RegFile.from_exports((name, (hivekit.FIX / name).read_bytes()) for name in hivekit.REG_SOURCES)
    want, have = {}, {}
    for key in EXPORT_KEYS:
        walk(exported, key, want)
        walk(reg, key, have)
    assert len(want) > 60
    assert have == want


@pytest.fixture
def fixture_tree(tmp_path) -> Path:
    return hivekit.windows_tree(tmp_path / "C")


def test_committed_hives_hold_what_the_exports_hold(fixture_tree):
    """Every key and value of the recorded exports, read from the hive files instead (types as RegFile gives
    them: REG_EXPAND_SZ unexpanded, REG_MULTI_SZ lists, DEVPROP FILETIMEs as bytes)."""
    reg = open_tree(fixture_tree)
    assert_same_as_exports(reg)
    assert reg.damaged == []
    files = {h.mounted_at: h for h in reg.read_hives()}
    assert {k: (h.name, h.status) for k, h in files.items()} == {
        r"HKLM\SOFTWARE": ("SOFTWARE", "read"), r"HKLM\SYSTEM": ("SYSTEM", "read"), r"HKLM\SAM": ("SAM", "not_read"),
        rf"HKU\{hivekit.USER_SID}": ("NTUSER.DAT", "read"), r"HKU\S-1-5-18": ("NTUSER.DAT", "not_read")}
    assert files[rf"HKU\{hivekit.USER_SID}"].path == r"C:\Users\chenmo\NTUSER.DAT"  # %SystemDrive% expanded
    assert "without an NTUSER.DAT" in files[r"HKU\S-1-5-18"].reason


def test_hives_made_here_by_hivex(tmp_path):
    """The same, on hives hivex writes now from the recorded exports (an independent REGF writer)."""
    if not hivekit.available():
        pytest.fail(f"{hivekit.TOOL} missing: apt-get install libwin-hivex-perl")
    hives = hivekit.make_hives(tmp_path / "made")
    assert {p.read_bytes()[:4] for p in hives.values()} == {b"regf"}
    assert_same_as_exports(open_tree(hivekit.windows_tree(tmp_path / "C", hives)))


def test_mounting_like_the_running_pc(fixture_tree):
    reg = open_tree(fixture_tree)
    assert reg.control_set() == "ControlSet001"  # SYSTEM\Select\Current
    assert sorted(reg.subkeys("HKLM")) == ["SAM", "SOFTWARE", "SYSTEM"]
    assert reg.subkeys("HKU") == [hivekit.USER_SID]  # S-1-5-18's profile has no NTUSER.DAT in this tree
    assert reg.values(r"HKLM\SYSTEM\CurrentControlSet\Services\AnyDesk") == \
        reg.values(r"hkey_local_machine\system\controlset001\services\anydesk")  # any case, either name
    assert reg.values(r"HKCU\Software") is None and reg.subkeys(r"HKLM\SECURITY") is None
    assert reg.values(r"HKLM\SOFTWARE\No\Such\Key") is None
    # a user folder without a profile entry is mounted under its folder name
    other = fixture_tree / "Users" / "lisi"
    other.mkdir()
    shutil.copy(fixture_tree / "Users" / "chenmo" / "NTUSER.DAT", other / "NTUSER.DAT")
    reg = open_tree(fixture_tree)
    assert sorted(reg.subkeys("HKU")) == sorted([hivekit.USER_SID, "lisi"])


def test_sam_accounts(fixture_tree):
    reg = open_tree(fixture_tree)
    accounts, problems = sam.collect(reg, dt.date(2026, 12, 1))
    assert problems == [] and reg.damaged == []
    by = {a.name: a for a in accounts}
    assert sorted(by) == ["Administrator", "Guest", "cangku02", "chenmo", "temp01", "zhangwei"]
    chen = by["chenmo"]
    assert (chen.uid, chen.full_name, chen.enabled, chen.locked, chen.admin, chen.guest) == \
        (1001, "陈默", True, False, True, False)
    assert chen.last_login == dt.datetime(2026, 11, 20, 8, 41, 5)  # local time of the PC (China, UTC+8)
    assert chen.password_set == dt.date(2026, 1, 4) and chen.password_never_expires is True
    assert chen.groups == ["Administrators", "Users"] and chen.sources["account"] == "SAM hive"
    assert chen.facts["logon_count"] == 412 and chen.facts["account_control"] == "0x0210"
    assert by["Administrator"].enabled is False and by["Administrator"].admin is True
    guest = by["Guest"]
    assert guest.guest and guest.enabled is False and guest.never_logged_in and guest.password_required is False
    assert by["cangku02"].locked is True and by["cangku02"].enabled is True
    assert by["temp01"].never_logged_in is True and by["temp01"].password_required is False
    assert by["zhangwei"].admin is False and by["zhangwei"].last_login == dt.datetime(2026, 3, 14, 17, 30)
    assert {h.mounted_at: h.status for h in reg.read_hives()}[r"HKLM\SAM"] == "read"


def test_sam_without_a_time_zone_is_utc(fixture_tree, tmp_path):
    if not hivekit.available():
        pytest.fail(f"{hivekit.TOOL} missing: apt-get install libwin-hivex-perl")
    system = fixture_tree / "Windows" / "System32" / "config" / "SYSTEM"
    hivekit.write_hive(system, [("Select", ['"Current"=dword:00000001'])])
    accounts, _ = sam.collect(open_tree(fixture_tree), dt.date(2026, 12, 1))
    chen = next(a for a in accounts if a.name == "chenmo")
    assert chen.last_login == dt.datetime(2026, 11, 20, 0, 41, 5)


# --------------------------------------------------------------------------- damaged and hostile hive files

def _config(root: Path) -> Path:
    return root / "Windows" / "System32" / "config"


def test_missing_and_unreadable_hives_are_named(fixture_tree):
    (_config(fixture_tree) / "SAM").unlink()
    (_config(fixture_tree) / "SYSTEM").write_bytes(b"not a hive at all" * 10)
    software = _config(fixture_tree) / "SOFTWARE"
    software.unlink()
    os.mkfifo(software)  # a FIFO named like the hive: refused by safeio, never waited on
    reg = open_tree(fixture_tree)
    assert sam.collect(reg, dt.date(2026, 12, 1)) is None
    assert reg.subkeys(r"HKLM\SYSTEM\CurrentControlSet\Services") is None
    assert reg.subkeys("HKU") == ["chenmo"]  # no SOFTWARE: the profile folder names the hive
    status = {h.name: (h.status, h.reason) for h in reg.read_hives() if h.mounted_at.startswith("HKLM")}
    assert status["SAM"] == ("missing", "not in the tree")
    assert status["SYSTEM"] == ("not_a_hive", "no regf header")
    assert status["SOFTWARE"][0] == "unreadable" and "FIFO" in status["SOFTWARE"][1]


def test_a_link_in_the_tree_never_leaves_it(fixture_tree, tmp_path):
    """A hive that is a link to a file outside the tree is resolved inside it (--root is a chroot)."""
    outside = tmp_path / "outside-SAM"
    shutil.copy(_config(fixture_tree) / "SAM", outside)
    (_config(fixture_tree) / "SAM").unlink()
    (_config(fixture_tree) / "SAM").symlink_to(outside)
    reg = open_tree(fixture_tree)
    assert sam.collect(reg, dt.date(2026, 12, 1)) is None
    assert {h.name: h.status for h in reg.read_hives()}["SAM"] in ("missing", "unreadable")


def test_damaged_cells_are_problems_not_crashes(fixture_tree):
    """Every byte of the SAM's key and value cells overwritten in turn with garbage: no exception escapes, what
    is readable is read, what is not is a problem."""
    path = _config(fixture_tree) / "SAM"
    good = path.read_bytes()
    outcomes = set()
    for at in range(4096 + 32, len(good) - 4, 97):
        bad = bytearray(good)
        bad[at:at + 4] = b"\xff\xff\xff\x7f"
        path.write_bytes(bytes(bad))
        reg = open_tree(fixture_tree)
        got = sam.collect(reg, dt.date(2026, 12, 1))
        outcomes.add("none" if got is None else "accounts" if got[0] else "empty")
    path.write_bytes(good)
    assert "accounts" in outcomes


def test_a_dirty_hive_says_its_logs_were_not_applied(fixture_tree):
    path = _config(fixture_tree) / "SOFTWARE"
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, struct.unpack_from("<I", data, 4)[0] + 1)  # primary sequence ahead
    path.write_bytes(bytes(data))
    reg = open_tree(fixture_tree)
    assert reg.subkeys(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall")  # read as it is
    hive = {h.name: h for h in reg.read_hives()}["SOFTWARE"]
    assert hive.dirty and ".LOG1/.LOG2" in hive.reason


def test_hive_over_its_bound_is_not_read(fixture_tree, monkeypatch):
    import auditor.adapters.hives as hives

    monkeypatch.setitem(hives.MAX_HIVE, "SAM", 8192)  # the real bound is 16 MiB; the fixture's SAM is 16 KiB
    reg = open_tree(fixture_tree)
    assert sam.collect(reg, dt.date(2026, 12, 1)) is None
    status = {h.name: h for h in reg.read_hives()}["SAM"]
    assert status.status == "too_large" and "bound" in status.reason


def test_values_claiming_more_than_the_hive_holds(fixture_tree):
    """A value whose header claims 2 GiB, or data beyond the end of the file: left out with a problem, the key's
    other values still read."""
    path = _config(fixture_tree) / "SYSTEM"
    data = bytearray(path.read_bytes())
    reg = open_tree(fixture_tree)
    anydesk = reg.values(r"HKLM\SYSTEM\CurrentControlSet\Services\AnyDesk")
    assert anydesk["DisplayName"]
    # find the vk cell of "DisplayName" under AnyDesk and make its data size huge
    at = data.find(b"vk\x0b\x00")  # name length 11: DisplayName
    hits = []
    while at != -1:
        if data[at + 20:at + 31] == b"DisplayName":
            hits.append(at)
        at = data.find(b"vk\x0b\x00", at + 1)
    assert hits
    for hit in hits:
        struct.pack_into("<I", data, hit + 4, 0x7FFF0000)
    path.write_bytes(bytes(data))
    reg = open_tree(fixture_tree)
    values = reg.values(r"HKLM\SYSTEM\CurrentControlSet\Services\AnyDesk")
    assert "DisplayName" not in values and values["ImagePath"]
    assert any("1 MiB bound" in reason for _, reason in reg.damaged)


def test_scan_of_an_offline_tree_reads_its_hives(fixture_tree, tmp_path):
    """`scan --root` on a Windows tree with hive files and no --registry-export: the Uninstall keys, Run keys
    (HKLM and the user's NTUSER.DAT), services, RDP settings, USB keys and the SAM's local accounts are read, and
    the coverage names the hives read."""
    out = tmp_path / "r.json"
    res = run_cli("scan", "--root", str(fixture_tree), "--only", "remote", "--only", "accounts", "--only", "trail",
                  "--as-of", "2026-12-01", "--output", str(out), "--quiet")
    assert res.returncode == 1, res.stderr
    report = load_report(out)
    cov = {(c["area"], c["source"]): c for c in report["coverage"]}
    hives = cov[("remote", "registry:hives")]
    assert hives["status"] == "ok" and hives["examined"] == 4
    for path in (r"C:\Windows\System32\config\SOFTWARE", r"C:\Windows\System32\config\SYSTEM",
                 r"C:\Windows\System32\config\SAM", r"C:\Users\chenmo\NTUSER.DAT"):
        assert path in hives["note"]
    for source, examined in (("installed:uninstall-keys", 13), ("services:registry", 10),
                             ("autostart:run-keys", 9), ("settings:rdp+remote-assistance", 2)):
        assert (cov[("remote", source)]["status"], cov[("remote", source)]["examined"]) == ("ok", examined), source
    assert cov[("accounts", "os-accounts:sam-hive")]["examined"] == 6
    assert cov[("trail", "removable:usb-registry")]["examined"] == 2
    found = {(f["check_id"], f["target"]["ref"]) for f in findings_of(report)}
    for tool in ("anydesk", "sunlogin", "teamviewer", "todesk"):
        assert ("RC-003", tool) in found  # installed (Uninstall keys) and set to start (services, Run keys)
    assert ("RC-005", "frp") in found  # the per-user Run value in NTUSER.DAT
    assert ("RC-010", "rdp") in found and ("RC-011", "remote_assistance") in found
    assert ("AC-007", "os:zhangwei") in found and ("AC-010", "os:temp01") in found  # from the SAM
    # with --registry-export the exports are read and the hives are not
    res = run_cli("scan", "--root", str(fixture_tree), "--only", "accounts", "--registry-export",
                  str(hivekit.FIX / "run_keys.reg"), "--output", str(out), "--quiet")
    report = load_report(out)
    sources = {c["source"]: c for c in report["coverage"]}
    assert "registry:hives" not in sources and sources["os-accounts:sam-hive"]["status"] == "not_assessed"
