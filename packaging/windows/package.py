"""Package the frozen Windows agent into dist/: sign it (optional, Authenticode with osslsigncode) and build the MSI
(wixl + msibuild, msitools). Run by build.sh after the PyInstaller freeze; needs only the standard library.

    python3 package.py --frozen CACHE/frozen --dist dist [--sign CERT KEY [--pass-file F] [--timestamp-url URL]...]

Inputs (the cached freeze, see auditor.spec):  FROZEN/auditor-onefile.exe, FROZEN/auditor/ (one folder),
FROZEN/.version (the wheel's version), FROZEN/.inputs (digest of the sources, sources.py).
Outputs: dist/auditor.exe (+ .sha256), dist/auditor/, dist/yuncang-auditor-VERSION-x64.msi (+ .sha256),
dist/auditor.exe.inputs (written last), dist/.package (what this run was asked for: nothing is redone while the
freeze, this script and the signing request are unchanged).

Signing. Signed: the PyInstaller bootloader executables (dist/auditor.exe and dist/auditor/auditor.exe, which carry
our frozen code and the version resource), every DLL/pyd in the one-folder build that carries no signature of its
own (extension modules from the pinned wheels: psutil, numpy, pandas, ...; none is ours in source, but the agent
ships them and application-control policies judge each file loaded), and the MSI. Not signed: files that already
carry an Authenticode signature (python313.dll, vcruntime140*.dll and CPython's own pyds, signed by their
publishers): they keep it. The one-file exe carries its DLLs inside, unpacked at start; only the exe is signed.

The MSI. Per machine, x64, into [ProgramFiles64Folder]yuncang-auditor (admin-only write); the Uninstall entry shows
ProductName/ProductVersion/Manufacturer; the install folder is appended to the system PATH (Environment table, which
wixl 0.101 cannot write: added with msibuild); one stable UpgradeCode, so a newer MSI replaces the installed one
(major upgrade) and an older one refuses to install. Public properties: SCHEDULE=1 registers the daily scan as
SYSTEM (SCHEDULE_TIME=HH:MM, default 12:30; ROLE; SITE) by running the installed `auditor.exe schedule install
--system ...` as a deferred custom action without impersonation; uninstall runs `auditor.exe schedule remove
--system` before the files go (not when an upgrade removes the older version: the task then keeps pointing at the
same path). Both custom actions are Return="ignore": a failing Task Scheduler (Wine's keeps only part of a task)
does not abort the install; what `schedule install` printed is kept in INSTALLDIR\\schedule-install.log (it runs
through cmd for that redirection only), and `auditor schedule status --system` tells whether the task is there.
Reports and data under %ProgramData%\\yuncang-auditor are not the installer's and stay.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from xml.sax.saxutils import quoteattr

HERE = Path(__file__).resolve().parent
PRODUCT = "yuncang-auditor"
MANUFACTURER = "yuncang-auditor"
# Never change: Windows Installer recognises earlier versions of the product by it (major upgrades).
UPGRADE_CODE = "3F7E18FF-CB78-4AFD-9506-D6AE3F7A529C"
NAMESPACE = uuid.UUID(UPGRADE_CODE)
PUBLIC_PROPERTIES = ("SCHEDULE", "SCHEDULE_TIME", "ROLE", "SITE", "INSTALLDIR")
PE_SUFFIXES = (".exe", ".dll", ".pyd")
SCHEDULE_LOG = "schedule-install.log"  # what the SCHEDULE=1 custom action printed, in the install folder


def log(msg: str) -> None:
    print(f"[package.py] {msg}", file=sys.stderr, flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def msi_name(version: str) -> str:
    return f"{PRODUCT}-{re.sub(r'[^0-9A-Za-z.]+', '.', version)}-x64.msi"


def product_version(version: str) -> str:
    """The MSI ProductVersion (major.minor.build, numbers only) of a PEP 440 version: 1.2.3rc1+local -> 1.2.3."""
    release = re.match(r"(\d+(?:\.\d+)*)", version)
    if not release:
        raise SystemExit(f"version {version!r}: no release numbers")
    parts = [int(p) for p in release.group(1).split(".")][:3]
    parts += [0] * (3 - len(parts))
    if parts[0] > 255 or parts[1] > 255 or parts[2] > 65535:
        raise SystemExit(f"version {version!r}: beyond what an MSI ProductVersion holds (255.255.65535)")
    return ".".join(map(str, parts))


# --------------------------------------------------------------------------- Authenticode

def pe_signature(path: Path) -> tuple[int, int]:
    """(offset, size) of the PE's certificate table (the Authenticode signature); (0, 0) when there is none."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head[:2] != b"MZ":
        raise ValueError(f"{path}: not a PE file")
    pe = struct.unpack_from("<I", head, 0x3C)[0]
    if head[pe:pe + 4] != b"PE\0\0":
        raise ValueError(f"{path}: not a PE file")
    opt = pe + 24
    magic = struct.unpack_from("<H", head, opt)[0]
    dirs = opt + (112 if magic == 0x20B else 96)  # PE32+ / PE32
    return struct.unpack_from("<II", head, dirs + 4 * 8)  # IMAGE_DIRECTORY_ENTRY_SECURITY


