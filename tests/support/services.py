"""TEST SUPPORT: a real Redis, a real HAProxy and LiteLLM replicas on loopback, for the high-availability tests.

Debian's `redis-server` and `haproxy`, each in the foreground of its own process (held by PID, stopped by PID).
HAProxy stands in for the Kubernetes Service: it health-checks each replica on the generated readinessProbe's
path with its thresholds (the period scaled down by the caller), takes a replica out of rotation and back through
its admin socket (what the endpoints controller does to a terminating pod and to a new one that is ready), and
retries a request only when its connection failed (refused, or closed before any answer), never one that was
answered. Its log (one line per request: the replica, the status, the termination state and the retry count) goes
to a file; `requests()` reads it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Self


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    """Send `sig` to the process (by its PID); SIGKILL its group if it is still there after `timeout`."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    return process.returncode


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Until GET url answers 200 (bounded by `timeout`); fails early when `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"exited ({process.returncode}) before {url} answered: "
                               f"{log.read_text(errors='replace')[-3000:] if log else ''}")
        with contextlib.suppress(urllib.error.URLError, OSError), urllib.request.urlopen(url, timeout=5) as response:
            if response.status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


def wait_listening(process: subprocess.Popen, port: int, log: Path, what: str, timeout: float = 20) -> None:
    """Until something listens on 127.0.0.1:port (bounded); stops `process` and fails if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"{what} did not listen within {timeout} s")


class Redis:
    """redis-server on 127.0.0.1, password-protected, no persistence."""

    def __init__(self, workdir: Path, password: str):
        self.workdir, self.password, self.port = workdir, password, free_port()
        self.url = f"redis://:{password}@127.0.0.1:{self.port}/0"

    def __enter__(self) -> Self:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.log = self.workdir / "redis.log"
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--requirepass", self.password,
                 "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_listening(self.process, self.port, self.log, "redis-server")
        return self

    def __exit__(self, *exc) -> None:
        stop_process(self.process)


STALE = "stale"  # the HAProxy server name of the stale endpoint


@dataclass(frozen=True)
class Probe:
    """A readiness probe: HTTP GET `path` every `period` seconds, out after `fall` failures, in after `rise`."""

    path: str = "/health/readiness"
    period: float = 1.0
    fall: int = 2
    rise: int = 2
    http11: bool = False  # an HTTP/1.1 request with a Host header (the Claude apps gateway refuses HTTP/1.0 checks)


@dataclass(frozen=True)
class LoggedRequest:
    """One request of HAProxy's log (httplog format)."""

    server: str  # the replica that answered (the last one tried)
    status: int
    termination: str  # HAProxy's four-letter termination state; "----" is a normal end
    retries: int  # connection attempts retried (the %rc field)
    redispatched: bool  # retried on another replica (the %rc field's "+")
    request: str


_LOG_LINE = re.compile(r" gateway replicas/(\S+) \S+ (-?\d+) \S+ \S+ \S+ (\S{4}) \d+/\d+/\d+/\d+/(\+?)(\d+) \S+ "
                       r'"([^"]*)"')


class HAProxy:
    """HAProxy in front of `backends` (name -> port): round robin, each replica checked by `probe`, a request
    whose connection failed retried (on another replica: redispatch), a request that was answered never sent
    again."""

    def __init__(self, workdir: Path, backends: dict[str, int], probe: Probe | None = None):
        self.workdir, self.backends, self.probe, self.port = workdir, backends, probe or Probe(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "haproxy.log"
        self.stats_socket = workdir / "haproxy.sock"

    def config(self) -> str:
        servers = "\n".join(f"  server {name} 127.0.0.1:{port} check" for name, port in self.backends.items())
        # A stale endpoint: a replica that is gone while the load balancer would still route to it (nothing listens
        # on its port, no health check). Out of rotation unless a test puts it in (`state ready`).
        servers += f"\n  server {STALE} 127.0.0.1:{free_port()} disabled"
        return f"""global
  log stdout format raw local0
  maxconn 500
  stats socket {self.stats_socket} mode 600 level admin

defaults
  mode http
  log global
  option httplog
  timeout connect 2s
  timeout client 660s
  timeout server 660s
  timeout http-request 30s
  # A request whose connection to a replica failed (refused, closed before answering) goes to another one:
  # the body is buffered so that it can be sent again.
  option http-buffer-request
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response

frontend gateway
  bind 127.0.0.1:{self.port}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk{"" if self.probe.http11 else f" GET {self.probe.path}"}
{f"  http-check send meth GET uri {self.probe.path} ver HTTP/1.1 hdr Host 127.0.0.1" if self.probe.http11 else ""}
  http-check expect status 200
  default-server inter {int(self.probe.period * 1000)}ms fall {self.probe.fall} rise {self.probe.rise}
{servers}
"""

    def __enter__(self) -> Self:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        config = self.workdir / "haproxy.cfg"
        config.write_text(self.config())
        check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30,
                               check=False)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c: {check.stdout}{check.stderr}")
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        wait_listening(self.process, self.port, self.log, "haproxy")
        return self

    def __exit__(self, *exc) -> None:
        stop_process(self.process, signal.SIGUSR1)  # a soft stop: finish what is in flight

    def command(self, text: str) -> str:
        """One command on the admin socket (e.g. `set server replicas/r1 state maint`); its answer."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats_socket))
            sock.sendall(text.encode() + b"\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return data.decode()

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` of each replica, by column name (stot: connections, wredis: requests redispatched away)."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
        return {row["svname"]: row for row in rows
                if row["pxname"] == "replicas" and row["svname"] not in ("FRONTEND", "BACKEND")}

    def server_state(self) -> dict[str, str]:
        """Each replica's state as HAProxy sees it (UP, DOWN, MAINT, ...)."""
        return {name: row["status"] for name, row in self.stats().items()}

    def log_lines(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if "gateway replicas/" in line]

    def requests(self, since: int = 0, expect: int | None = None, wait: float = 15) -> list[LoggedRequest]:
        """The requests logged after the first `since` log lines, in the order they ended. HAProxy writes a request's
        line when its session ends, which can be after the client has read the answer: wait (bounded by `wait`
        seconds) until `expect` lines are there, or, without `expect`, until the count holds still for half a second."""
        deadline, seen = time.monotonic() + wait, -1
        while True:
            lines = self.log_lines()[since:]
            if (len(lines) >= expect if expect is not None else len(lines) == seen) or time.monotonic() > deadline:
                break
            seen = len(lines)
            time.sleep(0.5 if expect is None else 0.1)
        found = []
        for line in lines:
            match = _LOG_LINE.search(line)
            assert match, f"not an httplog line: {line}"
            server, status, termination, plus, retries, request = match.groups()
            found.append(LoggedRequest(server, int(status), termination, int(retries), plus == "+", request))
        return found


class Replica:
    """One LiteLLM process, started as the generated Deployment starts its container: the same arguments (host and
    port replaced) and environment, the secrets of gateway/.env as the Secret would give them."""

    def __init__(self, name: str, litellm: str, args: list[str], env: dict[str, str], workdir: Path):
        self.name, self.litellm, self.env, self.workdir = name, litellm, env, workdir
        self.port = free_port()
        self.args = _with_option(_with_option(args, "--host", "127.0.0.1"), "--port", str(self.port))
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Self:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([self.litellm, *self.args], stdout=out, stderr=subprocess.STDOUT,
                                            env=self.env, cwd=self.workdir, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 150) -> Self:
        wait_http(f"{self.url}/health/readiness", timeout, self.process, self.log)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int | None:
        return None if self.process is None else stop_process(self.process, sig, timeout)

    def signal(self, sig: int) -> None:
        """Send `sig` to the replica (by its PID) without waiting for it to exit."""
        assert self.process is not None and self.process.poll() is None, f"{self.name} is not running"
        os.kill(self.process.pid, sig)


def _with_option(args: list[str], option: str, value: str) -> list[str]:
    if option in args:
        at = args.index(option)
        return [*args[:at + 1], value, *args[at + 2:]]
    return [*args, option, value]
