"""RegFile: the .reg-export RegistryView, on the recorded Windows fixtures and on tricky inline snippets."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.adapters.regfile import RegFile
from auditor.scan.pipeline import read_registry_exports
from auditor.textcodec import decode_text

FIX = Path(__file__).parent / "fixtures" / "windows"
UNINSTALL = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
WOW_UNINSTALL = r"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall"
SID = "S-1-5-21-3418240715-2905163847-1620495783-1001"
SERVICES = r"HKLM\SYSTEM\CurrentControlSet\Services"
HEADER = "Windows Registry Editor Version 5.00\r\n\r\n"


def reg(body: str, header: str = HEADER) -> RegFile:
    return RegFile.from_text(header + body)


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.mark.parametrize("name", ["uninstall.reg", "run_keys.reg", "services.reg",
                                  "remote_features_enabled.reg", "remote_features_disabled.reg"])
def test_fixtures_are_regedit_utf16_exports_that_parse_cleanly(name):
    raw = (FIX / name).read_bytes()
    assert raw.startswith(b"\xff\xfe")
    text = raw[2:].decode("utf-16-le")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_")
    assert "\n" not in text.replace("\r\n", "")
    assert read_registry_exports([FIX / name]).problems == []


@pytest.fixture(scope="module")
def uninstall():
    return read_registry_exports([FIX / "uninstall.reg"])


def test_uninstall_lists_entries_of_both_views_and_the_user_hive(uninstall):
    assert uninstall.subkeys(UNINSTALL) == ["7-Zip", "QQ", "TeamViewer"]
    assert uninstall.subkeys(WOW_UNINSTALL) == [
        "AnyDesk", "DingTalk", "Google Chrome", "Microsoft Edge", "Oray SunLogin RemoteClient", "ToDesk", "WeChat",
        "{5E1A7F3B-9C2D-4E8A-B6F1-2D7C9A0E4B13}_is1"]
    user = rf"HKU\{SID}\Software\Microsoft\Windows\CurrentVersion\Uninstall"
    assert uninstall.subkeys(user) == ["Kingsoft Office", "ZoomUMX"]
    assert uninstall.values(user + r"\ZoomUMX")["InstallLocation"] == r"C:\Users\chenmo\AppData\Roaming\Zoom\bin"


def test_uninstall_values_keep_chinese_text_and_types(uninstall):
    sunlogin = uninstall.values(WOW_UNINSTALL + r"\Oray SunLogin RemoteClient")
    assert sunlogin["DisplayName"] == "向日葵远程控制"
    assert sunlogin["InstallLocation"] == r"C:\Program Files\Oray\SunLogin\SunloginClient"
    assert sunlogin["EstimatedSize"] == 0x1C6D8 and isinstance(sunlogin["EstimatedSize"], int)
    wechat = uninstall.values(WOW_UNINSTALL + r"\WeChat")
    assert (wechat["DisplayName"], wechat["Publisher"]) == ("微信", "腾讯科技(深圳)有限公司")
    assert uninstall.values(WOW_UNINSTALL + r"\DingTalk")["DisplayName"] == "钉钉"
    anydesk = uninstall.values(WOW_UNINSTALL + r"\AnyDesk")
    assert anydesk["UninstallString"] == r'"C:\Program Files (x86)\AnyDesk\AnyDesk.exe" --uninstall'
    assert anydesk["DisplayVersion"] == "ad 8.0.14"
    seven = uninstall.values(UNINSTALL + r"\7-Zip")
    assert seven["InstallLocation"] == "C:\\Program Files\\7-Zip\\"  # trailing backslash escaped as \\ in the file
    assert seven["VersionMajor"] == 23 and "InstallDate" not in seven


def test_lookups_are_case_insensitive_and_accept_long_hive_names(uninstall):
    long = r"HKEY_LOCAL_MACHINE\software\wow6432node\MICROSOFT\windows\currentversion\uninstall\todesk"
    todesk = uninstall.values(long)
    assert todesk["Publisher"] == "ToDesk Remote Desktop"
    assert todesk == uninstall.values(WOW_UNINSTALL + r"\ToDesk")
    assert "DisplayName" in todesk and "displayname" not in todesk  # names keep their case
    assert uninstall.subkeys("hklm") == ["SOFTWARE"]
    assert uninstall.values(UNINSTALL + r"\NoSuchProduct") is None
    assert uninstall.subkeys(r"HKXX\SOFTWARE") is None  # unknown hive: no such key, no exception


def test_implicit_parent_keys_exist_and_list_their_children(uninstall):
    assert uninstall.subkeys(r"HKLM\SOFTWARE") == ["Microsoft", "WOW6432Node"]
    assert uninstall.values(r"HKLM\SOFTWARE\Microsoft\Windows") == {}
    assert uninstall.subkeys("HKU") == [SID]


def test_services_types():
    services = read_registry_exports([FIX / "services.reg"])
    names = services.subkeys(SERVICES)
    assert names == ["AnyDesk", "RemoteRegistry", "rt640x64", "Spooler", "sshd", "SunloginService", "TeamViewer",
                     "TermService", "ToDesk_Service", "WinRM"]
    todesk = services.values(SERVICES + r"\ToDesk_Service")
    assert todesk["ImagePath"] == r'"C:\Program Files\ToDesk\ToDesk.exe" --runservice'  # hex(2), wrapped lines
    assert (todesk["Type"], todesk["Start"], todesk["ObjectName"]) == (0x10, 2, "LocalSystem")
    term = services.values(SERVICES + r"\TermService")
    assert term["ImagePath"] == r"%SystemRoot%\System32\svchost.exe -k NetworkService"  # unexpanded
    assert term["DependOnService"] == ["RPCSS"]
    assert term["RequiredPrivileges"][0] == "SeAssignPrimaryTokenPrivilege" and len(term["RequiredPrivileges"]) == 6
    assert isinstance(term["FailureActions"], bytes) and term["FailureActions"][:4] == b"\x80\x51\x01\x00"
    assert services.values(SERVICES + r"\TermService\Parameters")["ServiceDll"] == r"%SystemRoot%\System32\termsrv.dll"
    assert services.values(SERVICES + r"\rt640x64")["Type"] == 1
    assert services.values(SERVICES + r"\Spooler")["Type"] == 0x110
    assert services.subkeys(SERVICES + r"\TermService") == ["Parameters"]


def test_run_keys():
    run = read_registry_exports([FIX / "run_keys.reg"])
    machine = run.values(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run")
    assert machine["SecurityHealth"] == r"%windir%\system32\SecurityHealthSystray.exe"
    assert machine["SunloginClient"] == (r'"C:\Program Files\Oray\SunLogin\SunloginClient\SunloginClient.exe"'
                                         r" --cmd=autorun")
    assert machine["WindowsUpdateHelper"] == r"C:\Users\Public\frpc.exe -c frpc.ini"
    assert run.values(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce") == {}
    assert run.values(r"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run") == {
        "ToDesk": r'"C:\Program Files\ToDesk\ToDesk.exe"'}
    user = run.values(rf"HKEY_USERS\{SID}\Software\Microsoft\Windows\CurrentVersion\Run")
    assert user["QQNT"].endswith("/background") and len(user) == 4


def test_remote_features_enabled_and_disabled():
    on = read_registry_exports([FIX / "remote_features_enabled.reg"])
    off = read_registry_exports([FIX / "remote_features_disabled.reg"])
    rdp = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp"
    assert on.values(rdp)["PortNumber"] == 13389 and off.values(rdp)["PortNumber"] == 3389
    assert (on.values(rdp)["UserAuthentication"], off.values(rdp)["UserAuthentication"]) == (0, 1)
    assert (on.values(rdp)["SecurityLayer"], off.values(rdp)["SecurityLayer"]) == (0, 2)
    assert on.values(rdp)["MaxInstanceCount"] == 0xFFFFFFFF
    ts = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server"
    assert (on.values(ts)["fDenyTSConnections"], off.values(ts)["fDenyTSConnections"]) == (0, 1)
    assert on.values(ts)["RCDependentServices"] == ["CertPropSvc", "SessionEnv"]
    ra = r"HKLM\SYSTEM\CurrentControlSet\Control\Remote Assistance"
    assert (on.values(ra)["fAllowToGetHelp"], off.values(ra)["fAllowToGetHelp"]) == (1, 0)
    policy = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
    assert on.values(policy)["fDenyTSConnections"] == 0
    assert off.values(policy) is None


def test_several_files_merge_in_order(tmp_path):
    later = tmp_path / "later.reg"
    later.write_bytes(("Windows Registry Editor Version 5.00\r\n\r\n"
                       "[-HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\ToDesk]\r\n"
                       "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\sshd]\r\n"
                       "\"Start\"=dword:00000004\r\n").encode("utf-8"))
    merged = read_registry_exports([FIX / "uninstall.reg", FIX / "services.reg", later])
    assert "ToDesk" not in merged.subkeys(WOW_UNINSTALL)
    assert merged.values(SERVICES + r"\sshd")["Start"] == 4
    assert merged.values(SERVICES + r"\sshd")["ImagePath"] == r"C:\Windows\System32\OpenSSH\sshd.exe"
    assert merged.subkeys("HKLM") == ["SOFTWARE", "SYSTEM"]
    assert merged.problems == []


# ------------------------------------------------------------------------------------------------ encodings
SAMPLE = ('Windows Registry Editor Version 5.00\r\n\r\n'
          '[HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\WeChat]\r\n'
          '"DisplayName"="微信"\r\n"Publisher"="腾讯科技(深圳)有限公司"\r\n'
          '"InstallLocation"="C:\\\\Program Files (x86)\\\\Tencent\\\\WeChat"\r\n')


@pytest.mark.parametrize("encoded", [
    b"\xff\xfe" + SAMPLE.encode("utf-16-le"),
    b"\xfe\xff" + SAMPLE.encode("utf-16-be"),
    b"\xef\xbb\xbf" + SAMPLE.encode("utf-8"),
    SAMPLE.encode("utf-8"),
    SAMPLE.encode("gbk"),  # a Chinese-locale "ANSI" file: detected by charset-normalizer
], ids=["utf16le-bom", "utf16be-bom", "utf8-bom", "utf8", "gbk"])
def test_encodings(tmp_path, encoded):
    path = tmp_path / "x.reg"
    path.write_bytes(encoded)
    r = read_registry_exports([path])
    assert r.values(WOW_UNINSTALL + r"\WeChat") == {
        "DisplayName": "微信", "Publisher": "腾讯科技(深圳)有限公司",
        "InstallLocation": r"C:\Program Files (x86)\Tencent\WeChat"}
    assert r.problems == []


def test_undecodable_bytes_fall_back_without_raising():
    text = decode_text(b"\x81Windows Registry Editor Version 5.00\r\n\xfd\x00\xfe")
    assert isinstance(text, str) and "Registry Editor" in text
    assert isinstance(decode_text(b""), str)


def test_one_export_is_read(tmp_path):
    path = tmp_path / "one.reg"
    path.write_text(SAMPLE, encoding="utf-8")
    assert read_registry_exports([path]).values(WOW_UNINSTALL + r"\WeChat")["DisplayName"] == "微信"


# ------------------------------------------------------------------------------------------------ syntax
def test_default_value_and_escapes():
    r = reg('[HKEY_CURRENT_USER\\Software\\Classes\\x]\r\n'
            '@="C:\\\\Tools\\\\a \\"quoted\\" b"\r\n'
            '"Na\\"me\\\\"="v"\r\n'
            '"Empty"=""\r\n')
    vals = r.values(r"HKCU\Software\Classes\x")
    assert vals[""] == r'C:\Tools\a "quoted" b'
    assert vals['Na"me\\'] == "v"
    assert vals["Empty"] == ""
    assert r.problems == []


def test_all_value_types():
    r = reg('[HKLM\\SOFTWARE\\T]\r\n'
            '"dw"=dword:0000000a\r\n'
            '"dwmax"=dword:ffffffff\r\n'
            '"bin"=hex:de,ad,be,ef\r\n'
            '"emptybin"=hex:\r\n'
            '"none"=hex(0):\r\n'
            '"expand"=hex(2):25,00,54,00,45,00,4d,00,50,00,25,00,00,00\r\n'
            '"multi"=hex(7):61,00,00,00,62,00,63,00,00,00,00,00\r\n'
            '"emptymulti"=hex(7):00,00\r\n'
            '"qword"=hex(b):01,02,00,00,00,00,00,80\r\n'
            '"dw4"=hex(4):10,27,00,00\r\n'
            '"dwbig"=hex(5):00,00,27,10\r\n'
            '"link"=hex(6):41,00\r\n'
            '"sz1"=hex(1):41,00,42,00,00,00\r\n'
            '"UPPER"=HEX(2):41,00,00,00\r\n')
    v = r.values(r"HKLM\SOFTWARE\T")
    assert v["dw"] == 10 and v["dwmax"] == 0xFFFFFFFF
    assert v["bin"] == b"\xde\xad\xbe\xef" and v["emptybin"] == b""
    assert v["none"] == b""
    assert v["expand"] == "%TEMP%"
    assert v["multi"] == ["a", "bc"] and v["emptymulti"] == []
    assert v["qword"] == 0x8000000000000201
    assert v["dw4"] == 10000 and v["dwbig"] == 10000
    assert v["link"] == b"A\x00"
    assert v["sz1"] == "AB"
    assert v["UPPER"] == "A"
    assert r.problems == []


def test_continuation_lines_blank_lines_and_comments():
    r = reg('; exported by hand\r\n\r\n'
            '[HKLM\\SOFTWARE\\T]\r\n'
            '; a comment between values\r\n'
            '"ImagePath"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,\\\r\n'
            '  74,00,25,00,5c,00,61,00,2e,00,65,00,78,00,65,00,00,00\r\n'
            '\r\n'
            '"Split"=hex:01,\\\r\n'
            '  02,\\\r\n'
            '  03\r\n'
            '   "Indented"=dword:00000001   \r\n')
    v = r.values(r"HKLM\SOFTWARE\T")
    assert v == {"ImagePath": r"%SystemRoot%\a.exe", "Split": b"\x01\x02\x03", "Indented": 1}
    assert r.problems == []


def test_regedit4_and_ansi_expand_strings():
    r = RegFile.from_text('REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Old]\r\n'
                          '"Path"=hex(2):25,54,45,4d,50,25,00\r\n'
                          '"List"=hex(7):61,00,62,00,00\r\n'
                          '"Name"="old style"\r\n')
    assert r.values(r"HKLM\SOFTWARE\Old") == {"Path": "%TEMP%", "List": ["a", "b"], "Name": "old style"}
    assert r.problems == []


def test_deleting_keys_and_values():
    r = reg('[HKLM\\SOFTWARE\\A\\B\\C]\r\n"x"="1"\r\n'
            '[HKLM\\SOFTWARE\\A\\B2]\r\n"y"="2"\r\n"z"="3"\r\n'
            '[-HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B]\r\n'
            '[HKLM\\SOFTWARE\\A\\B2]\r\n"y"=-\r\n"missing"=-\r\n'
            '[-HKLM\\SOFTWARE\\Never\\Existed]\r\n')
    assert r.subkeys(r"HKLM\SOFTWARE\A") == ["B2"]
    assert r.values(r"HKLM\SOFTWARE\A\B") is None and r.values(r"HKLM\SOFTWARE\A\B\C") is None
    assert r.values(r"HKLM\SOFTWARE\A\B2") == {"z": "3"}
    assert r.subkeys(r"HKLM\SOFTWARE\Never") is None
    assert r.problems == []


def test_deleted_key_can_be_recreated_and_values_after_deletion_are_rejected():
    r = reg('[HKLM\\SOFTWARE\\A]\r\n"old"="1"\r\n[-HKLM\\SOFTWARE\\A]\r\n"orphan"="2"\r\n'
            '[HKLM\\SOFTWARE\\A]\r\n"new"="3"\r\n')
    assert r.values(r"HKLM\SOFTWARE\A") == {"new": "3"}
    assert r.problems == [(6, "value outside of a valid key")]


def test_original_case_is_kept_across_rewrites():
    r = reg('[HKLM\\Software\\Vendor]\r\n"DisplayName"="a"\r\n'
            '[HKEY_LOCAL_MACHINE\\SOFTWARE\\VENDOR\\Sub]\r\n'
            '[hklm\\software\\vendor]\r\n"DISPLAYNAME"="b"\r\n')
    assert r.subkeys("HKLM") == ["Software"]
    assert r.subkeys(r"HKLM\SOFTWARE") == ["Vendor"]
    assert r.values(r"HKLM\software\VENDOR") == {"DisplayName": "b"}
    assert r.subkeys(r"hKlM\sOfTwArE\vEnDoR") == ["Sub"]


def test_all_hives():
    r = reg("".join(f"[{h}\\K]\r\n" for h in ("HKEY_LOCAL_MACHINE", "HKEY_USERS", "HKEY_CURRENT_USER",
                                               "HKEY_CLASSES_ROOT", "HKEY_CURRENT_CONFIG")))
    for short in ("HKLM", "HKU", "HKCU", "HKCR", "HKCC"):
        assert r.subkeys(short) == ["K"] and r.values(short + r"\K") == {}


# ------------------------------------------------------------------------------------------------ malformed input
def test_malformed_lines_are_skipped_and_counted():
    body = ('"before"="any key"\r\n'                       # line 3
            '[HKLM\\SOFTWARE\\Good]\r\n'                    # 4
            '"ok"=dword:00000001\r\n'                       # 5
            '"baddword"=dword:xyz\r\n'                      # 6
            '"toolong"=dword:123456789\r\n'                 # 7
            '"badhex"=hex:0g,11\r\n'                        # 8
            '"badqword"=hex(b):01,02\r\n'                   # 9
            '"unterminated="x"\r\n'                         # 10 -> name 'unterminated=' then garbage
            '"noequals" "x"\r\n'                            # 11
            'garbage line\r\n'                              # 12
            '"weird"=sz:abc\r\n'                            # 13
            '"badstring"="abc" trailing\r\n'                # 14
            '[HKLM\\SOFTWARE\\Unclosed\r\n'                 # 15
            '"lost"="1"\r\n'                                # 16
            '[HKFOO\\Bar]\r\n'                              # 17
            '[]\r\n'                                        # 18
            '[HKLM\\SOFTWARE\\Good]\r\n'                    # 19
            '"fine"="yes"\r\n')                             # 20
    r = reg(body)
    assert r.values(r"HKLM\SOFTWARE\Good") == {"ok": 1, "fine": "yes"}
    assert r.subkeys(r"HKLM\SOFTWARE") == ["Good"]
    assert [line for line, _ in r.problems] == [3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    reasons = dict(r.problems)
    assert "outside of a valid key" in reasons[3]
    assert "bad dword" in reasons[6]
    assert "hex(b)" in reasons[9]
    assert "unknown hive" in reasons[17] or "HKFOO" in reasons[17]


def test_missing_header_is_reported_but_content_still_read():
    r = RegFile.from_text('[HKLM\\SOFTWARE\\X]\r\n"a"="b"\r\n')
    assert r.values(r"HKLM\SOFTWARE\X") == {"a": "b"}
    assert r.problems and r.problems[0][0] == 1 and "header" in r.problems[0][1]


def test_problems_from_files_name_the_file(tmp_path):
    path = tmp_path / "broken.reg"
    path.write_bytes(b"\xff\xfe" + (HEADER + "[HKLM\\S]\r\nnonsense\r\n").encode("utf-16-le"))
    r = read_registry_exports([path])
    assert r.problems == [(4, "broken.reg: unparsable line 'nonsense'")]


def test_empty_and_binary_input_never_raise():
    assert RegFile.from_text("").problems == []
    r = RegFile.from_text("\x00\x01\x02 not a reg file \\\n\\")
    assert r.problems and r.subkeys("HKLM") is None
