"""A small headless-Chromium driver over the DevTools protocol (websocket-client), for the HTML report tests:
open a local file at a given width, record every request and every console error, take a full-page
screenshot and print to PDF."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--no-default-browser-check", "--mute-audio",
         "--hide-scrollbars"]
LOCAL_SCHEMES = ("file:", "data:", "about:")


@dataclass
class PageResult:
    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    scroll_width: int = 0
    viewport_width: int = 0
    title: str = ""
    text: str = ""
    screenshot: bytes = b""
    pdf: bytes = b""

    @property
    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]


class Chromium:
    def __init__(self, exe: str, timeout: float = 30) -> None:
        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="auditor-chromium-"))
        self.log = open(self.profile / "stderr.log", "wb")
        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
                                      "about:blank"], stdout=subprocess.DEVNULL, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.time() + timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.time() > deadline:
                self.close()
                raise RuntimeError(f"chromium did not start: {(self.profile / 'stderr.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout, suppress_origin=True)
        self._id = 0
        self.events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ protocol
    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        want = self._id
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == want:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)
        raise TimeoutError(method)

    def _event(self, msg: dict[str, Any]) -> None:
        self.events.append(msg)
        if msg.get("method") == "Fetch.requestPaused":  # allow local loads, block anything else
            p = msg["params"]
            if p["request"]["url"].startswith(LOCAL_SCHEMES):
                self._fire("Fetch.continueRequest", msg.get("sessionId"), requestId=p["requestId"])
            else:
                self._fire("Fetch.failRequest", msg.get("sessionId"), requestId=p["requestId"],
                           errorReason="BlockedByClient")

    def _fire(self, method: str, session: str | None, **params: Any) -> None:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))

    def wait_for(self, method: str, session: str, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.time() + (timeout or self.timeout)
        for ev in self.events:
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            self._event(msg)
            if msg.get("method") == method and msg.get("sessionId") == session:
                return msg
        raise TimeoutError(method)

    def drain(self, seconds: float) -> None:
        end = time.time() + seconds
        self.ws.settimeout(0.1)
        try:
            while time.time() < end:
                try:
                    self._event(json.loads(self.ws.recv()))
                except websocket.WebSocketTimeoutException:
                    pass
        finally:
            self.ws.settimeout(self.timeout)

    # ------------------------------------------------------------------ one page
    def open(self, path: Path, width: int, height: int = 900, mobile: bool = False, pdf: bool = True) -> PageResult:
        url = Path(path).resolve().as_uri()
        self.events = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        s = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable", s)
            self.send("Fetch.enable", s, patterns=[{"urlPattern": "*"}])
            self.send("Emulation.setDeviceMetricsOverride", s, width=width, height=height, deviceScaleFactor=1,
                      mobile=mobile)
            self.send("Page.navigate", s, url=url)
            self.wait_for("Page.loadEventFired", s)
            self.drain(0.5)  # late console messages and requests
            res = PageResult(url)
            for ev in self.events:
                if ev.get("sessionId") != s:
                    continue
                m, p = ev.get("method"), ev.get("params", {})
                if m == "Network.requestWillBeSent":
                    res.requests.append(p["request"]["url"])
                elif m == "Fetch.requestPaused":
                    if not p["request"]["url"].startswith(LOCAL_SCHEMES):
                        res.blocked.append(p["request"]["url"])
                elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                    res.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
                elif m == "Runtime.exceptionThrown":
                    res.console_errors.append(json.dumps(p.get("exceptionDetails", {}))[:500])
                elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                    res.console_errors.append(f"{p['entry'].get('source')}: {p['entry'].get('text')} {p['entry'].get('url', '')}")

            def js(expr: str) -> Any:
                return self.send("Runtime.evaluate", s, expression=expr, returnByValue=True)["result"].get("value")

            res.scroll_width = js("document.documentElement.scrollWidth")
            res.viewport_width = js("window.innerWidth")
            res.title = js("document.title")
            res.text = js("document.body.innerText")
            full = js("Math.ceil(document.documentElement.scrollHeight)")
            shot = self.send("Page.captureScreenshot", s, format="png", captureBeyondViewport=True,
                             clip={"x": 0, "y": 0, "width": width, "height": min(full, 16000), "scale": 1})
            res.screenshot = base64.b64decode(shot["data"])
            if pdf:
                out = self.send("Page.printToPDF", s, printBackground=True, preferCSSPageSize=True)
                res.pdf = base64.b64decode(out["data"])
            return res
        finally:
            try:
                self.send("Target.closeTarget", targetId=target)
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def close(self) -> None:
        try:
            if hasattr(self, "ws"):
                try:
                    self.send("Browser.close")
                except Exception:  # noqa: BLE001
                    pass
                self.ws.close()
        finally:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)
