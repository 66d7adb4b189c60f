"""Windows executables signed here (issue #17 item 5): a real PE (pip's launcher stub) with its version info
stripped, signed by ``osslsigncode`` with a self-made certificate (``openssl``) whose subject copies a vendor's,
as a renamed vendor binary arrives on an office PC; and real PEs built here (MinGW) with a vendor's version
information."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pefile
import pip
import pytest

# A real Windows PE with version info ships inside pip (distlib's launcher stubs).
LAUNCHER = Path(pip.__file__).parent / "_vendor" / "distlib" / "t64.exe"
RESOURCE_DIRECTORY = 2


MINGW = ("x86_64-w64-mingw32-windres", "x86_64-w64-mingw32-gcc")


def need_tools() -> None:
    for tool in ("openssl", "osslsigncode"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install -y --no-install-recommends {tool})")
    if not LAUNCHER.exists():
        pytest.skip("pip's launcher stub is not present in this pip build")


def stripped_pe(path: Path) -> Path:
    """pip's launcher with its resource directory cut off: no version info at all."""
    pe = pefile.PE(str(LAUNCHER))
    entry = pe.OPTIONAL_HEADER.DATA_DIRECTORY[RESOURCE_DIRECTORY]
    entry.VirtualAddress = entry.Size = 0
    pe.write(str(path))
    pe.close()
    return path


def certificate(folder: Path, common_name: str, organization: str | None = None) -> tuple[Path, Path]:
    """A self-signed code-signing certificate and its key whose subject copies a vendor's (an EC P-256 key: made in
    milliseconds, where RSA key generation costs seconds per certificate on a loaded machine)."""
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / "key.pem", folder / "cert.pem"
    subject = f"/C=CN/O={organization or common_name}/CN={common_name}"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "30", "-utf8", "-subj", subject,
                    "-addext", "extendedKeyUsage=codeSigning", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def signed_copy(src: Path, out: Path, common_name: str, organization: str | None = None) -> Path:
    """``src`` signed (Authenticode, SHA-256) by a certificate named ``common_name``, written to ``out``."""
    cert, key = certificate(out.parent / f".cert-{out.stem}", common_name, organization)
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["osslsigncode", "sign", "-h", "sha256", "-certs", str(cert), "-key", str(key), "-in", str(src),
                    "-out", str(out)], check=True, capture_output=True)
    return out


def need_mingw() -> None:
    for tool in MINGW:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install -y --no-install-recommends gcc-mingw-w64-x86-64)")


def versioned_pe(out: Path, strings: dict[str, str]) -> Path:
    """A small Windows console program built with MinGW whose version resource holds ``strings``
    (OriginalFilename, ProductName, CompanyName ...), written to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".pe-{out.stem}"
    work.mkdir(exist_ok=True)
    values = "".join(f'            VALUE "{k}", "{_rc_text(v)}"\n' for k, v in strings.items())
    (work / "version.rc").write_text('#pragma code_page(65001)\n#include <winver.h>\n1 VERSIONINFO\n'
                                     'FILEVERSION 1,0,0,0\nPRODUCTVERSION 1,0,0,0\nFILETYPE VFT_APP\nBEGIN\n'
                                     '    BLOCK "StringFileInfo"\n    BEGIN\n        BLOCK "040904b0"\n        BEGIN\n'
                                     f'{values}        END\n    END\n'
                                     '    BLOCK "VarFileInfo"\n    BEGIN\n        VALUE "Translation", 0x0409, 1200\n'
                                     '    END\nEND\n', encoding="utf-8")
    (work / "main.c").write_text("int main(void) { return 0; }\n", encoding="ascii")
    subprocess.run([MINGW[0], "-c", "65001", str(work / "version.rc"), "-O", "coff", "-o", str(work / "version.res")],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([MINGW[1], "-s", "-o", str(out), str(work / "main.c"), str(work / "version.res")],
                   check=True, capture_output=True, timeout=120)
    return out


def _rc_text(value: str) -> str:
    return value.replace('"', '""')