def is_signed(path: Path) -> bool:
    return pe_signature(path)[1] > 0


class Signer:
    def __init__(self, cert: Path, key: str, pass_file: Path | None, timestamp_urls: list[str]) -> None:
        self.tool = shutil.which("osslsigncode")
        if not self.tool:
            raise SystemExit("--sign needs osslsigncode (apt-get install osslsigncode)")
        self.cert, self.key, self.pass_file, self.urls = cert, key, pass_file, timestamp_urls
        self.pfx = cert.suffix.lower() in (".pfx", ".p12")
        if not self.pfx and key == "-":
            raise SystemExit("--sign CERT KEY: KEY is the private key file ('-' only with a .pfx/.p12 CERT)")

    def identity(self) -> str:
        """What the stamp records: the certificate's and key's digests and the timestamp servers (never a secret)."""
        parts = [sha256(self.cert)] + ([] if self.key == "-" else [sha256(Path(self.key))]) + self.urls
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def sign(self, src: Path, dst: Path, description: str) -> None:
        argv = [self.tool, "sign"]
        argv += ["-pkcs12", str(self.cert)] if self.pfx else ["-certs", str(self.cert), "-key", self.key]
        if self.pass_file:
            argv += ["-readpass", str(self.pass_file)]
        argv += ["-h", "sha256", "-n", description, "-in", str(src), "-out", str(dst)]
        tmp = dst.with_name(dst.name + ".signing")
        argv[-1] = str(tmp)
        # a timestamp server may be down: try each in turn (osslsigncode itself retries a few times)
        urls = self.urls or [None]
        last = ""
        for url in urls:
            tmp.unlink(missing_ok=True)
            res = subprocess.run(argv + (["-ts", url] if url else []), stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True)
            if res.returncode == 0 and tmp.is_file():
                os.replace(tmp, dst)
                return
            last = (res.stdout + res.stderr).strip()[-800:]
            log(f"signing {src.name}{' with timestamp ' + url if url else ''} failed: {last}")
        tmp.unlink(missing_ok=True)
        raise SystemExit(f"osslsigncode could not sign {src}")


def sign_folder(folder: Path, signer: Signer) -> dict[str, list[str]]:
    """Sign the one-folder build in place: our exe, and every DLL/pyd without a signature of its own."""
    signed, kept = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PE_SUFFIXES):
        rel = path.relative_to(folder).as_posix()
        if path.name.lower() != "auditor.exe" and is_signed(path):
            kept.append(rel)
            continue
        signer.sign(path, path, "yuncang-auditor")
        signed.append(rel)
    return {"signed": signed, "kept_own_signature": kept}


# --------------------------------------------------------------------------- MSI

# The agent's event source, so the Event Viewer shows its lines as they are: the .NET Framework 4 message file
# (present on every Windows 10/11) formats any event id as "%1". Removed with the program.
EVENT_SOURCE_KEY = r"SYSTEM\CurrentControlSet\Services\EventLog\Application\yuncang-auditor"
EVENT_MESSAGE_FILE = r"%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll"
EVENT_SOURCE = (f'<RegistryKey Root="HKLM" Key="{EVENT_SOURCE_KEY}">'
                f'<RegistryValue Name="EventMessageFile" Type="expandable" Value="{EVENT_MESSAGE_FILE}"/>'
                '<RegistryValue Name="TypesSupported" Type="integer" Value="7"/></RegistryKey>')


def _wid(prefix: str, rel: str) -> str:
    """A WiX identifier for a path of the one-folder build: stable from version to version."""
    return prefix + hashlib.sha1(rel.casefold().encode("utf-8")).hexdigest()[:24]


