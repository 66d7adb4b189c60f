"""Fast look-ups from observed names, paths, ports and PE strings to catalog tools."""

from __future__ import annotations

import ntpath
import posixpath
import re
from dataclasses import dataclass

from ..authenticode import Signer, norm_signer
from ..packs import Glob, Tool
from .build_marks import BuildMarks

_ENV_TAILS = {
    "%programfiles%": "program files", "%programfiles(x86)%": "program files (x86)",
    "%programw6432%": "program files", "%programdata%": "programdata", "%allusersprofile%": "programdata",
    "%systemroot%": "windows", "%windir%": "windows", "%appdata%": "appdata/roaming",
    "%localappdata%": "appdata/local", "%userprofile%": "", "%homepath%": "", "%public%": "users/public",
    "%temp%": "appdata/local/temp", "%tmp%": "appdata/local/temp",
}
GENERIC_FOLDERS = {"program files", "program files (x86)", "programdata", "windows", "system32", "users",
                   "appdata", "local", "roaming", "temp", "opt", "usr", "bin", "sbin", "lib", "etc", "home",
                   "public", "desktop", "downloads", "documents", "common files", "syswow64"}
# Publishers too broad to identify a tool on their own.
BROAD_COMPANIES = {"microsoft corporation", "google llc", "google inc.", "apple inc.", "tencent",
                   "tencent technology (shenzhen) company limited", "alibaba", "mozilla corporation"}
BROAD_SIGNERS = {norm_signer(c) for c in BROAD_COMPANIES} | {"microsoft windows", "microsoft windows publisher"}


def basename(path: str) -> str:
    return ntpath.basename(path) if "\\" in path else posixpath.basename(path)


def _stem(name: str) -> str:
    name = name.casefold()
    return name[:-4] if name.endswith(".exe") else name


def path_tail(path: str) -> str | None:
    """A folder written as in the catalog, reduced to a comparable tail ('program files/todesk')."""
    p = path.strip().casefold().replace("\\", "/")
    for var, tail in _ENV_TAILS.items():
        if p.startswith(var):
            p = tail + p[len(var):]
            break
    p = re.sub(r"^[a-z]:", "", p).strip("/")
    p = re.sub(r"^users/[^/]+/", "", p)
    parts = [x for x in p.split("/") if x]
    if not parts or parts[-1] in GENERIC_FOLDERS or len(parts[-1]) < 3:
        return None
    return "/".join(parts)


def norm_location(path: str) -> str:
    return "/" + path.casefold().replace("\\", "/").strip("/")


@dataclass
class Match:
    tool: Tool
    how: str  # process_name | pe_metadata | install_path | port | service_name | display_name | package ...
    value: str


