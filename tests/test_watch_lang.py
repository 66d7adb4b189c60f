"""watch's failure lines follow --lang: an events file that cannot be written (a real full device) and a file whose
judgement raised are reported on stderr in the chosen language, and the watch goes on (closing an events file on a
full disk does not raise)."""

from __future__ import annotations

import threading

import pytest

from auditor.watch.alerts import Sink
from auditor.watch.files import Debouncer


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize("lang, text", [("zh", "无法写入事件文件"), ("en", "cannot write the events file")])
def test_an_events_file_that_cannot_be_written_is_said_in_the_language(capsys, lang, text):
    sink = Sink(None, console=False, lang=lang)
    sink.fh = open("/dev/full", "a", encoding="utf-8")  # every flush fails with ENOSPC, as on a full disk
    record = sink.emit("watch_started", pid=1)
    sink.close()
    err = capsys.readouterr().err
    assert record["event"] == "watch_started"
    assert err.startswith("auditor watch: ") and text in err


def test_a_file_whose_judgement_fails_is_reported_and_the_watch_goes_on(tmp_path):
    failed: list[tuple[str, str]] = []
    judged = threading.Event()

    def on_stable(path: str) -> None:
        if path.endswith("bad.csv"):
            raise ValueError("broken")
        judged.set()

    deb = Debouncer(0.05, on_stable, failed=lambda path, exc: failed.append((path, str(exc))))
    try:
        for name in ("bad.csv", "good.csv"):
            (tmp_path / name).write_text("a,b\n", encoding="utf-8")
            deb.touch(str(tmp_path / name), closed=True)
        assert judged.wait(10)
    finally:
        deb.stop()
    assert failed == [(str(tmp_path / "bad.csv"), "broken")]
