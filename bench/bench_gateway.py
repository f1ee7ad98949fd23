"""Benchmark: Claude-Code-shaped requests direct to the mock provider vs through the generated LiteLLM gateway
(process runtime, started by the generated gateway/run-local.sh). Prints a Markdown table for docs/benchmarks.md.

Measures: boot time to liveliness; latency median/p95 sequential (non-streaming); 20 concurrent (latency, req/s,
errors); streaming time to first byte. Loopback only; every loop is bounded; the gateway is stopped by its pid.

Run: make bench   (or .venv/bin/python bench/bench_gateway.py [--requests N] [--concurrency C])
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_generate import template_clone

COPIER = str(Path(sys.executable).parent / "copier")
LITELLM = ROOT / ".cache" / "litellm-venv" / "bin" / "litellm"
SYSTEM_PROMPT = "You are Claude Code. " * 120  # a Claude-Code-sized system prompt (~2.5 kB)


def payload(stream: bool) -> bytes:
    return json.dumps({"model": "claude-opus-5-5", "max_tokens": 1024, "stream": stream, "system": SYSTEM_PROMPT,
                       "messages": [{"role": "user", "content": "say hi"}],
                       "metadata": {"user_id": "bench"}}).encode()


class Client:
    """One keep-alive connection, as the CLI keeps one."""

    def __init__(self, base: str, key: str):
        parts = urlsplit(base)
        self.host, self.port, self.key = parts.hostname, parts.port, key
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Node (the CLI) does
        return conn

    def call(self, stream: bool) -> tuple[float, float, int]:
        """(seconds to first body byte, seconds total, status)."""
        headers = {"content-type": "application/json", "anthropic-version": "2023-06-01",
                   "x-api-key": self.key, "authorization": f"Bearer {self.key}"}
        start = time.perf_counter()
        try:
            self.conn.request("POST", "/v1/messages?beta=true", body=payload(stream), headers=headers)
            response = self.conn.getresponse()
            response.read(1)
            first = time.perf_counter() - start
            response.read()
            total = time.perf_counter() - start
            if response.getheader("connection", "").lower() == "close":
                self.conn.close()
                self.conn = self._connect()
            return first, total, response.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = self._connect()
            return 0.0, time.perf_counter() - start, 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sequential(base: str, key: str, n: int, stream: bool) -> dict:
    client = Client(base, key)
    for _ in range(5):  # warm-up
        client.call(stream)
    samples = [client.call(stream) for _ in range(n)]
    field = 0 if stream else 1
    ms = [s[field] * 1000 for s in samples]
    return {"median": statistics.median(ms), "p95": pct(ms, 0.95), "errors": sum(s[2] != 200 for s in samples)}


def concurrent(base: str, key: str, n: int, workers: int) -> dict:
    local = threading.local()

    def one(_):
        if not hasattr(local, "client"):
            local.client = Client(base, key)
        return local.client.call(False)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        samples = list(pool.map(one, range(n)))
    elapsed = time.perf_counter() - start
    ms = [s[1] * 1000 for s in samples]
    return {"median": statistics.median(ms), "p95": pct(ms, 0.95), "errors": sum(s[2] != 200 for s in samples),
            "rps": n / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--data", action="append", default=[], help="extra copier answers, key=value")
    args = parser.parse_args()
    if not LITELLM.exists():
        raise SystemExit("LiteLLM is not installed: run `make tools` first")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        mock = subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "mock_provider.py")], stdout=subprocess.PIPE,
                                text=True)
        try:
            mock_url = mock.stdout.readline().strip()
            template = template_clone(tmp)
            port = 4600 + os.getpid() % 300
            project = tmp / "project"
            data = ["cost_tracking=true", "gateway_runtime=process", f"gateway_port={port}",
                    f"anthropic_base_url={mock_url}", *args.data]
            subprocess.run([COPIER, "copy", "--trust", "--defaults", "--quiet",
                            *[a for d in data for a in ("--data", d)], str(template), str(project)],
                           check=True, capture_output=True, timeout=120)
            env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "LITELLM_BIN": str(LITELLM)}
            subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=env, check=True, capture_output=True,
                           timeout=60)
            env_file = project / "gateway" / ".env"
            env_file.write_text(env_file.read_text().replace("# ANTHROPIC_API_KEY=\n", "ANTHROPIC_API_KEY=sk-bench\n"))
            key = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                       if line and not line.startswith("#"))["LITELLM_MASTER_KEY"]
            start = time.perf_counter()
            subprocess.run(["gateway/run-local.sh", "start"], cwd=project, env=env, check=True, capture_output=True,
                           timeout=300)
            boot = time.perf_counter() - start
            gateway = f"http://127.0.0.1:{port}"
            try:
                rows = []
                results = {}
                for name, base in (("direct to mock", mock_url), ("through the gateway", gateway)):
                    results[name] = {
                        "seq": sequential(base, key, args.requests, stream=False),
                        "ttfb": sequential(base, key, args.requests // 2, stream=True),
                        "conc": concurrent(base, key, args.requests * 2, args.concurrency),
                    }
                for name, r in results.items():
                    rows.append(f"| {name} | {r['seq']['median']:.1f} | {r['seq']['p95']:.1f} | "
                                f"{r['conc']['median']:.1f} | {r['conc']['p95']:.1f} | {r['conc']['rps']:.0f} | "
                                f"{r['seq']['errors'] + r['conc']['errors'] + r['ttfb']['errors']} | "
                                f"{r['ttfb']['median']:.1f} |")
                d, g = results["direct to mock"], results["through the gateway"]
                rows.append(f"| **gateway overhead** | **+{g['seq']['median'] - d['seq']['median']:.1f}** | "
                            f"**+{g['seq']['p95'] - d['seq']['p95']:.1f}** | "
                            f"+{g['conc']['median'] - d['conc']['median']:.1f} | "
                            f"+{g['conc']['p95'] - d['conc']['p95']:.1f} | | | "
                            f"+{g['ttfb']['median'] - d['ttfb']['median']:.1f} |")
                pid = (project / "gateway" / "litellm.pid").read_text().strip()
                rss = subprocess.run(["ps", "-o", "rss=", "-p", pid], capture_output=True, text=True, check=False).stdout.strip()
            finally:
                subprocess.run(["gateway/run-local.sh", "stop"], cwd=project, env=env, capture_output=True, timeout=60, check=False)
        finally:
            mock.terminate()
            mock.wait(timeout=10)

    print(f"| path | seq median ms | seq p95 ms | {args.concurrency}-conc median ms | {args.concurrency}-conc p95 ms "
          f"| req/s | errors | stream TTFB median ms |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nboot to liveliness: {boot:.1f} s; gateway RSS after the run: {int(rss or 0) / 1024:.0f} MiB; "
          f"{args.requests} sequential, {args.requests * 2} concurrent, {args.requests // 2} streamed requests "
          f"({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
