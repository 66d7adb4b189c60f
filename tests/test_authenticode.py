"""Authenticode signers (issue #17 item 5): the subject of the certificate that signed a PE, read by
auditor.authenticode from binaries signed here by osslsigncode, and nothing from unsigned, broken or crafted
certificate tables."""

from __future__ import annotations

import struct

import pefile
import pytest

from auditor import packs
from auditor.authenticode import MAX_TABLE, SECURITY_DIRECTORY, certificate_table, norm_signer, signers
from auditor.remote.tool_index import BROAD_SIGNERS, ToolIndex
from signkit import need_tools, signed_copy, stripped_pe

VENDORS = [("Hainan YouQu Technology Co., Ltd", None), ("上海贝锐信息科技股份有限公司", None),
           ("AnyDesk Software GmbH", "philandro Software GmbH")]


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    need_tools()
    return stripped_pe(tmp_path_factory.mktemp("pe") / "bare.exe")


@pytest.mark.parametrize("common_name,organization", VENDORS)
def test_signer_subject_of_a_signed_binary(bare, tmp_path, common_name, organization):
    exe = signed_copy(bare, tmp_path / "svchost.exe", common_name, organization)
    [signer] = signers(exe.read_bytes())
    assert signer.common_name == common_name
    assert signer.organization == (organization or common_name)
    assert signer.issuer == common_name  # self-signed: never verified, only used to name a tool
    assert signer.to_dict()["verified"] is False
    assert norm_signer(signer.common_name) in {norm_signer(n) for n in signer.names()}


def test_unsigned_and_non_pe_files_have_no_signer(bare):
    assert signers(bare.read_bytes()) == []
    assert signers(b"MZ" + b"\0" * 200) == []
    assert signers(b"not a PE at all") == []


def _with_table(pe: bytes, offset: int, size: int, table: bytes = b"") -> bytes:
    """``pe`` with its certificate table entry pointing at (offset, size) and ``table`` appended."""
    p = pefile.PE(data=pe, fast_load=True)
    entry = p.OPTIONAL_HEADER.DATA_DIRECTORY[SECURITY_DIRECTORY]
    entry.VirtualAddress, entry.Size = offset, size
    out = p.write() + table
    p.close()
    return bytes(out)


@pytest.mark.slow  # many crafted tables
def test_crafted_certificate_tables_are_no_signer(bare, tmp_path):
    data = bare.read_bytes()
    end = len(data)
    cases = {
        "beyond the end": _with_table(data, end + 4096, 64),
        "garbage entry": _with_table(data, end, 64, struct.pack("<IHH", 64, 0x200, 2) + b"\x30\x82" + b"\xff" * 54),
        "length below header": _with_table(data, end, 16, struct.pack("<IHH", 4, 0x200, 2) + b"\0" * 8),
        "length past table": _with_table(data, end, 16, struct.pack("<IHH", 1 << 30, 0x200, 2) + b"\0" * 8),
        "not signed data": _with_table(data, end, 16, struct.pack("<IHH", 16, 0x200, 1) + b"\0" * 8),
    }
    for name, crafted in cases.items():
        assert signers(crafted) == [], name
    signed = signed_copy(bare, tmp_path / "s.exe", "AnyDesk Software GmbH").read_bytes()
    assert signers(signed[:-200]) == []  # the signature cut short
    huge = _with_table(data, end, 64 << 20, b"\0" * 16)
    assert len(certificate_table(huge)) <= MAX_TABLE


# --------------------------------------------------------------------------- naming a renamed binary by its signer

@pytest.fixture(scope="module")
def index():
    return ToolIndex(packs.catalog())


@pytest.mark.parametrize("common_name,organization,tool", [
    ("上海贝锐信息科技股份有限公司", None, "sunlogin"),
    ("AnyDesk Software GmbH", None, "anydesk"),
    ("Remote Support", "philandro Software GmbH", "anydesk"),  # the organisation names it when the CN does not
    ("TeamViewer Germany GmbH", None, "teamviewer"),
])
def test_renamed_binary_without_version_info_named_by_its_signer(bare, index, tmp_path, common_name, organization,
                                                                   tool):
    exe = signed_copy(bare, tmp_path / "WinUpdateHelper.exe", common_name, organization)
    data = exe.read_bytes()
    assert index.by_name(exe.name) is None and index.by_pe(_version_info(data)) is None  # nothing else names it
    match = index.by_signer(signers(data))
    assert match is not None and (match.tool.id, match.how) == (tool, "pe_signer")
    assert norm_signer(match.value) in {norm_signer(common_name), norm_signer(organization or common_name)}


@pytest.mark.parametrize("common_name", ["Microsoft Corporation", "Microsoft Windows", "Tencent Technology "
                                         "(Shenzhen) Company Limited", "Kingsoft Office Software Co., Ltd."])
def test_everyday_signers_name_no_tool(bare, index, tmp_path, common_name):
    exe = signed_copy(bare, tmp_path / "office.exe", common_name)
    assert index.by_signer(signers(exe.read_bytes())) is None


def test_broad_publishers_name_none_and_a_family_signer_names_one_of_its_tools(index):
    family = index.signers[norm_signer("LogMeIn, Inc.")]  # GoTo's products share one signer
    assert "LogMeIn, Inc." in family.pe["signers"] and family.category != "builtin"
    assert not BROAD_SIGNERS & set(index.signers)
    assert not [t for t in index.signers.values() if t.category in ("builtin", "im_assist")]
    assert {t.id for t in index.signers.values()} >= {"sunlogin", "anydesk", "teamviewer"}


def _version_info(data: bytes) -> dict[str, str]:
    pe = pefile.PE(data=data)
    try:
        return {k.decode(): v.decode() for fi in getattr(pe, "FileInfo", []) or [] for e in fi
                if hasattr(e, "StringTable") for st in e.StringTable for k, v in st.entries.items()}
    finally:
        pe.close()