class ToolIndex:
    def __init__(self, tools: dict[str, Tool]) -> None:
        self.tools = tools
        self.exact: dict[str, Tool] = {}
        self.stems: dict[str, Tool] = {}
        self.globs: list[tuple[Glob, Tool]] = []
        self.display_globs = [(Glob.of(p), tool) for tool in tools.values() for p in tool.display_names]
        self.autostart_globs = [(Glob.of(p), tool) for tool in tools.values() for p in tool.autostart_names]
        self.services: dict[str, Tool] = {}
        self.packages: dict[str, Tool] = {}
        self.paths: list[tuple[str, str, Tool]] = []  # ("/tail", "/tail/", tool): made once, met per path
        self.ports: dict[int, list[Tool]] = {}
        self.pe_orig: dict[str, Tool] = {}
        self.pe_product: dict[str, Tool] = {}
        self.go_modules: dict[str, Tool] = {}
        self.rust_crates: dict[str, Tool] = {}
        company_owners: dict[str, list[Tool]] = {}
        signer_owners: dict[str, list[Tool]] = {}
        for tool in tools.values():
            for name in tool.processes:
                if any(c in name for c in "*?["):
                    self.globs.append((Glob.of(name), tool))
                else:
                    self.exact.setdefault(name.casefold(), tool)
                    self.stems.setdefault(_stem(name), tool)
            for svc in tool.services:
                self.services.setdefault(svc.casefold(), tool)
            for pkg in tool.packages:
                self.packages.setdefault(pkg.casefold(), tool)
            for folder in tool.install_paths:
                tail = path_tail(folder)
                if tail:
                    self.paths.append(("/" + tail, "/" + tail + "/", tool))
            for port in tool.ports:
                self.ports.setdefault(port, []).append(tool)
            for orig in tool.pe["original_filenames"]:
                self.pe_orig.setdefault(orig.casefold(), tool)
            for prod in tool.pe["product_names"]:
                self.pe_product.setdefault(prod.casefold(), tool)
            for module in tool.go_modules:
                self.go_modules.setdefault(module.casefold(), tool)
            for crate in tool.rust_crates:
                self.rust_crates.setdefault(crate, tool)
            if tool.category not in ("builtin", "im_assist"):
                for comp in tool.pe["company_names"]:
                    company_owners.setdefault(comp.casefold(), []).append(tool)
                for signer in tool.pe["signers"]:
                    signer_owners.setdefault(norm_signer(signer), []).append(tool)
        self.pe_company = {c: ts[0] for c, ts in company_owners.items()
                           if len({t.id for t in ts}) == 1 and c not in BROAD_COMPANIES}
        # a signer names the first of the tools it signs (LogMeIn, Inc. signs four of GoTo's: the binary is one of
        # them, the evidence gives the signer), unless it is a broad publisher (the signers of built-in and
        # messenger tools sign everyday office programs too)
        self.signers = {s: ts[0] for s, ts in signer_owners.items() if s not in BROAD_SIGNERS}
        self.paths.sort(key=lambda pt: -len(pt[0]))  # most specific folder first

    # ----------------------------------------------------------------- processes
    def match_process(self, p) -> tuple[Match | None, bool]:
        """(match, renamed) of a ProcessFact. Renamed = recognised only by the PE version information the
        collector read, by the executable's Authenticode signer (version information stripped or altered), by its
        Go module or Rust crates (no version information nor signer at all), or by its install folder; Match.how
        says which."""
        for candidate in (p.name, p.exe or "", p.cmdline[0] if p.cmdline else ""):
            tool = self.by_name(candidate)
            if tool:
                return Match(tool, "process_name", basename(candidate)), False
        m = self.by_pe(p.version_info) if p.version_info else None
        if m is None and p.signers:
            m = self.by_signer(p.signers)
        if m is None and p.build_marks:
            m = self.by_build_marks(p.build_marks)
        if m is None:
            m = self.by_path(p.exe)
        return (m, True) if m else (None, False)

    # ----------------------------------------------------------------- names
    def by_name(self, name: str) -> Tool | None:
        if not name:
            return None
        low = basename(name).casefold()
        tool = self.exact.get(low) or self.stems.get(_stem(low))
        if tool:
            return tool
        exe = _stem(low) + ".exe"
        for glob, tool in self.globs:
            if glob.match(low) or glob.match(exe):
                return tool
        return None

    def by_path(self, path: str | None) -> Match | None:
        """A file or folder inside a tool's install folder."""
        if not path:
            return None
        loc = norm_location(path)
        for end, inside, tool in self.paths:
            if loc.endswith(end) or inside in loc:
                return Match(tool, "install_path", path)
        return None

    def by_pe(self, info: dict[str, str]) -> Match | None:
        orig = info.get("OriginalFilename", "").casefold()
        if orig and orig in self.pe_orig:
            return Match(self.pe_orig[orig], "pe_original_filename", info["OriginalFilename"])
        prod = info.get("ProductName", "").casefold()
        if prod and prod in self.pe_product:
            return Match(self.pe_product[prod], "pe_product_name", info["ProductName"])
        comp = info.get("CompanyName", "").casefold()
        if comp and comp in self.pe_company:
            return Match(self.pe_company[comp], "pe_company_name", info["CompanyName"])
        return None

    def by_signer(self, signers: list[Signer]) -> Match | None:
        """The tool whose catalog ``signers`` name the Authenticode signer of an executable (its certificate's
        common name or organisation; auditor.authenticode reads them, unverified: a signer only ever names a
        tool, never clears one)."""
        for signer in signers:
            for name in signer.names():
                tool = self.signers.get(norm_signer(name))
                if tool:
                    return Match(tool, "pe_signer", name)
        return None

    def by_build_marks(self, marks: BuildMarks) -> Match | None:
        """The tool whose catalog ``go_modules`` hold the executable's Go main module (or the module its main
        package lies in), else whose ``rust_crates`` hold one of its Rust crate folders (auditor.remote.build_marks;
        like a signer, a mark only ever names a tool)."""
        for path in (marks.go_module, marks.go_package):
            tool = self._go_module_of(path)
            if tool:
                return Match(tool, "go_module", path)
        for crate in marks.rust_crates:
            tool = self.rust_crates.get(crate)
            if tool:
                return Match(tool, "rust_crate", crate)
        return None

    def _go_module_of(self, path: str) -> Tool | None:
        """The tool of a module path or of a package inside it (``github.com/fatedier/frp/cmd/frpc``), also under a
        major-version suffix (``/v3``)."""
        low = path.casefold()
        while low:
            tool = self.go_modules.get(low)
            if tool:
                return tool
            low = low.rpartition("/")[0]
        return None

    def by_command(self, command: str | None) -> Match | None:
        """A command line (service ImagePath, Run value, task action, ExecStart) that runs a tool."""
        if not command:
            return None
        for token in re.split(r"[\"'\s,;=]+", command):
            if not token:
                continue
            tool = self.by_name(token) if ("." in token or "/" in token or "\\" in token
                                           or token.casefold() in self.exact) else None
            if tool:
                return Match(tool, "command", basename(token))
        exe = _command_exe(command)
        return self.by_path(exe) if exe else None

    def by_service(self, name: str) -> Tool | None:
        low = name.casefold()
        return self.services.get(low) or self.services.get(low.removesuffix(".service"))

    def by_display_name(self, name: str) -> Tool | None:
        low = name.casefold()
        return next((tool for glob, tool in self.display_globs if glob.match(low)), None)

    def by_autostart_name(self, name: str) -> Tool | None:
        low = name.casefold()
        return next((tool for glob, tool in self.autostart_globs if glob.match(low)), None)


def _command_exe(command: str) -> str | None:
    command = command.strip()
    if command.startswith('"'):
        end = command.find('"', 1)
        return command[1:end] if end > 0 else command[1:]
    low = command.casefold()
    idx = low.find(".exe")
    if idx > 0:
        return command[: idx + 4]
    return command.split()[0] if command.split() else None
