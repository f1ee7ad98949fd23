"""Benchmark you can trust (issue 20): LiteLLM gateways side by side, every figure a ratio to baselines measured in
the same round.

Absolute times drift on a shared machine (the same config measured +15 to +41 ms within 90 minutes), so every
gateway is up for the whole run, and within each round the variants take turns in small blocks (BLOCKS times, the
order rotated each time) so that a change in the machine's load hits all of them alike; each round's figures are
divided by that round's baselines:
- direct: the mock provider itself (bench/bench_mock.py), what a gateway's overhead is counted from;
- before: bench/before/ (the generated config and pins FROZEN at commit 8c0b10a, before issue 20), the fixed
  "before" every change is measured against;
- minimal: bench/minimal/ (two model groups and a master key: LiteLLM's own floor);
- an A/A pair: `before` twice, identical; the spread of its ratio is the noise of the run.
Per round and variant: sequential non-streaming latency (median, p95) and the overhead over direct; requests per
second and errors at 20 concurrent; the first-byte delay on a spaced stream (the mock sends its events 200 ms
apart): when message_start reaches the client, minus when it reaches a client of the mock directly.
Reported: the median over rounds of the per-round ratios, and their range (min-max) over rounds.

Variants: NAME:CONFIG:VENV[:KEY=VALUE,...]
  CONFIG  generated (this working tree's template, process runtime, cost tracking, default answers),
          failover (generated with providers anthropic+bedrock, both on the mock), before, minimal
  VENV    a venv with LiteLLM (relative to the repository), e.g. .cache/litellm-venv
  KEY=VALUE  workers=N (gateway_workers; >1 starts a Redis), patch=FILE (a YAML merged into the config), path=P
          (the route of the first-byte requests, e.g. /anthropic/v1/messages), anything else goes to gateway/.env
Defaults: before, before-again (A/A), minimal, generated, failover.

Run: make bench-overhead   (builds the venvs, then .venv/bin/python bench/bench_overhead.py [--rounds R] ...)
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
from bench_gateway import COPIER, Client, pct
from bench_generate import template_clone
from bench_mock import SPACED_DELAY, SPACED_MODEL
from services import Redis

DEFAULT_VARIANTS = [
    "before:before:.cache/bench-before",
    "before-again:before:.cache/bench-before",
    "minimal:minimal:.cache/bench-generated",
    "generated:generated:.cache/bench-generated",
    "failover:failover:.cache/bench-generated",
]
SPACED_EVENTS = 6
BLOCKS = 8  # per round: the variants take turns in blocks this many times


@dataclass
class Variant:
    name: str
    config: str
    litellm: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    patch: Path | None = None
    path: str = "/v1/messages"
    # Filled in when started:
    project: Path | None = None
    url: str = ""
    key: str = ""
    boot: float = 0.0
    rss: float = 0.0


def parse_variant(spec: str) -> Variant:
    name, config, venv, *rest = spec.split(":", 3)
    litellm = (ROOT / venv / "bin" / "litellm").resolve()
    if not litellm.exists():
        raise SystemExit(f"{name}: no litellm at {litellm} (make bench-overhead builds the venvs)")
    if config not in ("generated", "failover", "before", "minimal"):
        raise SystemExit(f"{name}: unknown config {config}")
    variant = Variant(name, config, litellm)
    for item in filter(None, (rest[0] if rest else "").split(",")):
        key, _, value = item.partition("=")
        if key == "workers":
            variant.workers = int(value)
        elif key == "patch":
            variant.patch = (ROOT / value).resolve()
        elif key == "path":
            variant.path = value
        else:
            variant.env[key] = value
    return variant


def merge(base: dict, patch: dict) -> dict:
    """`patch` merged into `base`, key by key; a null value removes the key."""
    for key, value in patch.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = merge(base.get(key) or {}, value) if isinstance(value, dict) else value
    return base


def env_values(env_file: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in env_file.read_text().splitlines() if line and not line.startswith("#"))


def set_env_lines(env_file: Path, values: dict[str, str]) -> None:
    """Set each NAME=value in gateway/.env (replacing a line or a commented `# NAME=`, else appending)."""
    lines = env_file.read_text().splitlines()
    for name, value in values.items():
        for index, line in enumerate(lines):
            if line.startswith((f"{name}=", f"# {name}=")):
                lines[index] = f"{name}={value}"
                break
        else:
            lines.append(f"{name}={value}")
    env_file.write_text("\n".join(lines) + "\n")


def start(variant: Variant, tmp: Path, template: Path, mock_url: str, port: int, redis: Redis | None) -> None:
    """Generate the project (this template, process runtime), put the variant's config and env in, start it with
    the generated gateway/run-local.sh and the variant's LiteLLM."""
    project = tmp / variant.name
    data = ["cost_tracking=true", "gateway_runtime=process", f"gateway_port={port}", f"anthropic_base_url={mock_url}",
            "disable_nonessential_traffic=true", f"gateway_workers={variant.workers}"]
    if variant.config == "failover":
        data += ["providers=[anthropic, bedrock]", "primary_provider=anthropic", f"bedrock_base_url={mock_url}"]
    subprocess.run([COPIER, "copy", "--trust", "--defaults", "--quiet", *[a for d in data for a in ("--data", d)],
                    str(template), str(project)], check=True, capture_output=True, timeout=180)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "LITELLM_BIN": str(variant.litellm),
           "START_TIMEOUT": "300"}  # three workers under load took over a minute
    subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=env, check=True, capture_output=True, timeout=60)
    config_file = project / "gateway" / "litellm_config.yaml"
    if variant.config in ("before", "minimal"):
        frozen = (ROOT / "bench" / variant.config / "litellm_config.yaml").read_text()
        config_file.write_text(frozen.replace("${MOCK_URL}", mock_url))
    if variant.patch:
        config = merge(yaml.safe_load(config_file.read_text()), yaml.safe_load(variant.patch.read_text()))
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    env_file = project / "gateway" / ".env"
    extra = {"ANTHROPIC_API_KEY": "sk-bench", "ANTHROPIC_API_BASE": mock_url}  # the /anthropic pass-through's upstream
    if variant.config == "failover":
        extra |= {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "bench-secret"}
    if variant.workers > 1:
        assert redis is not None
        extra |= {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis.port), "REDIS_PASSWORD": redis.password}
    set_env_lines(env_file, extra | variant.env)
    began = time.perf_counter()
    subprocess.run(["gateway/run-local.sh", "start"], cwd=project, env=env, check=True, capture_output=True,
                   timeout=300)
    variant.boot = time.perf_counter() - began
    variant.project, variant.url, variant.key = project, f"http://127.0.0.1:{port}", env_values(env_file)[
        "LITELLM_MASTER_KEY"]


