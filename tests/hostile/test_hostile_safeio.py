"""The one safe way to open what is found on disk (auditor.safeio), played against an ordinary user."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from auditor import safeio
from auditor.safeio import OpenDir, Refused, Tree

from hostilekit import give_to_user, needs_root

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX descriptors; Windows is covered under Wine")


def test_regular_file_reads(tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes(b"x,y\n1,2\n")
    with safeio.open_regular(f) as fh:
        assert fh.read() == b"x,y\n1,2\n"
    assert safeio.read_bytes(f) == b"x,y\n1,2\n"


@pytest.mark.parametrize("make, word", [
    (lambda p: os.mkfifo(p), "FIFO"),
    (lambda p: p.mkdir(), "folder"),
])
def test_not_regular_refused_without_blocking(tmp_path, make, word):
    target = tmp_path / "x.csv"
    make(target)
    done = []

    def opener():
        try:
            safeio.open_regular(target)
        except Refused as exc:
            done.append(exc.reason)

    th = threading.Thread(target=opener, daemon=True)
    th.start()
    th.join(5)
    assert done, "opening a FIFO must not block"
    assert word in done[0]


def test_device_reached_by_root_link_is_refused(tmp_path):
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    with pytest.raises(Refused, match="character device"):
        safeio.open_regular(link)


@needs_root
def test_users_symlink_is_not_followed_final_or_inside(tmp_path):
    secret = tmp_path / "root-only"
    secret.mkdir(mode=0o700)
    (secret / "shadow.csv").write_text("13812345678\n")
    home = tmp_path / "home"
    home.mkdir()
    final = home / "x.csv"
    final.symlink_to(secret / "shadow.csv")
    inner = home / "Desktop"
    inner.symlink_to(secret)
    give_to_user(home, final, inner)
    with pytest.raises(Refused, match="symbolic link owned by uid 1000"):
        safeio.open_regular(final)
    with pytest.raises(Refused, match="symbolic link owned by uid 1000"):
        safeio.open_regular(inner / "shadow.csv")
    # a root-owned link (what the system itself makes, e.g. /etc/localtime) is followed
    trusted = home / "sys.csv"
    trusted.symlink_to(secret / "shadow.csv")
    assert safeio.read_bytes(trusted).startswith(b"138")


def test_growing_file_ends_where_it_was_opened(tmp_path):
    f = tmp_path / "grow.csv"
    f.write_bytes(b"a" * 1000)
    fh = safeio.open_regular(f, buffered=False)
    with open(f, "ab") as w:
        w.write(b"b" * 5000)
    data = fh.read()
    fh.close()
    assert data == b"a" * 1000


def test_size_limit(tmp_path):
    f = tmp_path / "big.csv"
    f.write_bytes(b"1" * 2048)
    with pytest.raises(Refused, match="too large"):
        safeio.read_bytes(f, max_size=1024)


def test_root_confines_absolute_and_dotdot_links(tmp_path):
    outside = tmp_path / "host"
    (outside / "etc").mkdir(parents=True)
    (outside / "etc" / "passwd").write_text("host-only\n")
    root = tmp_path / "pc"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("audited\n")
    (root / "home" / "a").mkdir(parents=True)
    # absolute link: inside the audited PC it means the PC's own /etc/passwd, not the auditing machine's
    (root / "home" / "a" / "p1").symlink_to("/etc/passwd")
    (root / "home" / "a" / "p2").symlink_to("../../../../../../etc/passwd")
    (root / "home" / "a" / "d").symlink_to("/etc")
    t = Tree(root)
    assert t.read_text("/home/a/p1") == "audited\n"
    assert t.read_text(root / "home" / "a" / "p2") == "audited\n"
    assert t.read_text("/home/a/d/passwd") == "audited\n"
    assert t.resolve("/home/a/p1") == (root / "etc" / "passwd").resolve()
    assert [e.name for e in t.listdir("/home/a")] == ["d", "p1", "p2"]
    assert {e.kind for e in t.listdir("/home/a")} == {"link"}


def test_link_loop_is_refused(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(Refused, match="too many"):
        Tree(tmp_path).read_bytes("/a")


@needs_root
def test_walk_by_descriptor_is_not_redirected(tmp_path):
    """A folder swapped for a link after it was listed is not followed by the walk."""
    home = tmp_path / "home"
    (home / "Desktop").mkdir(parents=True)
    (home / "Desktop" / "ok.csv").write_text("1\n")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "ok.csv").write_text("secret\n")
    with OpenDir.open(home) as top:
        desktop = next(e for e in top.entries() if e.name == "Desktop")
        os.rename(home / "Desktop", home / "Desktop.old")
        (home / "Desktop").symlink_to(secret)
        give_to_user(home / "Desktop")
        with pytest.raises(OSError):
            top.child(desktop)


def test_file_swapped_after_listing_is_refused(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "x.csv").write_text("first\n")
    with OpenDir.open(d) as od:
        entry = od.entries()[0]
        os.rename(d / "x.csv", d / "x.old")  # kept alive, so the new file cannot reuse its inode
        (d / "x.csv").write_text("second\n")
        with pytest.raises(Refused, match="replaced"):
            od.open_file(entry)


def test_refusal_reason_is_short_text():
    assert safeio.reason_of(FileNotFoundError(2, "x")) == "no such file (or it vanished)"
    assert safeio.reason_of(Refused(Path("x"), "a FIFO (named pipe), not a regular file")).startswith("a FIFO")
