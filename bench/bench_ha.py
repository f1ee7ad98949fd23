"""Benchmark: the shared gateway with 1, 2 and 3 replicas behind a load balancer, and its recovery from a lost replica.

The generated Kubernetes runtime's config (spend_database, external Redis), each replica started as its Deployment
starts the container, a real Redis and Postgres 15, HAProxy as the Service (tests/support/services.py), the mock
provider behind. Requests per second and p95 at 20 concurrent clients through HAProxy with 1, 2 and 3 replicas in
service (ratios to 1 replica, same run), then: one of three replicas killed (SIGKILL, a crashed pod) under load,
the errors clients saw and the time until HAProxy took it out.

Offline, Prisma's query engine is the test-support stand-in. On 2 cores three replicas compete for the same CPUs:
the curve flattens, and this says so rather than extrapolating.

Run: .venv/bin/python bench/bench_ha.py [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import postgres
from bench_gateway import COPIER, concurrent
from bench_generate import template_clone
from services import HAProxy, Redis, Replica

DB_VENV = ROOT / ".cache" / "litellm-db-venv"
ENGINE_DIR = ROOT / "tests" / "support" / "prisma-engine"


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def set_servers(haproxy: HAProxy, enabled: set[str]) -> None:
    """Put replicas in or out of service through HAProxy's admin socket, as a scale up or down would."""
    import socket

    for name in haproxy.backends:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(haproxy.stats_socket))
            state = "ready" if name in enabled else "maint"
            sock.sendall(f"set server replicas/{name} state {state}\n".encode())
            sock.recv(4096)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    site_packages = next(DB_VENV.glob("lib/python3*/site-packages"))
    with tempfile.TemporaryDirectory() as tmp_name, postgres.Postgres() as db:
        tmp = Path(tmp_name)
        db.apply_migrations(postgres.migrations_dir(site_packages))
        mock = subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "mock_provider.py")], stdout=subprocess.PIPE,
                                text=True)
        replicas: list[Replica] = []
        try:
            mock_url = mock.stdout.readline().strip()
            project = tmp / "project"
            data = ["cost_tracking=true", "gateway_runtime=kubernetes", "gateway_url=https://llm.example.com",
                    "spend_database=true", "kubernetes_redis=external", f"anthropic_base_url={mock_url}"]
            subprocess.run([COPIER, "copy", "--trust", "--defaults", "--quiet",
                            *[a for d in data for a in ("--data", d)], str(template_clone(tmp)), str(project)],
                           check=True, capture_output=True, timeout=120)
            env = {"PATH": os.environ["PATH"], "HOME": str(tmp)}
            subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=env, check=True, capture_output=True,
                           timeout=60)
            db.psql("postgres", "ALTER ROLE litellm PASSWORD 'bench-password'")
            with Redis(tmp, "bench-redis") as redis:
                env_file = project / "gateway" / ".env"
                env_file.write_text(env_file.read_text()
                                    .replace("# ANTHROPIC_API_KEY=\n", "ANTHROPIC_API_KEY=sk-bench\n")
                                    .replace("# REDIS_URL=\n", f"REDIS_URL={redis.url}\n")
                                    .replace("# DATABASE_URL=\n", "DATABASE_URL=postgresql://litellm:bench-password@"
                                             f"127.0.0.1:{db.port}/litellm\n"))
                deployment = next(d for d in yaml.safe_load_all(
                    (project / "gateway" / "kubernetes" / "deployment.yaml").read_text()) if d and
                    d["kind"] == "Deployment")
                container = deployment["spec"]["template"]["spec"]["containers"][0]
                cli_args = [a.replace("/etc/litellm/litellm_config.yaml", str(project / "gateway" /
                                                                              "litellm_config.yaml"))
                            for a in container["args"]]
                replica_env = {"PATH": f"{DB_VENV / 'bin'}:/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8",
                               **{e["name"]: e["value"] for e in container.get("env", []) if "value" in e},
                               **read_env(env_file),
                               "PRISMA_QUERY_ENGINE_BINARY": str(ENGINE_DIR / "query-engine"),
                               "PRISMA_SCHEMA_ENGINE_BINARY": str(ENGINE_DIR / "schema-engine"),
                               "PRISMA_HOME_DIR": str(ROOT / ".cache" / "prisma-home")}
                master = read_env(env_file)["LITELLM_MASTER_KEY"]
                replicas = [Replica(f"r{n}", str(DB_VENV / "bin" / "litellm"), cli_args, replica_env, tmp)
                            for n in (1, 2, 3)]
                for replica in replicas:
                    replica.start()
                for replica in replicas:
                    replica.wait_ready(240)
                with HAProxy(tmp, {r.name: r.port for r in replicas}) as haproxy:
                    results = {}
                    for count in (1, 2, 3):
                        set_servers(haproxy, {r.name for r in replicas[:count]})
                        time.sleep(1)
                        concurrent(haproxy.url, master, 40, args.concurrency)  # warm-up
                        runs = [concurrent(haproxy.url, master, args.requests, args.concurrency) for _ in range(2)]
                        results[count] = {"rps": statistics.median(r["rps"] for r in runs),
                                          "p95": statistics.median(r["p95"] for r in runs),
                                          "errors": sum(r["errors"] for r in runs)}
                    # Recovery: r3 crashes under load.
                    errors = []
                    done = threading.Event()

                    def load():
                        while not done.is_set():
                            errors.append(concurrent(haproxy.url, master, 40, args.concurrency)["errors"])

                    loader = threading.Thread(target=load)
                    loader.start()
                    time.sleep(2)
                    killed = time.monotonic()
                    replicas[2].stop(signal.SIGKILL)
                    deadline = killed + 60
                    while not haproxy.server_state()["r3"].startswith("DOWN") and time.monotonic() < deadline:
                        time.sleep(0.05)
                    taken_out = time.monotonic() - killed
                    time.sleep(3)
                    done.set()
                    loader.join(timeout=120)
        finally:
            for replica in replicas:
                replica.stop()
            mock.terminate()
            mock.wait(timeout=10)

    print(f"| replicas in service | req/s at {args.concurrency} concurrent | ratio to 1 | p95 ms | errors |")
    print("|---|---|---|---|---|")
    for count, r in results.items():
        print(f"| {count} | {r['rps']:.0f} | ×{r['rps'] / results[1]['rps']:.2f} | {r['p95']:.0f} | {r['errors']} |")
    print(f"\none of three replicas killed (SIGKILL) under load: {sum(errors)} client errors in "
          f"{len(errors) * 40} requests; HAProxy took it out after {taken_out:.1f} s "
          f"(checks every 1 s, down after 2 failures) ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