def wxs(folder: Path, version: str, product_code: str) -> str:
    """The WiX source of the MSI: the one-folder build's tree, one component per file (stable GUIDs). File sources
    are auditor/<path> (wixl looks for them beside the .wxs only)."""
    lines: list[str] = []
    refs: list[str] = []

    def walk(d: Path, depth: int) -> None:
        pad = "  " * depth
        for entry in sorted(d.iterdir(), key=lambda p: (p.is_dir(), p.name.casefold())):
            rel = entry.relative_to(folder).as_posix()
            if entry.is_dir():
                lines.append(f"{pad}<Directory Id={quoteattr(_wid('d', rel))} Name={quoteattr(entry.name)}>")
                walk(entry, depth + 1)
                lines.append(f"{pad}</Directory>")
                continue
            main = rel.casefold() == "auditor.exe"
            comp = "AuditorExe" if main else _wid("c", rel)
            fid = "AuditorExeFile" if main else _wid("f", rel)
            guid = str(uuid.uuid5(NAMESPACE, "component:" + rel.casefold())).upper()
            lines.append(f"{pad}<Component Id={quoteattr(comp)} Guid={quoteattr(guid)} Win64=\"yes\">"
                         f"<File Id={quoteattr(fid)} Name={quoteattr(entry.name)} Source={quoteattr('auditor/' + rel)}"
                         f" KeyPath=\"yes\"/>{EVENT_SOURCE if main else ''}</Component>")
            refs.append(comp)

    walk(folder, 5)
    if "AuditorExe" not in refs:
        raise SystemExit(f"{folder}: no auditor.exe")
    body = "\n".join(lines)
    comprefs = "\n".join(f"      <ComponentRef Id={quoteattr(r)}/>" for r in refs)
    pv = product_version(version)
    deferred = 'FileKey="AuditorExeFile" Execute="deferred" Impersonate="no" Return="ignore"'
    return f"""<?xml version="1.0" encoding="utf-8"?>
<!-- generated by packaging/windows/package.py from the one-folder build of yuncang-auditor {version} -->
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="{product_code}" Name="{PRODUCT}" Language="1033" Version="{pv}"
           Manufacturer="{MANUFACTURER}" UpgradeCode="{UPGRADE_CODE}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine"
             Description="{PRODUCT} {version}: personal-information leak auditor (x64)"
             Comments="Installs auditor.exe in Program Files, on the system PATH; SCHEDULE=1 registers the daily scan"/>
    <MajorUpgrade DowngradeErrorMessage="A newer version of {PRODUCT} is already installed."/>
    <MediaTemplate EmbedCab="yes"/>
    <Condition Message="{PRODUCT} is installed for all users: run the installer as an administrator.">Privileged</Condition>
    <Property Id="ARPNOMODIFY" Value="1"/>
    <Property Id="ARPCOMMENTS" Value="Personal-information leak auditor for warehouse office PCs ({version})"/>
    <Property Id="SCHEDULE" Value="0"/>
    <Property Id="SCHEDULE_TIME" Value="12:30"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="{PRODUCT}">
{body}
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Agent" Level="1" Title="{PRODUCT}">
{comprefs}
    </Feature>
    <CustomAction Id="AuditorScheduleCmd" Property="AUDITOR_SCHEDULE_CMD" Impersonate="yes"
                  Value="schedule install --system --daily [SCHEDULE_TIME]"/>
    <CustomAction Id="AuditorScheduleRole" Property="AUDITOR_SCHEDULE_CMD" Impersonate="yes"
                  Value="[AUDITOR_SCHEDULE_CMD] --role &quot;[ROLE]&quot;"/>
    <CustomAction Id="AuditorScheduleSite" Property="AUDITOR_SCHEDULE_CMD" Impersonate="yes"
                  Value="[AUDITOR_SCHEDULE_CMD] --site &quot;[SITE]&quot;"/>
    <CustomAction Id="AuditorComSpec" Property="AUDITOR_COMSPEC" Impersonate="yes" Value="[System64Folder]cmd.exe"/>
    <!-- cmd only to keep what `schedule install` printed: [INSTALLDIR]schedule-install.log (admin-only, removed
         with the program); /s: the outer quotes go, the rest is one command line -->
    <CustomAction Id="AuditorScheduleInstall" Property="AUDITOR_COMSPEC" Execute="deferred" Impersonate="no"
                  Return="ignore"
                  ExeCommand="/d /s /c &quot;&quot;[#AuditorExeFile]&quot; [AUDITOR_SCHEDULE_CMD] &gt; &quot;[INSTALLDIR]{SCHEDULE_LOG}&quot; 2&gt;&amp;1&quot;"/>
    <CustomAction Id="AuditorScheduleRemove" {deferred} ExeCommand="schedule remove --system"/>
    <InstallExecuteSequence>
      <Custom Action="AuditorScheduleCmd" Sequence="1010">SCHEDULE="1" AND NOT REMOVE</Custom>
      <Custom Action="AuditorScheduleRole" Sequence="1011">SCHEDULE="1" AND NOT REMOVE AND ROLE</Custom>
      <Custom Action="AuditorScheduleSite" Sequence="1012">SCHEDULE="1" AND NOT REMOVE AND SITE</Custom>
      <Custom Action="AuditorComSpec" Sequence="1013">SCHEDULE="1" AND NOT REMOVE</Custom>
      <Custom Action="AuditorScheduleRemove" Sequence="3400">REMOVE~="ALL" AND NOT UPGRADINGPRODUCTCODE</Custom>
      <RemoveEnvironmentStrings Sequence="3300"/>
      <WriteEnvironmentStrings Sequence="5200"/>
      <Custom Action="AuditorScheduleInstall" Sequence="6550">SCHEDULE="1" AND NOT REMOVE</Custom>
    </InstallExecuteSequence>
  </Product>
</Wix>
"""


