"""The MSI, for real under Wine: `packaging/windows/build.sh --sign` with a throw-away test certificate
builds the one-folder agent and `dist/yuncang-auditor-VERSION-x64.msi` (cached while the sources are unchanged; a
new certificate re-signs and re-packages the cached freeze); `msiexec /i ... /qn SCHEDULE=1 ROLE=... SITE=...`
installs it in a fresh prefix; the installed `auditor.exe` runs from the system PATH and finds the planted tools,
registry entries and exports of test_windows_wine.py; `msiexec /x ... /qn` removes it and keeps the reports.

Wine's Task Scheduler is partly fake: `schtasks /Create /XML` succeeds, but the task it stores keeps neither its
principal, nor its triggers, nor its command, and nothing ever runs it. The install with Wine's own schtasks shows
that the custom actions run (task registered and deleted again, the output kept in the install folder); a second
round with a stand-in schtasks.exe that records its calls checks what they ask of the Task Scheduler (the task as
SYSTEM at the lowest priority running the installed exe with the site's role and site), that a failing Task
Scheduler does not abort the install and is recorded, that a newer MSI replaces the installed one without touching
the task, and that the uninstall removes the task first. Like the other Wine tests these skip only where Wine or
the build tools are missing (tests/system_packages.py) or AUDITOR_WINE_TESTS=skip, and never under CI."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

import wine_env
from auditor.messages import Text
from conftest import skip_or_fail
# the planted office PC of the one-file tests; their fixtures take this module's `winpc` (the MSI-installed agent)
from test_windows_wine import planted, tools_running  # noqa: F401
from test_windows_wine import test_full_scan_names_every_planted_item as full_scan_names_every_planted_item

REPO = wine_env.REPO
PACKAGE_PY = wine_env.WINDOWS / "package.py"
INSTALLED_EXE = wine_env.INSTALL_DIR + r"\auditor.exe"
UNINSTALL = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall"
ENVIRONMENT = r"HKLM\System\CurrentControlSet\Control\Session Manager\Environment"
SITE = "义乌仓"
DEPLOY = r"C:\deploy"  # the "shared folder" the MSI is run from

WINE_TASK = r"C:\windows\system32\tasks\yuncang-auditor\scheduled-scan"  # where Wine's schtasks keeps a task
SCHEDULE_LOG = wine_env.INSTALL_DIR + r"\schedule-install.log"  # what the custom action printed
TASK = r"\yuncang-auditor\scheduled-scan"


def _said(winpc) -> str:
    """What the custom action's `schedule install` printed (in Chinese, the default), with the \\uXXXX escapes a
    console without a CJK code page gets turned back into characters."""
    raw = winpc.c_path(SCHEDULE_LOG).read_bytes().decode("utf-8", "replace")
    return re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m.group(1), 16)), raw)


# A stand-in for schtasks.exe: records each call's arguments and the task XML it is given; exits with
# %SCHTASKS_STANDIN_EXIT% (0 when unset).
RECORDER_C = r"""
#include <windows.h>
#include <stdio.h>
#include <wchar.h>
int wmain(int argc, wchar_t **argv) {
    wchar_t path[MAX_PATH], xml[MAX_PATH];
    char buf[8192];
    int n, i, k;
    DWORD w;
    HANDLE h;
    CreateDirectoryW(L"C:\\schtasks-calls", NULL);
    for (n = 0; n < 1000; n++) {
        swprintf(path, MAX_PATH, L"C:\\schtasks-calls\\%03d.txt", n);
        if (GetFileAttributesW(path) == INVALID_FILE_ATTRIBUTES) break;
    }
    h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) return 9;
    for (i = 1; i < argc; i++) {
        k = WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, buf, sizeof buf, NULL, NULL);
        if (k > 0) WriteFile(h, buf, k - 1, &w, NULL);
        WriteFile(h, "\n", 1, &w, NULL);
        if (_wcsicmp(argv[i], L"/XML") == 0 && i + 1 < argc) {
            swprintf(xml, MAX_PATH, L"C:\\schtasks-calls\\%03d.xml", n);
            CopyFileW(argv[i + 1], xml, FALSE);
        }
    }
    CloseHandle(h);
    return _wtoi(_wgetenv(L"SCHTASKS_STANDIN_EXIT") ? _wgetenv(L"SCHTASKS_STANDIN_EXIT") : L"0");
}
"""


# --------------------------------------------------------------------------- the build

def make_test_ca(folder: Path) -> dict[str, Path]:
    """A throw-away CA and a code-signing certificate it issued (CN=yuncang-auditor test signing)."""
    folder.mkdir(parents=True, exist_ok=True)

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=120)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3",
        "-subj", "/CN=yuncang-auditor test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "signing.key", "-out", "signing.csr",
        "-subj", "/CN=yuncang-auditor test signing")
    (folder / "ext.cnf").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                    "extendedKeyUsage=codeSigning\nsubjectKeyIdentifier=hash\n"
                                    "authorityKeyIdentifier=keyid\n")
    ssl("x509", "-req", "-in", "signing.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "signing.pem", "-days", "3", "-extfile", "ext.cnf")
    chain = folder / "chain.pem"  # the signing certificate first, then its issuer
    chain.write_bytes((folder / "signing.pem").read_bytes() + (folder / "ca.pem").read_bytes())
    # a time-stamping authority (RFC 3161) under the same CA, for `openssl ts -reply`
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
        "-subj", "/CN=yuncang-auditor test TSA")
    (folder / "tsa-ext.cnf").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                        "extendedKeyUsage=critical,timeStamping\n")
    ssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "tsa.pem", "-days", "3", "-extfile", "tsa-ext.cnf")
    (folder / "tsa.serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(
        "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\n"
        f"serial = {folder / 'tsa.serial'}\nsigner_cert = {folder / 'tsa.pem'}\ncerts = {folder / 'ca.pem'}\n"
        f"signer_key = {folder / 'tsa.key'}\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.4146.2.3\n"
        "digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = no\ntsa_name = yes\n"
        "ess_cert_id_chain = no\ness_cert_id_alg = sha256\n")
    return {"ca": folder / "ca.pem", "chain": chain, "key": folder / "signing.key", "tsa_cnf": folder / "tsa.cnf"}


class TimeStampServer:
    """A time-stamping server on 127.0.0.1 (RFC 3161 over HTTP), answering with `openssl ts -reply`."""

    def __init__(self, config: Path) -> None:
        config_path = str(config)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                query = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with tempfile.TemporaryDirectory() as tmp:
                    (Path(tmp) / "q.tsq").write_bytes(query)
                    res = subprocess.run(["openssl", "ts", "-reply", "-config", config_path, "-queryfile",
                                          str(Path(tmp) / "q.tsq"), "-out", str(Path(tmp) / "r.tsr")],
                                         capture_output=True, timeout=60)
                    reply = (Path(tmp) / "r.tsr").read_bytes() if res.returncode == 0 else b""
                self.send_response(200 if reply else 500)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def verify(path: Path, ca: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["osslsigncode", "verify", "-CAfile", str(ca), "-TSA-CAfile", str(ca), "-in", str(path)],
                          capture_output=True, text=True, timeout=300)


def msi_table(msi: Path, table: str) -> list[dict[str, str]]:
    out = subprocess.run(["msiinfo", "export", str(msi), table], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[3:]]


@pytest.fixture(scope="module")
def signing(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("testca"))


@pytest.fixture(scope="module")
def built(signing):
    """dist/ signed with the throw-away certificate, time-stamped by a local time-stamping server."""
    if os.environ.get(wine_env.SKIP_ENV) == "skip":
        skip_or_fail(f"{wine_env.SKIP_ENV}=skip: this machine cannot run Wine")
    tsa = TimeStampServer(signing["tsa_cnf"])
    try:
        wine_env.ensure_built(sign=(signing["chain"], signing["key"]), timestamp_url=tsa.url)
    except wine_env.WineUnavailable as exc:
        skip_or_fail(str(exc))
    finally:
        tsa.close()
    stamp = json.loads((wine_env.DIST / ".package").read_text(encoding="utf-8"))
    return {"msi": wine_env.dist_msi(), "stamp": stamp}


def _package_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("auditor_windows_package", PACKAGE_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_sign_with_a_pfx_and_password(built, signing, tmp_path):
    """A site's PFX (certificate chain and key in one file, password in a file), as build.sh --sign CERT.pfx -
    --pass-file F passes it to package.py: a real PE signed with it verifies against the CA. (`built`: osslsigncode and mingw-w64
    are there, tests/system_packages.py.)"""
    pfx, pw = tmp_path / "site.pfx", tmp_path / "pfx-password.txt"
    pw.write_text("s3cret-仓\n", encoding="utf-8")
    subprocess.run(["openssl", "pkcs12", "-export", "-out", str(pfx), "-inkey", str(signing["key"]), "-in",
                    str(signing["chain"]), "-passout", f"file:{pw}"], check=True, capture_output=True, timeout=120)
    src = tmp_path / "hello.exe"
    (tmp_path / "hello.c").write_text("int main(void) { return 0; }\n")
    subprocess.run(["x86_64-w64-mingw32-gcc", "-O2", "-s", "-o", str(src), str(tmp_path / "hello.c")], check=True,
                   capture_output=True, timeout=120)
    package = _package_module()
    assert not package.is_signed(src)
    package.Signer(pfx, "-", pw, []).sign(src, tmp_path / "signed.exe", "yuncang-auditor")
    assert package.is_signed(tmp_path / "signed.exe")
    res = verify(tmp_path / "signed.exe", signing["ca"])
    assert res.returncode == 0 and "yuncang-auditor test signing" in res.stdout, res.stdout + res.stderr


# --------------------------------------------------------------------------- the PC

def msiexec(pc: wine_env.WinePC, *args: str, log: str | None = None) -> wine_env.Result:
    argv = ["msiexec", *args]
    if log:
        argv += ["/l*v", log]
    return pc.run(argv, timeout=600)


def deploy(pc: wine_env.WinePC, msi: Path) -> str:
    """Copy the MSI to C:\\deploy (the shared folder of a startup script) and return its Windows path."""
    dest = pc.c_path(DEPLOY)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(msi, dest / msi.name)
    return rf"{DEPLOY}\{msi.name}"


def reg_values(pc: wine_env.WinePC, key: str) -> dict[str, str] | None:
    """The values of a registry key (None when the key does not exist)."""
    res = pc.run(["reg", "query", key], timeout=60)
    if res.returncode != 0:
        return None
    out: dict[str, str] = {}
    for line in res.stdout.splitlines():
        m = re.match(r"\s+(\S.*?)\s{2,}(REG_\w+)\s{2,}(.*)$", line.rstrip("\r"))
        if m:
            out[m.group(1)] = m.group(3)
        else:
            m = re.match(r"\s+(\S.*?)\s{2,}(REG_\w+)\s*$", line.rstrip("\r"))
            if m:
                out[m.group(1)] = ""
    return out


def uninstall_entries(pc: wine_env.WinePC) -> dict[str, dict[str, str]]:
    """Uninstall subkeys whose DisplayName is ours: {key name: values}."""
    res = pc.run(["reg", "query", UNINSTALL], timeout=60)
    found = {}
    for line in res.stdout.splitlines():
        line = line.strip()
        if line.upper().startswith("HKEY_LOCAL_MACHINE\\") and line.count("\\") > 5:
            name = line.rsplit("\\", 1)[1]
            values = reg_values(pc, rf"{UNINSTALL}\{name}") or {}
            if values.get("DisplayName") == "yuncang-auditor":
                found[name] = values
    return found


def system_path(pc: wine_env.WinePC) -> str:
    return (reg_values(pc, ENVIRONMENT) or {}).get("PATH", (reg_values(pc, ENVIRONMENT) or {}).get("Path", ""))


@pytest.fixture(scope="module")
def winpc(tmp_path_factory, built):
    """A fresh prefix where the signed MSI was installed silently with the scheduled scan asked for."""
    pc = wine_env.WinePC(tmp_path_factory.mktemp("msipc"), exe=False).boot()
    pc.msi = deploy(pc, built["msi"])  # type: ignore[attr-defined]
    pc.install = msiexec(pc, "/i", pc.msi, "/qn", "SCHEDULE=1", "ROLE=waybill-printing",  # type: ignore[attr-defined]
                         f"SITE={SITE}", log=rf"{DEPLOY}\install.log")
    pc.exe = INSTALLED_EXE
    yield pc
    pc.shutdown()


# --------------------------------------------------------------------------- the package itself

def test_msi_tables(built):
    """The MSI as Windows Installer reads it: product facts, the one-folder files, PATH, custom actions."""
    from auditor import __version__

    msi = built["msi"]
    assert msi.name == f"yuncang-auditor-{__version__}-x64.msi"
    props = {r["Property"]: r["Value"] for r in msi_table(msi, "Property")}
    assert props["ProductName"] == "yuncang-auditor" and props["Manufacturer"] == "yuncang-auditor"
    assert props["ProductVersion"] == ".".join(__version__.split(".")[:3])
    assert props["UpgradeCode"] == "{3F7E18FF-CB78-4AFD-9506-D6AE3F7A529C}"  # never changes
    assert props["ALLUSERS"] == "1" and props["SCHEDULE"] == "0" and props["SCHEDULE_TIME"] == "12:30"
    assert {"SCHEDULE", "ROLE", "SITE", "SCHEDULE_TIME"} <= set(props["SecureCustomProperties"].split(";"))
    info = subprocess.run(["msiinfo", "suminfo", str(msi)], capture_output=True, text=True, check=True).stdout
    assert "Template: x64;1033" in info
    # every file of the one-folder build, once
    files = msi_table(msi, "File")
    folder = [p for p in wine_env.DIST_FOLDER.rglob("*") if p.is_file()]
    assert len(files) == len(folder) and {f["FileName"].casefold() for f in files} >= {"auditor.exe", "python313.dll"}
    dirs = {r["Directory"]: r for r in msi_table(msi, "Directory")}
    assert dirs["INSTALLDIR"]["Directory_Parent"] == "ProgramFiles64Folder"
    assert dirs["INSTALLDIR"]["DefaultDir"] == "yuncang-auditor"
    comps = msi_table(msi, "Component")
    assert all(int(c["Attributes"]) & 256 for c in comps)  # 64-bit components
    env = msi_table(msi, "Environment")
    assert env == [{"Environment": "AuditorPath", "Name": "=-*PATH", "Value": "[~];[INSTALLDIR]",
                    "Component_": "AuditorExe"}]
    # deferred (0x400), no impersonation (0x800), exit code ignored (0x40): the installed exe (18), or cmd.exe from
    # a property (50) running the installed exe with its output kept in the install folder
    actions = {r["Action"]: r for r in msi_table(msi, "CustomAction")}
    remove, install = actions["AuditorScheduleRemove"], actions["AuditorScheduleInstall"]
    assert int(remove["Type"]) == 18 | 0x40 | 0x400 | 0x800 and remove["Source"] == "AuditorExeFile"
    assert remove["Target"] == "schedule remove --system"
    assert int(install["Type"]) == 50 | 0x40 | 0x400 | 0x800 and install["Source"] == "AUDITOR_COMSPEC"
    assert install["Target"].startswith('/d /s /c ""[#AuditorExeFile]" [AUDITOR_SCHEDULE_CMD] > "[INSTALLDIR]')
    assert actions["AuditorComSpec"]["Target"] == "[System64Folder]cmd.exe"
    assert {"FileName": "schedule-install.log", "DirProperty": "INSTALLDIR", "InstallMode": "2"}.items() \
        <= msi_table(msi, "RemoveFile")[0].items()
    seq = {r["Action"]: r for r in msi_table(msi, "InstallExecuteSequence")}
    assert int(seq["AuditorScheduleRemove"]["Sequence"]) < int(seq["RemoveFiles"]["Sequence"])
    assert "NOT UPGRADINGPRODUCTCODE" in seq["AuditorScheduleRemove"]["Condition"]
    assert int(seq["InstallFiles"]["Sequence"]) < int(seq["AuditorScheduleInstall"]["Sequence"]) \
        < int(seq["InstallFinalize"]["Sequence"])
    assert {"WriteEnvironmentStrings", "RemoveEnvironmentStrings", "RemoveExistingProducts"} <= set(seq)


def test_signatures_verify_with_the_test_ca(built, signing, tmp_path):
    """build.sh --sign --timestamp-url: the exes, the unsigned DLLs/pyds and the MSI verify against the test CA,
    time-stamped; files signed by their publishers keep their own signature; a changed byte breaks the signature."""
    package = _package_module()
    ca = signing["ca"]
    for path in (wine_env.DIST_EXE, wine_env.DIST_FOLDER / "auditor.exe", built["msi"]):
        res = verify(path, ca)
        assert res.returncode == 0 and "Signature verification: ok" in res.stdout, res.stdout + res.stderr
        assert "yuncang-auditor test signing" in res.stdout
        # --timestamp-url: a countersignature from the time-stamping server (valid after the certificate expires)
        assert "Timestamp Server Signature verification: ok" in res.stdout and "yuncang-auditor test TSA" in res.stdout
    stamp = built["stamp"]
    assert stamp["signing"] and "auditor.exe" in stamp["signed"]
    kept = [wine_env.DIST_FOLDER / rel for rel in stamp["kept_own_signature"]]
    assert any(p.name.casefold() == "python313.dll" for p in kept)
    for path in kept[:3] + [p for p in kept if p.name.casefold() == "python313.dll"]:
        res = verify(path, ca)
        assert "yuncang-auditor test signing" not in res.stdout, path  # its publisher's, not ours
    pes = [p for p in wine_env.DIST_FOLDER.rglob("*") if p.suffix.lower() in (".exe", ".dll", ".pyd")]
    assert all(package.is_signed(p) for p in pes)  # nothing left unsigned
    sample = wine_env.DIST_FOLDER / next(rel for rel in stamp["signed"] if rel.endswith(".pyd"))
    assert verify(sample, ca).returncode == 0
    # a changed byte in the MSI's cabinet: the signature no longer verifies
    bad = tmp_path / "tampered.msi"
    data = bytearray(built["msi"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    assert verify(bad, ca).returncode != 0


def test_signed_one_file_exe_still_runs(winpc):
    """The signature appended to the one-file exe does not hide its archive from the bootloader."""
    from auditor import __version__

    dest = winpc.c_path(r"C:\inspector\auditor.exe")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(wine_env.DIST_EXE, dest)
    res = winpc.run([r"C:\inspector\auditor.exe", "--version"])
    assert res.returncode == 0 and res.stdout.strip() == f"auditor {__version__}", res.output


# --------------------------------------------------------------------------- install

def test_silent_install(winpc, built):
    from auditor import __version__

    assert winpc.install.returncode == 0, winpc.install.output
    installed = winpc.c_path(wine_env.INSTALL_DIR)
    assert (installed / "auditor.exe").is_file()
    # the same tree as the one-folder build, byte for byte
    want = {p.relative_to(wine_env.DIST_FOLDER).as_posix().casefold(): p.stat().st_size
            for p in wine_env.DIST_FOLDER.rglob("*") if p.is_file()}
    have = {p.relative_to(installed).as_posix().casefold(): p.stat().st_size for p in installed.rglob("*") if p.is_file()}
    assert have.pop("schedule-install.log") > 0  # the custom action's output (below)
    assert have == want
    # the Uninstall entry: name, the wheel's version, publisher
    entries = uninstall_entries(winpc)
    assert list(entries) == [built["stamp"]["product_code"]], entries
    values = entries[built["stamp"]["product_code"]]
    assert values["DisplayVersion"] == __version__ and values["Publisher"] == "yuncang-auditor"
    assert "msiexec" in values.get("UninstallString", "").casefold()
    # SCHEDULE=1: the deferred custom action ran the installed exe (installer log), which registered the task
    # with Wine's schtasks and said so in the install folder's log; `schedule status` finds it
    log = winpc.c_path(rf"{DEPLOY}\install.log").read_text(encoding="utf-8", errors="replace")
    assert "Action start" in log and "AuditorScheduleInstall" in log, log[-3000:]
    said = _said(winpc)
    assert Text("schedule.backend.task_registered_system", task=TASK).text("zh") in said, said
    assert winpc.c_path(WINE_TASK).is_file()
    status = winpc.auditor("schedule", "status", "--system", "--lang", "en")
    assert status.returncode == 0 and "registered: yes" in status.stdout and "12:30" in status.stdout, status.output


def test_installed_agent_on_the_system_path(winpc):
    """A new process finds `auditor` through the system PATH the MSI extended."""
    from auditor import __version__

    assert wine_env.INSTALL_DIR.casefold() in system_path(winpc).casefold()
    res = winpc.run(["cmd", "/c", "auditor", "--version"])
    assert res.returncode == 0 and res.stdout.strip() == f"auditor {__version__}", res.output


def test_installed_agent_finds_every_planted_item(winpc, planted, tools_running):
    """The acceptance scan of the one-file exe (renamed tools running, Uninstall/Run/RDP entries, exports on the
    Desktop and in WeChat's FileStorage), run by the installed one-folder agent."""
    assert winpc.exe == INSTALLED_EXE
    full_scan_names_every_planted_item(winpc, planted, tools_running)


def test_scheduled_run_writes_reports_to_programdata(winpc):
    """What the task starts (`schedule run-now`, as an administrator): dated reports in %ProgramData%."""
    res = winpc.auditor("schedule", "run-now", "--only", "remote", "--role", "waybill-printing", "--site", SITE)
    assert res.returncode in (0, 1) and "Traceback" not in res.output, res.output
    reports = winpc.c_path(wine_env.DATA_DIR + r"\reports")
    assert sorted(p.suffix for p in reports.iterdir() if p.suffix in (".json", ".html"))[:2] == [".html", ".json"]


# --------------------------------------------------------------------------- uninstall

def test_silent_uninstall_keeps_the_reports(winpc, built):
    reports = winpc.c_path(wine_env.DATA_DIR + r"\reports")
    before = sorted(p.name for p in reports.iterdir())
    res = msiexec(winpc, "/x", winpc.msi, "/qn", log=rf"{DEPLOY}\uninstall.log")
    assert res.returncode == 0, res.output
    assert not winpc.c_path(wine_env.INSTALL_DIR).exists()  # schedule-install.log included
    assert not winpc.c_path(WINE_TASK).exists()  # `schedule remove --system` ran first
    assert uninstall_entries(winpc) == {}
    assert wine_env.INSTALL_DIR.casefold() not in system_path(winpc).casefold()
    res = winpc.run(["cmd", "/c", "auditor", "--version"])  # (Wine's cmd exits 0 for an unknown command)
    assert "auditor " not in res.stdout, res.output
    assert sorted(p.name for p in reports.iterdir()) == before and before  # reports and data stay


# --------------------------------------------------------------------------- scheduled task, upgrade

@pytest.fixture
def recording_schtasks(winpc):
    """Wine's schtasks replaced by the recorder for this test (a native exe in system32, loaded as native)."""
    src = winpc.base / "schtasks_recorder.c"
    src.write_text(RECORDER_C)
    exe = winpc.base / "schtasks.exe"
    subprocess.run(["x86_64-w64-mingw32-gcc", "-municode", "-O2", "-s", "-o", str(exe), str(src)], check=True,
                   capture_output=True, timeout=120)
    target = winpc.drive_c / "windows" / "system32" / "schtasks.exe"
    saved = target.read_bytes()
    shutil.copy(exe, target)
    old = winpc.env["WINEDLLOVERRIDES"]
    winpc.env["WINEDLLOVERRIDES"] = old + ";schtasks.exe=n"
    calls = winpc.c_path(r"C:\schtasks-calls")
    shutil.rmtree(calls, ignore_errors=True)
    yield calls
    winpc.env["WINEDLLOVERRIDES"] = old
    target.write_bytes(saved)


def _calls(folder: Path) -> list[tuple[list[str], str | None]]:
    """The recorded /Create and /Delete calls (with the task XML given), in order; /Query calls left out."""
    out = []
    for txt in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        argv = txt.read_text(encoding="utf-8").splitlines()
        if argv and argv[0].casefold() == "/query":
            continue
        xml = txt.with_suffix(".xml")
        out.append((argv, xml.read_bytes().decode("utf-16") if xml.is_file() else None))
    return out


def test_schedule_custom_actions_and_major_upgrade(winpc, built, recording_schtasks, tmp_path):
    """SCHEDULE=1 asks for the daily scan as SYSTEM at the lowest priority running the installed exe; a failing
    Task Scheduler does not stop the install and is recorded; a newer MSI replaces the installed one; the
    uninstall removes the task before the files."""
    from auditor import __version__

    calls = recording_schtasks
    winpc.env["SCHTASKS_STANDIN_EXIT"] = "1"  # the Task Scheduler refuses
    try:
        res = msiexec(winpc, "/i", winpc.msi, "/qn", "SCHEDULE=1", "SCHEDULE_TIME=02:15", "ROLE=waybill-printing",
                      f"SITE={SITE}")
    finally:
        del winpc.env["SCHTASKS_STANDIN_EXIT"]
    assert res.returncode == 0, res.output  # installed all the same
    assert (winpc.c_path(wine_env.INSTALL_DIR) / "auditor.exe").is_file()
    made = _calls(calls)
    assert len(made) == 1, made
    argv, xml = made[0]
    assert argv[:3] == ["/Create", "/TN", r"\yuncang-auditor\scheduled-scan"] and "/XML" in argv, argv
    assert xml is not None
    assert "<UserId>S-1-5-18</UserId>" in xml  # SYSTEM
    assert "<Priority>9</Priority>" in xml  # idle CPU class, low I/O and memory priority
    assert f"<Command>{INSTALLED_EXE}</Command>" in xml
    assert "T02:15:00" in xml and "<ScheduleByDay>" in xml
    args = re.search(r"<Arguments>(.*)</Arguments>", xml).group(1)
    assert "schedule run-now" in args and "--role waybill-printing" in args and SITE in args, args
    said = _said(winpc)
    assert Text("schedule.backend.schtasks_create_failed", fail="").text("zh") + "退出码 1" in said, said  # the failure
    assert winpc.auditor("schedule", "status", "--system").returncode == 1  # nothing registered

    # a newer version (the same files, version + 1), SCHEDULE=1 again: replaces it, one Uninstall entry
    major, minor, patch = (__version__.split(".") + ["0", "0"])[:3]
    newer = f"{major}.{minor}.{int(re.match(r'[0-9]+', patch).group()) + 1}"
    newer_msi = tmp_path / f"yuncang-auditor-{newer}-x64.msi"
    subprocess.run(["python3", str(PACKAGE_PY), "--frozen", str(wine_env.DIST), "--dist", str(tmp_path),
                    "--msi-version", newer, "--msi-only", str(newer_msi)], check=True, capture_output=True,
                   timeout=600)
    res = msiexec(winpc, "/i", deploy(winpc, newer_msi), "/qn", "SCHEDULE=1", "ROLE=waybill-printing")
    assert res.returncode == 0, res.output
    entries = uninstall_entries(winpc)
    assert [v["DisplayVersion"] for v in entries.values()] == [newer], entries
    # Windows Installer removes the older version with UPGRADINGPRODUCTCODE set, so its `schedule remove` does not
    # run and the task stays. Wine's RemoveExistingProducts runs `msiexec /qn /i {old} REMOVE=ALL` without it
    # (dlls/msi/action.c): under Wine the task is deleted there and registered again by the new SCHEDULE=1.
    made = _calls(calls)
    assert [m[0][0] for m in made] == ["/Create", "/Delete", "/Create"], made
    assert Text("schedule.backend.task_registered_system", task=TASK).text("zh") in _said(winpc)
    assert winpc.auditor("schedule", "status", "--system").returncode == 0
    # the older MSI now refuses (a newer version is installed)
    res = msiexec(winpc, "/i", winpc.msi, "/qn")
    assert res.returncode != 0
    assert [v["DisplayVersion"] for v in uninstall_entries(winpc).values()] == [newer]

    # uninstall: the task goes first, then the files
    res = msiexec(winpc, "/x", rf"{DEPLOY}\{newer_msi.name}", "/qn")
    assert res.returncode == 0, res.output
    made = _calls(calls)
    assert len(made) == 4 and made[3][0][:3] == ["/Delete", "/TN", r"\yuncang-auditor\scheduled-scan"], made
    assert not winpc.c_path(wine_env.INSTALL_DIR).exists() and uninstall_entries(winpc) == {}
    assert winpc.c_path(wine_env.DATA_DIR + r"\reports").is_dir()
