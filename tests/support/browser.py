"""TEST SUPPORT: Debian's headless Chromium, driven over the Chrome DevTools Protocol (websocket-client, pinned in
requirements-test.txt), to open a page as a person would and report what happened: every network request the page
made, every script exception, console message and browser log entry (a Content-Security-Policy violation is one),
values read from the rendered DOM, and a PNG screenshot.

The browser listens on loopback only (--remote-debugging-port, its port read from DevToolsActivePort in a fresh
profile folder), runs with the flags this machine needs (no sandbox as root, no GPU, no background networking: the
machine's closed network would otherwise refuse Chromium's own connections) and is stopped by its PID."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from environment import require_tool

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--window-size=1100,900"]
START_TIMEOUT = 30
STEP_TIMEOUT = 30


def chromium_path() -> str | None:
    return require_tool(shutil.which("chromium") or shutil.which("chromium-browser"), "Debian's chromium",
                        "apt-get install chromium (tests/support/system-packages.sh installs it)")


@dataclass
class PageVisit:
    requests: list[str] = field(default_factory=list)     # URLs the page asked for (the document included)
    problems: list[str] = field(default_factory=list)     # exceptions, console errors/warnings, log errors/warnings
    title: str = ""


class Chromium:
    """with Chromium(binary, folder) as browser: visit = browser.open(url); browser.evaluate(js); browser.screenshot()"""

    def __init__(self, binary: str, folder: Path):
        self.binary, self.folder = binary, folder
        self.process: subprocess.Popen | None = None
        self.socket = None
        self.next_id = 0
        self.events: list[dict] = []

    def __enter__(self) -> Self:
        import websocket  # websocket-client

        profile = self.folder / "profile"
        profile.mkdir(parents=True)
        self.log = open(self.folder / "chromium.log", "wb")
        self.process = subprocess.Popen([self.binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while not (active.exists() and len(active.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"chromium did not start: {(self.folder / 'chromium.log').read_text()[-2000:]}")
            time.sleep(0.1)
        port = int(active.read_text().splitlines()[0])
        targets = self._http(port, "/json/list")
        page = next(target for target in targets if target.get("type") == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=STEP_TIMEOUT,
                                                  suppress_origin=True)
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(f"{domain}.enable")
        return self

    @staticmethod
    def _http(port: int, path: str):
        import urllib.request
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                    return json.load(response)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def call(self, method: str, **params) -> dict:
        """A DevTools command's result; events that arrive meanwhile are kept in self.events."""
        self.next_id += 1
        number = self.next_id
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(method)

    def wait_for(self, event: str, timeout: float = STEP_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.events:
                if message["method"] == event:
                    self.events.remove(message)
                    return message
            message = json.loads(self.socket.recv())
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(event)

    def open(self, url: str, settle: float = 0.5) -> PageVisit:
        """Navigate, wait for the load event and a short settle time, and report what the page did."""
        import websocket  # websocket-client

        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        # Anything late (a lazy image, a timer) still lands in the events: wait a moment, then drain them.
        end = time.monotonic() + settle
        self.socket.settimeout(0.1)
        try:
            while time.monotonic() < end:
                try:
                    message = json.loads(self.socket.recv())
                except websocket.WebSocketTimeoutException:  # nothing more yet
                    message = {}
                if "method" in message:
                    self.events.append(message)
        finally:
            self.socket.settimeout(STEP_TIMEOUT)
        visit = PageVisit()
        for message in self.events:
            method, params = message["method"], message.get("params", {})
            if method == "Network.requestWillBeSent":
                visit.requests.append(params["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                visit.problems.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                visit.problems.append(f"console.{params['type']}: " + json.dumps(params.get("args"))[:500])
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                visit.problems.append(f"log {params['entry'].get('source')}: {params['entry'].get('text')}")
        visit.title = self.evaluate("document.title")
        return visit

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> bytes:
        """The whole page (beyond the window) as PNG, written to `path`."""
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
        path.write_bytes(data)
        return data

    def __exit__(self, *exc) -> None:
        if self.socket is not None:
            try:
                self.socket.close()
            except OSError:
                pass
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the browser and its helper processes
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if getattr(self, "log", None):
            self.log.close()