def _sql(msi: Path, *queries: str) -> None:
    for q in queries:
        res = subprocess.run(["msibuild", str(msi), "-q", q], capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit(f"msibuild -q {q!r} failed: {(res.stdout + res.stderr).strip()}")


def build_msi(folder: Path, version: str, out: Path, product_code: str, work: Path) -> None:
    """wixl, then msibuild for what wixl 0.101 cannot write."""
    for tool in ("wixl", "msibuild"):
        if not shutil.which(tool):
            raise SystemExit(f"the MSI needs {tool} (apt-get install wixl msitools)")
    source = work / "auditor.wxs"
    (work / "auditor").symlink_to(folder.resolve(), target_is_directory=True)
    source.write_text(wxs(folder, version, product_code), encoding="utf-8")
    res = subprocess.run(["wixl", "-a", "x64", "-o", str(out), str(source)], capture_output=True, text=True)
    if res.returncode != 0 or not out.is_file():
        raise SystemExit(f"wixl failed: {(res.stdout + res.stderr).strip()[-2000:]}")
    # What wixl 0.101 cannot say: the PATH entry (Environment table: = set at install, - remove at uninstall,
    # * system variable; [~]; appends), the public properties an elevated install passes from the client to the
    # server (SecureCustomProperties), and a same-version rebuild replacing the installed one (Upgrade row with
    # the maximum included).
    secure = ";".join(("WIX_DOWNGRADE_DETECTED", "WIX_UPGRADE_DETECTED") + PUBLIC_PROPERTIES)
    _sql(out,
         "CREATE TABLE `Environment` (`Environment` CHAR(72) NOT NULL, `Name` CHAR(255) NOT NULL LOCALIZABLE, "
         "`Value` CHAR(255) LOCALIZABLE, `Component_` CHAR(72) NOT NULL PRIMARY KEY `Environment`)",
         "INSERT INTO `Environment` (`Environment`, `Name`, `Value`, `Component_`) "
         "VALUES ('AuditorPath', '=-*PATH', '[~];[INSTALLDIR]', 'AuditorExe')",
         # the custom action's log is not a file of the package: removed on uninstall (InstallMode 2)
         "INSERT INTO `RemoveFile` (`FileKey`, `Component_`, `FileName`, `DirProperty`, `InstallMode`) "
         f"VALUES ('AuditorScheduleLog', 'AuditorExe', '{SCHEDULE_LOG}', 'INSTALLDIR', 2)",
         f"UPDATE `Property` SET `Value` = '{secure}' WHERE `Property` = 'SecureCustomProperties'",
         # (Attributes is part of the Upgrade table's key: the row is replaced; 513 = migrate features +
         # maximum included)
         # the event source's key as Windows names it (wixl ends it with a backslash), its message file as
         # REG_EXPAND_SZ ("#%" prefix; wixl writes a plain string)
         f"UPDATE `Registry` SET `Key` = '{EVENT_SOURCE_KEY}' WHERE `Component_` = 'AuditorExe'",
         f"UPDATE `Registry` SET `Value` = '#%{EVENT_MESSAGE_FILE}' WHERE `Name` = 'EventMessageFile'",
         "DELETE FROM `Upgrade` WHERE `ActionProperty` = 'WIX_UPGRADE_DETECTED'",
         "INSERT INTO `Upgrade` (`UpgradeCode`, `VersionMax`, `Attributes`, `ActionProperty`) "
         f"VALUES ('{{{UPGRADE_CODE}}}', '{product_version(version)}', 513, 'WIX_UPGRADE_DETECTED')")


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frozen", type=Path, required=True)
    ap.add_argument("--dist", type=Path, required=True)
    ap.add_argument("--sign", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--pass-file", type=Path)
    ap.add_argument("--timestamp-url", action="append", default=[])
    ap.add_argument("--msi-version", help="(tests) build the MSI under this version instead of the wheel's")
    ap.add_argument("--msi-only", type=Path, metavar="OUT.msi",
                    help="(tests) only build the MSI from --frozen's one folder (as dist/ has it) into OUT.msi")
    args = ap.parse_args(argv)
    frozen, dist = args.frozen.resolve(), args.dist.resolve()
    version = (frozen / ".version").read_text().strip() if (frozen / ".version").is_file() else ""
    inputs = (frozen / ".inputs").read_text().strip() if (frozen / ".inputs").is_file() else ""
    signer = None
    if args.sign:
        signer = Signer(Path(args.sign[0]).resolve(), args.sign[1], args.pass_file, args.timestamp_url)

    if args.msi_only:
        msi_version = args.msi_version or version
        folder = frozen / "auditor"
        with tempfile.TemporaryDirectory() as tmp:
            code = "{" + str(uuid.uuid5(NAMESPACE, f"product:{msi_version}:{inputs}:test")).upper() + "}"
            build_msi(folder, msi_version, args.msi_only, code, Path(tmp))
        if signer:
            signer.sign(args.msi_only, args.msi_only, f"{PRODUCT} {msi_version}")
        return 0

    if not version or not inputs:
        raise SystemExit(f"{frozen}: no complete freeze (run build.sh)")
    me = sha256(Path(__file__))
    want = {"inputs": inputs, "version": version, "package.py": me,
            "signing": signer.identity() if signer else None}
    stamp = dist / ".package"
    msi = dist / msi_name(version)
    try:
        have = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        have = None
    if (have and {k: have.get(k) for k in want} == want and msi.is_file() and (dist / "auditor.exe").is_file()
            and (dist / "auditor" / "auditor.exe").is_file()
            and (dist / "auditor.exe.inputs").is_file()
            and (dist / "auditor.exe.inputs").read_text().strip() == inputs):
        log(f"dist/ is up to date ({'signed' if signer else 'unsigned'}, {msi.name})")
        return 0

    dist.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".package-", dir=dist))
    try:
        log(f"stage {version} ({'signed' if signer else 'unsigned'})")
        shutil.copytree(frozen / "auditor", stage / "auditor")
        report: dict = {}
        if signer:
            signer.sign(frozen / "auditor-onefile.exe", stage / "auditor.exe", PRODUCT)
            report = sign_folder(stage / "auditor", signer)
            log(f"signed auditor.exe and {len(report['signed'])} files of the one folder "
                f"({len(report['kept_own_signature'])} keep their publishers' signatures)")
        else:
            shutil.copy2(frozen / "auditor-onefile.exe", stage / "auditor.exe")
        product_code = "{" + str(uuid.uuid5(NAMESPACE, f"product:{version}:{inputs}:{want['signing']}")).upper() + "}"
        log(f"MSI {msi.name} (ProductVersion {product_version(version)}, ProductCode {product_code})")
        work = stage / "wxs"
        work.mkdir()
        build_msi(stage / "auditor", version, stage / msi.name, product_code, work)
        if signer:
            signer.sign(stage / msi.name, stage / msi.name, f"{PRODUCT} {version}")
        for name in ("auditor.exe", msi.name):
            (stage / f"{name}.sha256").write_text(f"{sha256(stage / name)}  {name}\n")
        # into dist/: the inputs stamp goes last (the tests take a dist/ with a current stamp as complete)
        (dist / "auditor.exe.inputs").unlink(missing_ok=True)
        stamp.unlink(missing_ok=True)
        for old in dist.glob(f"{PRODUCT}-*-x64.msi*"):
            old.unlink()
        shutil.rmtree(dist / "auditor", ignore_errors=True)
        os.replace(stage / "auditor", dist / "auditor")
        for name in ("auditor.exe", "auditor.exe.sha256", msi.name, f"{msi.name}.sha256"):
            os.replace(stage / name, dist / name)
        shutil.copy2(work / "auditor.wxs", dist / ".auditor.wxs")
        stamp.write_text(json.dumps({**want, "msi": msi.name, "product_code": product_code, **report}, indent=1)
                         + "\n", encoding="utf-8")
        (dist / "auditor.exe.inputs").write_text(inputs + "\n")
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    log(f"dist/auditor.exe {(dist / 'auditor.exe').stat().st_size} bytes, dist/auditor/ "
        f"{sum(1 for p in (dist / 'auditor').rglob('*') if p.is_file())} files, dist/{msi.name} "
        f"{msi.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