def stop(variant: Variant) -> None:
    if variant.project:
        env = {"PATH": os.environ["PATH"], "HOME": str(variant.project.parent), "LITELLM_BIN": str(variant.litellm)}
        subprocess.run(["gateway/run-local.sh", "stop"], cwd=variant.project, env=env, capture_output=True, timeout=60,
                       check=False)


def tree_rss_mib(pid: int) -> float:
    """RSS of a process and all its descendants (uvicorn's workers), MiB."""
    table = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss="], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    rows = [tuple(int(x) for x in line.split()) for line in table if line.strip()]
    tree, total = {pid}, 0
    changed = True
    while changed:
        changed = False
        for child, parent, _ in rows:
            if parent in tree and child not in tree:
                tree.add(child)
                changed = True
    for child, _, rss in rows:
        if child in tree:
            total += rss
    return total / 1024


def first_event(base: str, key: str, path: str) -> tuple[float, int]:
    """One streamed request for SPACED_MODEL: (seconds until the `message_start` event reached the client, status)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    body = json.dumps({"model": SPACED_MODEL, "max_tokens": 64, "stream": True,
                       "messages": [{"role": "user", "content": "say hi"}]}).encode()
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": key,
               "authorization": f"Bearer {key}"}
    try:
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start_time = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        arrived = 0.0
        events = 0
        while line := response.readline():
            if line.startswith(b"event:"):
                events += 1
                if b"message_start" in line and not arrived:
                    arrived = time.perf_counter() - start_time
        ok = response.status == 200 and arrived and events == SPACED_EVENTS
        return arrived, (200 if ok else response.status or 0)
    except (OSError, http.client.HTTPException):
        return 0.0, 0
    finally:
        conn.close()


class KeepAliveClient(Client):
    """bench_gateway's client, but a request that finds its idle keep-alive connection closed by the server (uvicorn
    closes them after 5 s; between a variant's blocks more time passes) is sent again on a new one, as HTTP clients
    do. Only a second failure counts as an error."""

    def call(self, stream: bool) -> tuple[float, float, int]:
        result = super().call(stream)
        return result if result[2] else super().call(stream)


class Burst:
    """`size` keep-alive clients of one target, kept for the whole run: a burst sends `n` requests through all of
    them at once (new connections per burst would measure connection set-up, not the gateway)."""

    def __init__(self, url: str, key: str, size: int):
        self.clients: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(size):
            self.clients.put(KeepAliveClient(url, key))
        self.pool = ThreadPoolExecutor(size)

    def _one(self, _) -> tuple[float, float, int]:
        client = self.clients.get()
        try:
            return client.call(False)
        finally:
            self.clients.put(client)

    def run(self, n: int) -> tuple[float, int]:
        """(seconds for the n requests, errors)."""
        began = time.perf_counter()
        samples = list(self.pool.map(self._one, range(n)))
        return time.perf_counter() - began, sum(s[2] != 200 for s in samples)


def measure_round(targets: list[tuple[str, str, str, str]], bursts: dict[str, Burst], args) -> dict[str, dict]:
    """One round: every target (name, url, key, path) measured in BLOCKS small blocks, the targets taking turns
    block by block, so that a change in the machine's load hits all of them alike."""
    seq: dict[str, list] = {name: [] for name, *_ in targets}
    conc: dict[str, list] = {name: [] for name, *_ in targets}
    clients = {name: KeepAliveClient(url, key) for name, url, key, _ in targets}
    for name, *_ in targets:
        for _ in range(3):  # warm-up (connection, LiteLLM's first-request work)
            clients[name].call(False)
    per_block = max(1, args.requests // BLOCKS)
    for block in range(BLOCKS):
        shift = block % len(targets)
        for name, *_ in targets[shift:] + targets[:shift]:
            seq[name] += [clients[name].call(False) for _ in range(per_block)]
            conc[name].append(bursts[name].run(args.burst))
    results = {}
    for name, url, key, path in targets:
        spaced = [first_event(url, key, path) for _ in range(args.spaced)]
        seq_ms = [s[1] * 1000 for s in seq[name]]
        results[name] = {
            "seq median": statistics.median(seq_ms), "seq p95": pct(seq_ms, 0.95),
            "req/s": args.burst * len(conc[name]) / sum(seconds for seconds, _ in conc[name]),
            "first byte": statistics.median(s[0] * 1000 for s in spaced),
            "errors": sum(s[2] != 200 for s in seq[name]) + sum(errors for _, errors in conc[name])
            + sum(s[1] != 200 for s in spaced)}
    return results


def band(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}× ({min(values):.2f}-{max(values):.2f})"


def report(variants: list[Variant], rounds: list[dict[str, dict[str, float]]], args) -> str:
    names = [v.name for v in variants]
    base, floor = names[0], "minimal" if "minimal" in names else None
    out = [(f"{len(rounds)} rounds interleaved; per round and variant {args.requests} sequential, "
            f"{args.burst * BLOCKS} at {args.concurrency} concurrent, {args.spaced} spaced streams ({SPACED_EVENTS} events "
            f"{SPACED_DELAY * 1000:.0f} ms apart); {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.1f}. Ratios: median over rounds of the per-round ratio (min-max)."), "",
           f"| variant | seq latency ÷ {base} | overhead ÷ {base}'s | "
           + (f"overhead ÷ {floor}'s | " if floor else "")
           + f"req/s at {args.concurrency} ÷ {base} | first-byte delay added, ms | errors | boot s | RSS MiB |",
           "|---|---|---|" + ("---|" if floor else "") + "---|---|---|---|---|"]
    direct = [r["direct"] for r in rounds]
    out.append(f"| direct to the mock | {statistics.median(d['seq median'] for d in direct):.1f} ms median | | "
               + ("| " if floor else "") + f"{statistics.median(d['req/s'] for d in direct):.0f} req/s | "
               f"first event at {statistics.median(d['first byte'] for d in direct):.1f} ms | "
               f"{sum(d['errors'] for d in direct):.0f} | | |")
    for variant in variants:
        name = variant.name

        def ratio(metric, against, name=name):
            return [r[name][metric] / r[against][metric] for r in rounds]

        def overhead(against, name=name):
            return [(r[name]["seq median"] - r["direct"]["seq median"])
                    / (r[against]["seq median"] - r["direct"]["seq median"]) for r in rounds]

        added = [r[name]["first byte"] - r["direct"]["first byte"] for r in rounds]
        out.append(f"| {name} | {band(ratio('seq median', base))} | {band(overhead(base))} | "
                   + (f"{band(overhead(floor))} | " if floor else "")
                   + f"{band(ratio('req/s', base))} | {statistics.median(added):.0f} ({min(added):.0f}-"
                   f"{max(added):.0f}) | {sum(r[name]['errors'] for r in rounds):.0f} | {variant.boot:.1f} | "
                   f"{variant.rss:.0f} |")
    out += ["", "Absolute medians over rounds (drift with the machine; for orientation only):", ""]
    for name in ["direct", *names]:
        out.append(f"- {name}: seq {statistics.median(r[name]['seq median'] for r in rounds):.1f} ms "
                   f"(p95 {statistics.median(r[name]['seq p95'] for r in rounds):.1f}), "
                   f"{statistics.median(r[name]['req/s'] for r in rounds):.0f} req/s, first event "
                   f"{statistics.median(r[name]['first byte'] for r in rounds):.0f} ms")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", default=DEFAULT_VARIANTS)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=40, help="sequential requests per round and variant")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--burst", type=int, default=60, help="requests per concurrent burst (BLOCKS per round)")
    parser.add_argument("--spaced", type=int, default=3, help="spaced streams per round and variant")
    args = parser.parse_args()
    variants = [parse_variant(spec) for spec in args.variants]
    if len({v.name for v in variants}) != len(variants):
        raise SystemExit("variant names must differ")

    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        mock = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bench_mock.py")], stdout=subprocess.PIPE,
                                text=True)
        stack.callback(lambda: (mock.terminate(), mock.wait(timeout=10)))
        mock_url = mock.stdout.readline().strip()
        redis = None
        if any(v.workers > 1 for v in variants):
            (tmp / "redis").mkdir()
            redis = stack.enter_context(Redis(tmp / "redis", secrets.token_hex(12)))
        template = template_clone(tmp)
        base_port = 4700 + os.getpid() % 200
        for index, variant in enumerate(variants):
            stack.callback(stop, variant)
            start(variant, tmp, template, mock_url, base_port + index, redis)
            print(f"started {variant.name} in {variant.boot:.1f} s", file=sys.stderr, flush=True)
        bursts = {name: Burst(url, key, args.concurrency) for name, url, key in
                  [("direct", mock_url, "sk-bench")] + [(v.name, v.url, v.key) for v in variants]}
        rounds = []
        for number in range(args.rounds):
            shift = number % len(variants)
            targets = [("direct", mock_url, "sk-bench", "/v1/messages")] + [
                (v.name, v.url, v.key, v.path) for v in variants[shift:] + variants[:shift]]
            rounds.append(measure_round(targets, bursts, args))
            print(f"round {number + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        for variant in variants:
            variant.rss = tree_rss_mib(int((variant.project / "gateway" / "litellm.pid").read_text()))
    print(report(variants, rounds, args))


if __name__ == "__main__":
    main()
