"""Export trail, removable drives: USB storage devices and drive letters from a regedit export of USBSTOR and
MountedDevices, real .lnk files (pylnk3) in a user's Recent folder, an AutomaticDestinations Jump List, and an
export saved straight to a USB drive letter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from auditor.adapters.regfile import RegFile
from auditor.scan.pipeline import read_registry_exports
from auditor.trail import usb
from auditor.trail.judge import normalized_name
from conftest import REPO, findings_of, load_report, run_cli
from trailkit import Dl, make_history, make_jump_list, make_lnk, tree_state

USB_REG = REPO / "tests" / "fixtures" / "windows" / "usb_storage.reg"
NOW = dt.datetime.now().astimezone()
PDD = "https://mms.pinduoduo.com/orders/exportExcel?exportType=0"


def test_usbstor_and_mounted_devices_from_a_regedit_export():
    reg = read_registry_exports([USB_REG])
    assert reg.problems == []
    devices = usb.usb_devices(reg)
    letters = usb.mounted_usb_letters(reg)
    usb.attach_letters(devices, letters)
    assert letters == {"E": ("Disk&Ven_Kingston&Prod_DataTraveler_3.0&Rev_PMAP", "60A44C3FACC9E36179D4C93B&0")}
    king, san = devices
    assert (king.vendor, king.product, king.revision) == ("Kingston", "DataTraveler 3.0", "PMAP")
    assert king.friendly_name == "Kingston DataTraveler 3.0 USB Device" and king.drive_letters == ["E:"]
    assert king.last_arrival == dt.datetime(2026, 3, 2, 8, 41, 7, tzinfo=dt.timezone.utc)
    assert king.last_removal == dt.datetime(2026, 3, 2, 9, 3, 55, tzinfo=dt.timezone.utc)
    assert king.installed == dt.datetime(2026, 1, 5, 1, 12, 40, tzinfo=dt.timezone.utc)
    assert not king.serial_generated
    assert san.times_readable is False and san.drive_letters == []  # exported without SYSTEM rights


def test_registry_without_usb_keys():
    reg = RegFile.from_text("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n")
    assert usb.usb_devices(reg) is None and usb.mounted_usb_letters(reg) is None


def test_real_lnk_files_with_chinese_paths(tmp_path):
    lnk = make_lnk(tmp_path / "淘宝订单.xlsx.lnk", "E:\\备份\\淘宝订单.xlsx", removable=True, serial=0xA1B2C3D4,
                   label="U盘")
    parsed = usb.parse_lnk_bytes(lnk.read_bytes())
    assert parsed["target_path"] == "E:\\备份\\淘宝订单.xlsx"
    assert parsed["drive_type"] == "DRIVE_REMOVABLE" and parsed["drive_serial"] == "0xa1b2c3d4"
    assert parsed["volume_label"] == "U盘"
    fixed = usb.parse_lnk_bytes(make_lnk(tmp_path / "b.lnk", "C:\\x\\y.xlsx", removable=False).read_bytes())
    assert fixed["drive_type"] == "DRIVE_FIXED"
    assert usb.parse_lnk_bytes(b"L\0\0\0" + b"\x01" * 60) is None
    assert usb.parse_lnk_bytes(b"") is None


def test_a_shortcut_with_an_invalid_dos_time_in_a_shell_item_still_names_its_target(tmp_path):
    # seconds 30 and 31 are written by pylnk3 as a DOS time of 60 and 62 seconds, invalid as in damaged links:
    # LnkParse3 before 1.4 raised NameError on its own warning there and the whole shortcut was lost (the
    # pyproject floor is 1.4); 58 and 59 spill into the minutes and stay valid times
    for second in (30, 31, 58, 59):
        lnk = make_lnk(tmp_path / f"{second}.lnk", "E:\\备份\\淘宝订单.xlsx", removable=True,
                       item_time=dt.datetime(2026, 12, 6, 0, 1, second))
        parsed = usb.parse_lnk_bytes(lnk.read_bytes())
        assert parsed is not None and parsed["target_path"] == "E:\\备份\\淘宝订单.xlsx", second
        assert parsed["drive_type"] == "DRIVE_REMOVABLE"


def test_recent_folder_and_jump_list(tmp_path):
    home = tmp_path / "ivy"
    recent = home / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Recent"
    make_lnk(recent / "a.xlsx.lnk", "E:\\a.xlsx", removable=True)
    (recent / "broken.lnk").write_bytes(b"garbage")
    streams = {"1": make_lnk(tmp_path / "s1.lnk", "F:\\订单\\拼多多订单导出.zip", removable=True).read_bytes(),
               "2": make_lnk(tmp_path / "s2.lnk", "C:\\Users\\ivy\\Documents\\x.xlsx", removable=False).read_bytes()}
    make_jump_list(recent / "AutomaticDestinations" / "5f7b5f1e01b83767.automaticDestinations-ms", streams)
    (recent / "AutomaticDestinations" / "bad.automaticDestinations-ms").write_bytes(b"not ole")
    problems: list[tuple[str, str]] = []
    targets, examined = usb.recent_shortcuts(home, problems)
    assert examined == 4
    assert sorted((t.kind, t.target_path, t.drive_type) for t in targets) == [
        ("jump_list", "C:\\Users\\ivy\\Documents\\x.xlsx", "DRIVE_FIXED"),
        ("jump_list", "F:\\订单\\拼多多订单导出.zip", "DRIVE_REMOVABLE"),
        ("recent_lnk", "E:\\a.xlsx", "DRIVE_REMOVABLE")]
    assert sorted(r for _, r in problems) == ["not a readable shortcut", "not an OLE compound file"]


def test_copy_suffix_is_ignored_when_matching_names():
    assert normalized_name("订单导出 (1).xlsx") == normalized_name("订单导出.XLSX")
    assert normalized_name("a (2)") == "a"
    assert normalized_name("订单(1).xlsx") != normalized_name("订单.xlsx")


def test_export_on_usb_via_jump_list_and_saved_to_usb_letter(tmp_path):
    home = tmp_path / "homes" / "jack"
    ud = home / "AppData" / "Local" / "Microsoft" / "Edge" / "User Data"
    make_history(ud / "Default" / "History", [
        Dl("C:\\Users\\jack\\Downloads\\拼多多订单导出 (1).zip", NOW - dt.timedelta(days=2), tab_url=PDD,
           mime="application/zip"),
        Dl("E:\\直接保存.xlsx", NOW - dt.timedelta(days=1), tab_url=PDD),
        Dl("C:\\Users\\jack\\Downloads\\普通.xlsx", NOW - dt.timedelta(days=1), tab_url=PDD),
    ])
    (home / "Downloads").mkdir()
    recent = home / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Recent"
    make_jump_list(recent / "AutomaticDestinations" / "12dc1ea8e34b5a6.automaticDestinations-ms",
                   {"1": make_lnk(tmp_path / "s.lnk", "F:\\拼多多订单导出.zip", removable=True).read_bytes()})
    make_lnk(recent / "普通.xlsx.lnk", "D:\\普通.xlsx", removable=False)  # a fixed disk: not removable
    before = tree_state(home)
    out = tmp_path / "r.json"
    res = run_cli("scan", "--only", "trail", "--home", str(home), "--registry-export", str(USB_REG), "-o", str(out),
                  "--fail-on", "none", "-q")
    assert res.returncode == 0, res.stderr
    assert tree_state(home) == before
    report = load_report(out)
    usb_findings = {f["evidence"]["file_name"]: f for f in findings_of(report, "TR-006")}
    assert set(usb_findings) == {"拼多多订单导出 (1).zip", "直接保存.xlsx"}
    (jl,) = usb_findings["拼多多订单导出 (1).zip"]["evidence"]["removable_entries"]
    assert jl["source"] == "jump_list" and jl["target_path"] == "F:\\拼多多订单导出.zip"
    (saved,) = usb_findings["直接保存.xlsx"]["evidence"]["removable_entries"]
    assert saved["source"] == "download_target" and saved["usb_device"]["vendor"] == "Kingston"
    status = {f["evidence"]["file_name"]: f["check_id"] for f in report["findings"] if f["check_id"] in ("TR-001", "TR-005")}
    # saved to the USB drive: its whereabouts are known (TR-006), so it is not "whereabouts unknown"
    assert status == {"拼多多订单导出 (1).zip": "TR-001", "直接保存.xlsx": "TR-005", "普通.xlsx": "TR-001"}


def test_file_verdicts_handed_over_by_the_files_area(tmp_path):
    """The trail looks a file up in what the files area judged in this scan, else has it judged then; with
    neither it says the verdict is unavailable."""
    from auditor.core.handover import FileVerdict, FileVerdicts, verdict_key

    f = tmp_path / "x.csv"
    f.write_text("a,b\n")
    verdict, source = FileVerdicts().lookup(Path(f))
    assert verdict is None and source == "unavailable"
    judged = FileVerdicts({verdict_key(f): FileVerdict(9, 0, 0.0, True, "abc", "PI-001")})
    verdict, source = judged.lookup(f)
    assert source == "files-area" and verdict.finding and verdict.finding_id == "abc"
    failing = FileVerdicts(judge_one=lambda path, tree: 1 / 0)
    assert failing.lookup(f) == (None, "unavailable (ZeroDivisionError)")
    assert FileVerdicts(judge_one=lambda path, tree: None).lookup(f) == (None, "no-personal-data")