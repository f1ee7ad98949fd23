"""Benchmark: the gateway's database mode. A generated Pattern C project with spend_database (process runtime, the
pinned LiteLLM in database mode on a throwaway Postgres 15, see tests/support/postgres.py), the mock provider behind.

Measures, in one run so the ratios hold on a shared machine:
- per-request latency with a developer's key (made by the generated scripts/sync-access.sh) vs the master key,
  sequential and 20 concurrent, interleaved in rounds; the ratio developer/master;
- how long a request's spend takes to reach what the reports read: the key's spend (GET /key/info, what budgets
  check) and the daily table scripts/usage-report.sh reads (GET /user/daily/activity). LiteLLM writes both in
  batches.

Offline, Prisma's query engine is the test-support stand-in (tests/support/prisma-engine: the engine's wasm build
behind a small Node server), not the native engine of LiteLLM's litellm-database image: absolute database
latencies here say little about production; the ratio mostly measures LiteLLM's own per-key work (its key cache
answers most lookups without the database).

Run: .venv/bin/python bench/bench_database.py [--requests N] [--concurrency C] [--visibility-samples K]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import postgres
from bench_gateway import COPIER, concurrent, sequential
from bench_generate import template_clone

DB_VENV = ROOT / ".cache" / "litellm-db-venv"
ENGINE_DIR = ROOT / "tests" / "support" / "prisma-engine"
POLL_SECONDS = 0.25
VISIBILITY_TIMEOUT = 120


def admin(gateway: str, master: str, path: str):
    request = urllib.request.Request(gateway + path, headers={"Authorization": f"Bearer {master}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def seconds_until(check) -> float:
    """Seconds until check() is true, polled every POLL_SECONDS; bounded by VISIBILITY_TIMEOUT."""
    start = time.perf_counter()
    while time.perf_counter() - start < VISIBILITY_TIMEOUT:
        if check():
            return time.perf_counter() - start
        time.sleep(POLL_SECONDS)
    return float("inf")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--visibility-samples", type=int, default=5)
    args = parser.parse_args()
    if not (DB_VENV / ".installed").exists() or not postgres.available():
        raise SystemExit("needs `make tools` (the database venv) and Debian's postgresql")
    site_packages = next(DB_VENV.glob("lib/python3*/site-packages"))

    with tempfile.TemporaryDirectory() as tmp_name, postgres.Postgres() as db:
        tmp = Path(tmp_name)
        db.apply_migrations(postgres.migrations_dir(site_packages))
        mock = subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "mock_provider.py")], stdout=subprocess.PIPE,
                                text=True)
        try:
            mock_url = mock.stdout.readline().strip()
            port = 4300 + os.getpid() % 300
            project = tmp / "project"
            data = ["cost_tracking=true", "gateway_runtime=process", "spend_database=true", f"gateway_port={port}",
                    f"anthropic_base_url={mock_url}"]
            subprocess.run([COPIER, "copy", "--trust", "--defaults", "--quiet",
                            *[a for d in data for a in ("--data", d)], str(template_clone(tmp)), str(project)],
                           check=True, capture_output=True, timeout=120)
            env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "LITELLM_BIN": str(DB_VENV / "bin" / "litellm")}
            subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=env, check=True, capture_output=True,
                           timeout=60)
            env_file = project / "gateway" / ".env"
            values = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                          if line and not line.startswith("#"))
            master = values["LITELLM_MASTER_KEY"]
            db.psql("postgres", f"ALTER ROLE litellm PASSWORD '{values['POSTGRES_PASSWORD']}'")
            text = env_file.read_text().replace("# ANTHROPIC_API_KEY=\n", "ANTHROPIC_API_KEY=sk-bench\n")
            text = text.replace(":5432/", f":{db.port}/")
            text += (f"DISABLE_SCHEMA_UPDATE=true\nPRISMA_QUERY_ENGINE_BINARY={ENGINE_DIR / 'query-engine'}\n"
                     f"PRISMA_SCHEMA_ENGINE_BINARY={ENGINE_DIR / 'schema-engine'}\n"
                     f"PRISMA_HOME_DIR={ROOT / '.cache' / 'prisma-home'}\n")
            env_file.write_text(text)
            subprocess.run(["gateway/run-local.sh", "start"], cwd=project, env=env, check=True, capture_output=True,
                           timeout=300)
            gateway = f"http://127.0.0.1:{port}"
            try:
                developers = {f"dev{i}": {"budget": {"usd": 1000, "period": "monthly"}}
                              for i in range(args.visibility_samples + 1)}
                (project / "gateway" / "access.yaml").write_text(json.dumps({"teams": {}, "developers": developers}))
                subprocess.run(["scripts/sync-access.sh"], cwd=project, env=env, check=True, capture_output=True,
                               timeout=120)
                keys = {d: (project / "gateway" / "keys" / f"{d}.key").read_text().strip() for d in developers}
                developer_key = keys.pop("dev0")
                # Latency, interleaved: master, developer, master, developer (each warmed up by `sequential`).
                seq = {"master key": [], "developer key": []}
                conc = {"master key": [], "developer key": []}
                for _ in range(2):
                    for name, key in (("master key", master), ("developer key", developer_key)):
                        seq[name].append(sequential(gateway, key, args.requests // 2, stream=False))
                        conc[name].append(concurrent(gateway, key, args.requests, args.concurrency))
                # Spend visibility: one request with a fresh key, then poll what budgets and reports read.
                today = time.strftime("%Y-%m-%d", time.gmtime())
                key_delay, report_delay = [], []
                for developer, key in keys.items():
                    assert sequential(gateway, key, 1, stream=False)["errors"] == 0
                    key_delay.append(seconds_until(
                        lambda k=key: admin(gateway, master, f"/key/info?key={k}")["info"]["spend"] > 0))
                    report_delay.append(key_delay[-1] + seconds_until(lambda d=developer: any(
                        (e.get("metadata") or {}).get("user_id") == d
                        for day in admin(gateway, master, f"/user/daily/activity?start_date={today}&end_date={today}"
                                         "&page_size=1000")["results"]
                        for e in (day.get("breakdown", {}).get("api_keys") or {}).values())))
                pid = (project / "gateway" / "litellm.pid").read_text().strip()
                rss = subprocess.run(["ps", "-o", "rss=", "-p", pid], capture_output=True, text=True, check=False).stdout.strip()
            finally:
                subprocess.run(["gateway/run-local.sh", "stop"], cwd=project, env=env, capture_output=True, timeout=60, check=False)
        finally:
            mock.terminate()
            mock.wait(timeout=10)

    def merged(runs: list[dict], field: str) -> float:
        return statistics.median(run[field] for run in runs)

    print(f"| key | seq median ms | seq p95 ms | {args.concurrency}-conc median ms | {args.concurrency}-conc p95 ms | "
          "req/s | errors |")
    print("|---|---|---|---|---|---|---|")
    for name, runs in seq.items():
        errors = sum(run["errors"] for run in runs + conc[name])
        print(f"| {name} | {merged(runs, 'median'):.1f} | {merged(runs, 'p95'):.1f} | "
              f"{merged(conc[name], 'median'):.1f} | {merged(conc[name], 'p95'):.1f} | "
              f"{merged(conc[name], 'rps'):.0f} | {errors} |")
    ratio = merged(seq["developer key"], "median") / merged(seq["master key"], "median")
    rps_ratio = merged(conc["developer key"], "rps") / merged(conc["master key"], "rps")
    print(f"\ndeveloper key / master key: sequential median ×{ratio:.2f}, {args.concurrency}-concurrent req/s "
          f"×{rps_ratio:.2f}")
    print(f"spend visible after a request (n={len(key_delay)}): key spend (budgets) median "
          f"{statistics.median(key_delay):.1f} s, max {max(key_delay):.1f} s; daily table (usage-report.sh) median "
          f"{statistics.median(report_delay):.1f} s, max {max(report_delay):.1f} s")
    print(f"gateway RSS after the run: {int(rss or 0) / 1024:.0f} MiB ({time.strftime('%Y-%m-%d')}, "
          f"{os.cpu_count()} cores; query engine: the test-support stand-in)")


if __name__ == "__main__":
    main()
