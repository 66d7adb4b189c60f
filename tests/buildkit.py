"""Real Go and Rust executables built here (issue #17): a tiny Go program whose go.mod declares a tool's module
path, built for Windows (PE) and Linux (ELF) by Debian's Go toolchain (``golang-go``, tests/system_packages.py), and
a tiny Rust workspace whose member crates carry a tool's crate names, built by this machine's cargo (Linux ELF:
the Windows targets of Rust's standard library are not installed here). Nothing is downloaded: the programs use
the standard libraries only (GOPROXY=off, cargo --offline)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conftest import require, skip_or_fail


def need_go() -> str:
    require("golang-go")
    return shutil.which("go") or "go"


def need_cargo() -> str:
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(cargo).exists():
        skip_or_fail("needs cargo (the Rust toolchain this machine kind carries)")
    return cargo


def _go_env(goos: str) -> dict[str, str]:
    # Go's own build cache (~/.cache/go-build) is kept: the standard library is compiled once per machine
    return {**os.environ, "GOOS": goos, "GOARCH": "amd64", "CGO_ENABLED": "0", "GOPROXY": "off", "GOFLAGS": "-mod=mod",
            "GO111MODULE": "on", "GOTOOLCHAIN": "local"}


def go_program(out: Path, module: str, package: str = "", goos: str = "windows", stripped: bool = False,
               uses: str = "") -> Path:
    """A Go program in module ``module`` (its main package in the folder ``package`` of the module, "" for the root),
    built for ``goos`` into ``out``; ``stripped``: -trimpath -ldflags=-s -w, as release builds are; ``uses``: a
    module path this program imports as a dependency (a local module of that path, joined with ``replace``)."""
    go = need_go()
    work = out.parent / f".go-{out.name}"
    main_dir = work / package if package else work
    main_dir.mkdir(parents=True, exist_ok=True)
    mod = f"module {module}\n\ngo 1.18\n"
    body = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("ready") }\n'
    if uses:
        dep = work.parent / f".dep-{out.name}"
        (dep / "lib").mkdir(parents=True, exist_ok=True)
        (dep / "go.mod").write_text(f"module {uses}\n\ngo 1.18\n", encoding="ascii")
        (dep / "lib" / "lib.go").write_text('package lib\n\nfunc Name() string { return "dep" }\n', encoding="ascii")
        mod += f"\nrequire {uses} v0.0.0\n\nreplace {uses} => {dep}\n"
        body = (f'package main\n\nimport (\n\t"fmt"\n\n\t"{uses}/lib"\n)\n\n'
                'func main() { fmt.Println(lib.Name()) }\n')
    (work / "go.mod").write_text(mod, encoding="ascii")
    (main_dir / "main.go").write_text(body, encoding="ascii")
    cmd = [go, "build", "-o", str(out.resolve())]
    if stripped:
        cmd += ["-trimpath", "-ldflags=-s -w"]
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([*cmd, "./" + package if package else "."], cwd=work, env=_go_env(goos), check=True,
                   capture_output=True, timeout=600)
    return out


def rust_program(out: Path, crates: list[str], binary: str | None = None) -> Path:
    """A Rust workspace whose member crates are named ``crates`` (the last one the binary, each earlier one a
    library it calls, with panic sites: unwrap, expect, an index), built --release (panic=abort, debuginfo
    stripped, as VNT's release profile) and copied to ``out``."""
    cargo = need_cargo()
    work = out.parent / f".rs-{out.name}"
    *libs, main = crates
    members = ", ".join(f'"{c}"' for c in crates)
    (work).mkdir(parents=True, exist_ok=True)
    (work / "Cargo.toml").write_text(f'[workspace]\nmembers = [{members}]\nresolver = "2"\n\n'
                                     '[profile.release]\npanic = "abort"\nstrip = "debuginfo"\n', encoding="ascii")
    for lib in libs:
        (work / lib / "src").mkdir(parents=True, exist_ok=True)
        (work / lib / "Cargo.toml").write_text(f'[package]\nname = "{lib}"\nversion = "1.2.16"\nedition = "2021"\n',
                                               encoding="ascii")
        (work / lib / "src" / "lib.rs").write_text(
            "pub fn pick(v: &[u32], i: usize) -> u32 { v[i] + v.get(i + 1).copied().unwrap() }\n"
            'pub fn parse(s: &str) -> u32 { s.parse::<u32>().expect("a number") }\n', encoding="ascii")
    deps = "".join(f'{lib} = {{ path = "../{lib}" }}\n' for lib in libs)
    (work / main / "src").mkdir(parents=True, exist_ok=True)
    (work / main / "Cargo.toml").write_text(f'[package]\nname = "{main}"\nversion = "1.2.16"\nedition = "2021"\n\n'
                                            f'[[bin]]\nname = "{binary or main}"\npath = "src/main.rs"\n\n'
                                            f"[dependencies]\n{deps}", encoding="ascii")
    calls = " + ".join(f"{lib.replace('-', '_')}::pick(&v, n) + {lib.replace('-', '_')}::parse(a)" for lib in libs)
    (work / main / "src" / "main.rs").write_text(
        "fn main() {\n    let args: Vec<String> = std::env::args().collect();\n"
        "    let v: Vec<u32> = args.iter().map(|a| a.len() as u32).collect();\n"
        "    let n = args.len().saturating_sub(1);\n    let a = args.get(1).map(String::as_str).unwrap_or(\"1\");\n"
        f"    let first = args.first().expect(\"argv[0]\").len() as u32;\n"
        f"    println!(\"{{}}\", first + {calls or 'v[n]'});\n}}\n", encoding="ascii")
    env = {**os.environ, "CARGO_TARGET_DIR": str(work / "target"), "CARGO_NET_OFFLINE": "true"}
    subprocess.run([cargo, "build", "--release", "--offline", "-q"], cwd=work, env=env, check=True,
                   capture_output=True, timeout=900)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(work / "target" / "release" / (binary or main), out)
    return out
