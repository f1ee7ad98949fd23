"""TEST SUPPORT: the corporate proxy of the proxy tests, a real tinyproxy on loopback held by its PID."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path

from environment import free_port

PROXIED_HOST = "127.0.0.2"  # loopback, but not in NO_PROXY (127.0.0.1 always is), so traffic goes via the proxy


class Tinyproxy:
    """A real forward proxy (Debian tinyproxy) on 127.0.0.1, in the foreground, stopped by its PID."""

    def __init__(self, binary: str, workdir: Path, user: str | None = None, password: str | None = None):
        self.port = free_port()
        self.log = workdir / "tinyproxy.log"
        config = workdir / "tinyproxy.conf"
        # No ConnectPort line: CONNECT to any port is allowed (Debian's packaged config restricts it).
        lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", "LogLevel Connect", "MaxClients 50",
                 f'LogFile "{self.log}"', "Allow 127.0.0.1"]
        if user:
            lines.append(f"BasicAuth {user} {password}")  # tinyproxy accepts only [A-Za-z0-9_.-] here
        config.write_text("\n".join(lines) + "\n")
        self.command = [binary, "-d", "-c", str(config)]
        self.url = f"http://127.0.0.1:{self.port}"
        self.start()

    def start(self) -> None:
        """Start (or start again, on the same port)."""
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.1)
        self.stop()
        raise AssertionError("tinyproxy did not start listening within 15 s")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
