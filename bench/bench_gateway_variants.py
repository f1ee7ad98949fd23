"""Benchmark: the generated gateway (process runtime, default answers) in several variants side by side, in one
run, rounds interleaved (absolute times drift on this shared machine: compare only ratios within a run).

A variant is a LiteLLM install (a venv's `litellm`) plus extra lines for gateway/.env, e.g. LITELLM_LOG=ERROR.
Every variant's gateway is up for the whole run; each round measures each variant in a rotated order: sequential
non-streaming latency, streamed time to first byte, and a concurrent burst (latency, req/s). Prints medians over
rounds and each variant's ratio to the first.

Run: .venv/bin/python bench/bench_gateway_variants.py NAME=VENV[:ENV=VALUE,...] ... [--rounds R] [--requests N]
e.g. base=.cache/litellm-venv tuned=.cache/tuned-venv tuned-log=.cache/tuned-venv:LITELLM_LOG=ERROR
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_gateway import COPIER, concurrent, sequential
from bench_generate import template_clone


def parse_variant(spec: str) -> tuple[str, Path, dict[str, str]]:
    name, _, rest = spec.partition("=")
    venv, _, env = rest.partition(":")
    extra = dict(item.split("=", 1) for item in env.split(",") if item)
    litellm = (ROOT / venv / "bin" / "litellm").resolve()
    if not litellm.exists():
        raise SystemExit(f"{name}: no litellm at {litellm}")
    return name, litellm, extra


def start_gateway(tmp: Path, template: Path, mock_url: str, name: str, litellm: Path, extra: dict[str, str],
                  port: int) -> tuple[Path, dict[str, str], str, str]:
    project = tmp / name
    data = ["cost_tracking=true", "gateway_runtime=process", f"gateway_port={port}", f"anthropic_base_url={mock_url}"]
    subprocess.run([COPIER, "copy", "--trust", "--defaults", "--quiet", *[a for d in data for a in ("--data", d)],
                    str(template), str(project)], check=True, capture_output=True, timeout=120)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "LITELLM_BIN": str(litellm)}
    subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=env, check=True, capture_output=True, timeout=60)
    env_file = project / "gateway" / ".env"
    text = env_file.read_text().replace("# ANTHROPIC_API_KEY=\n", "ANTHROPIC_API_KEY=sk-bench\n")
    env_file.write_text(text + "".join(f"{k}={v}\n" for k, v in extra.items()))
    key = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
               if line and not line.startswith("#"))["LITELLM_MASTER_KEY"]
    subprocess.run(["gateway/run-local.sh", "start"], cwd=project, env=env, check=True, capture_output=True,
                   timeout=300)
    return project, env, f"http://127.0.0.1:{port}", key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    variants = [parse_variant(spec) for spec in args.variants]

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        mock = subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "mock_provider.py")], stdout=subprocess.PIPE,
                                text=True)
        started: dict[str, tuple[Path, dict[str, str], str, str]] = {}
        try:
            mock_url = mock.stdout.readline().strip()
            template = template_clone(tmp)
            base_port = 4600 + os.getpid() % 200
            for index, (name, litellm, extra) in enumerate(variants):
                started[name] = start_gateway(tmp, template, mock_url, name, litellm, extra, base_port + index)
            samples: dict[str, dict[str, list[float]]] = {name: {} for name, _, _ in variants}
            errors = dict.fromkeys(samples, 0)
            for round_number in range(args.rounds):
                order = variants[round_number % len(variants):] + variants[:round_number % len(variants)]
                for name, _, _ in order:
                    _, _, url, key = started[name]
                    seq = sequential(url, key, args.requests, stream=False)
                    ttfb = sequential(url, key, args.requests, stream=True)
                    conc = concurrent(url, key, args.requests * 3, args.concurrency)
                    for metric, value in (("seq median", seq["median"]), ("seq p95", seq["p95"]),
                                          ("ttfb median", ttfb["median"]), ("conc median", conc["median"]),
                                          ("req/s", conc["rps"])):
                        samples[name].setdefault(metric, []).append(value)
                    errors[name] += seq["errors"] + ttfb["errors"] + conc["errors"]
        finally:
            for project, env, _, _ in started.values():
                subprocess.run(["gateway/run-local.sh", "stop"], cwd=project, env=env, capture_output=True,
                               timeout=60, check=False)
            mock.terminate()
            mock.wait(timeout=10)

    first = variants[0][0]
    metrics = list(samples[first])
    print("| variant | " + " | ".join(f"{m} (ratio)" for m in metrics) + " | errors |")
    print("|---|" + "---|" * (len(metrics) + 1))
    for name in samples:
        cells = []
        for metric in metrics:
            value = statistics.median(samples[name][metric])
            ratio = value / statistics.median(samples[first][metric])
            cells.append(f"{value:.1f} ({ratio:.2f}×)")
        print(f"| {name} | " + " | ".join(cells) + f" | {errors[name]} |")
    print(f"\n{args.rounds} rounds interleaved, per round and variant {args.requests} sequential, {args.requests} "
          f"streamed, {args.requests * 3} at {args.concurrency} concurrent ({time.strftime('%Y-%m-%d %H:%M')}, "
          f"{os.cpu_count()} cores); medians over rounds, ratio to {first}")


if __name__ == "__main__":
    main()
