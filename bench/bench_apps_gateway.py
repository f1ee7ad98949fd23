"""Benchmark (issue 32): the generated Claude apps gateway next to a bare `claude gateway` with the same `admin`
metering and the generated LiteLLM gateway, in one run, every figure a ratio to a direct call measured in the same
round (the method of bench/bench_overhead.py, whose measuring it reuses: variants take turns in small blocks).

Variants, all up for the whole run against one mock (bench/bench_mock.py; its sonnet id streams spaced events):
- bare, bare-again (an A/A pair: the spread of their ratio is the run's noise): `claude gateway` (the pinned CLI) with a minimal hand-written config: one anthropic upstream, the session
  secret, Postgres, the OIDC issuer, and admin read/write keys (so spend is metered, as in the generated config);
- generated: this template's Pattern C with gateway_engine=claude_apps_gateway (process runtime, http on loopback,
  default answers), started by its own gateway/run-local.sh;
- generated-failover: the same with two upstreams (Anthropic, then Foundry at the mock's /anthropic route);
- litellm: this template's generated LiteLLM gateway (default answers, 1 worker);
- sso-front: this template's Pattern C with gateway_engine=claude_apps_gateway_with_litellm (issue 36): the generated
  Claude apps gateway in front of the generated LiteLLM (1 worker, no database: the front sends the master key),
  both started by gateway/run-local.sh; the two hops together.
Requests to the apps gateways carry a session token minted with the gateway's own secret (as a signed-in CLI sends).
Per round and variant: sequential non-streaming latency (median) and its overhead over direct; requests/s at 20
concurrent; the first-byte delay a spaced stream's message_start gets (the gateway relays events as they come?).
Goal (issue 32): the generated config within 1.2x of the bare gateway's overhead.

Needs: the pinned CLI (tests/claude-cli), Debian's PostgreSQL 15, a LiteLLM venv (.cache/litellm-venv, `make tools`).
Run: .venv/bin/python bench/bench_apps_gateway.py [--rounds R] [--requests N] ...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
from apps_gateway import AppsGateway, mint_session
from bench_gateway import COPIER
from bench_generate import template_clone
from bench_overhead import BLOCKS, SPACED_EVENTS, Burst, Variant, band, measure_round, set_env_lines, tree_rss_mib
from bench_overhead import start as start_litellm
from bench_overhead import stop as stop_litellm
from environment import CLAUDE_CLI_DIR, LITELLM_VENV
from oidc_issuer import RunningIssuer
from postgres import Postgres

CLAUDE_BIN = CLAUDE_CLI_DIR / "node_modules" / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe"
GATEWAY_ENV = {"CLAUDE_GATEWAY_ALLOW_LOOPBACK": "1", "CLAUDE_GATEWAY_DRAIN_TIMEOUT_MS": "500"}  # loopback mock/issuer


def run_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "CLAUDE_BIN": str(CLAUDE_BIN), **GATEWAY_ENV}


def start_bare(tmp: Path, mock_url: str, port: int, issuer, db) -> tuple[AppsGateway, str]:
    secret = secrets.token_hex(32)
    config = {
        "listen": {"host": "127.0.0.1", "port": port},
        "oidc": {"issuer": issuer.url, "client_id": issuer.client_id, "client_secret": issuer.client_secret},
        "session": {"jwt_secret": secret},
        "store": {"postgres_url": db.create_database(f"bare_{port}")},
        "upstreams": [{"provider": "anthropic", "base_url": mock_url, "auth": {"api_key": "sk-bench"}}],
        "admin": {"read_keys": [{"id": "read", "key": secrets.token_hex(32)}],
                  "write_keys": [{"id": "write", "key": secrets.token_hex(32)}]},
    }
    workdir = tmp
    workdir.mkdir()
    (workdir / "gateway.json").write_text(json.dumps(config))
    gateway = AppsGateway(str(CLAUDE_BIN), workdir / "gateway.json", f"http://127.0.0.1:{port}", workdir=workdir)
    gateway.start()
    return gateway, mint_session(secret, gateway.url, "00u-bench", "bench@example.com", ["engineering"])


def start_generated(name: str, tmp: Path, template: Path, mock_url: str, port: int, issuer, db,
                    failover: bool) -> tuple[Path, str, str]:
    project = tmp / name
    url = f"http://127.0.0.1:{port}"
    data = ["cost_tracking=true", "gateway_engine=claude_apps_gateway", f"gateway_port={port}",
            "gateway_bind=127.0.0.1", f"gateway_url={url}", f"oidc_issuer={issuer.url}",
            f"oidc_client_id={issuer.client_id}", f"anthropic_base_url={mock_url}", "disable_nonessential_traffic=true"]
    if failover:
        data += ["providers=[anthropic, foundry]", "primary_provider=anthropic", f"foundry_base_url={mock_url}/anthropic",
                 "foundry_resource="]
    subprocess.run([COPIER, "copy", "--trust", "--defaults", "--quiet", *[a for d in data for a in ("--data", d)],
                    str(template), str(project)], check=True, capture_output=True, timeout=180)
    env = run_env(tmp)
    subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=env, check=True, capture_output=True, timeout=60)
    env_file = project / "gateway" / ".env"
    values = {"OIDC_CLIENT_SECRET": issuer.client_secret,
              "APPS_GATEWAY_DATABASE_URL": db.create_database(f"{name.replace('-', '_')}"),
              "ANTHROPIC_API_KEY": "sk-bench"}
    if failover:
        values["AZURE_AI_API_KEY"] = "sk-bench"
    set_env_lines(env_file, values)
    subprocess.run(["gateway/run-local.sh", "start"], cwd=project, env=env, check=True, capture_output=True,
                   timeout=120)
    secret = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                  if "=" in line and not line.startswith("#"))["GATEWAY_SESSION_SECRET"]
    return project, url, mint_session(secret, url, "00u-bench", "bench@example.com", ["engineering"])


def start_sso_front(tmp: Path, template: Path, mock_url: str, port: int, issuer, db) -> tuple[Path, str, str]:
    """The front on `port`, LiteLLM behind it on port + 1 (the generated wiring), both by gateway/run-local.sh."""
    project = tmp / "sso-front"
    url = f"http://127.0.0.1:{port}"
    data = ["cost_tracking=true", "gateway_engine=claude_apps_gateway_with_litellm", f"gateway_port={port}",
            "gateway_bind=127.0.0.1", f"gateway_url={url}", f"oidc_issuer={issuer.url}",
            f"oidc_client_id={issuer.client_id}", f"anthropic_base_url={mock_url}", "disable_nonessential_traffic=true",
            "spend_database=false"]
    subprocess.run([COPIER, "copy", "--trust", "--defaults", "--quiet", *[a for d in data for a in ("--data", d)],
                    str(template), str(project)], check=True, capture_output=True, timeout=180)
    env = {**run_env(tmp), "LITELLM_BIN": str(LITELLM_VENV / "bin" / "litellm")}
    subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=env, check=True, capture_output=True, timeout=60)
    env_file = project / "gateway" / ".env"
    set_env_lines(env_file, {"OIDC_CLIENT_SECRET": issuer.client_secret,
                             "APPS_GATEWAY_DATABASE_URL": db.create_database("sso_front"),
                             "ANTHROPIC_API_KEY": "sk-bench"})
    subprocess.run(["gateway/run-local.sh", "start"], cwd=project, env=env, check=True, capture_output=True,
                   timeout=300)
    secret = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                  if "=" in line and not line.startswith("#"))["GATEWAY_SESSION_SECRET"]
    return project, url, mint_session(secret, url, "00u-bench", "bench@example.com", ["engineering"])


def report(names: list[str], rounds: list[dict[str, dict[str, float]]], args, rss: dict[str, float]) -> str:
    out = [(f"{len(rounds)} rounds interleaved; per round and variant {args.requests} sequential, "
            f"{args.burst * BLOCKS} at {args.concurrency} concurrent, {args.spaced} spaced streams ({SPACED_EVENTS} "
            f"events 200 ms apart); {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.1f}. Ratios: median over rounds of the per-round ratio (min-max)."), "",
           (f"| variant | seq latency ÷ direct | overhead ÷ bare's | req/s at {args.concurrency} ÷ direct | "
            "first-byte delay added, ms | errors | RSS MiB |"),
           "|---|---|---|---|---|---|---|"]
    for name in names:
        def ratio(metric, name=name):
            return [r[name][metric] / r["direct"][metric] for r in rounds]
        overhead = [(r[name]["seq median"] - r["direct"]["seq median"])
                    / (r["bare"]["seq median"] - r["direct"]["seq median"]) for r in rounds]
        added = [r[name]["first byte"] - r["direct"]["first byte"] for r in rounds]
        out.append(f"| {name} | {band(ratio('seq median'))} | {band(overhead)} | {band(ratio('req/s'))} | "
                   f"{statistics.median(added):.0f} ({min(added):.0f}-{max(added):.0f}) | "
                   f"{sum(r[name]['errors'] for r in rounds):.0f} | {rss.get(name, 0):.0f} |")
    out += ["", "Absolute medians over rounds (drift with the machine; for orientation only):", ""]
    for name in ["direct", *names]:
        extra = [r[name]["seq median"] - r["direct"]["seq median"] for r in rounds] if name != "direct" else []
        out.append(f"- {name}: seq {statistics.median(r[name]['seq median'] for r in rounds):.1f} ms"
                   + (f" (+{statistics.median(extra):.1f} ms over direct)" if extra else "")
                   + f", {statistics.median(r[name]['req/s'] for r in rounds):.0f} req/s, first event "
                   f"{statistics.median(r[name]['first byte'] for r in rounds):.0f} ms")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=40, help="sequential requests per round and variant")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--burst", type=int, default=60, help="requests per concurrent burst (BLOCKS per round)")
    parser.add_argument("--spaced", type=int, default=3, help="spaced streams per round and variant")
    parser.add_argument("--no-litellm", action="store_true", help="leave the LiteLLM gateway out")
    parser.add_argument("--no-sso-front", action="store_true", help="leave the front with LiteLLM behind out")
    parser.add_argument("--no-failover", action="store_true", help="leave generated-failover out")
    args = parser.parse_args()
    for needed in (CLAUDE_BIN, Path("/usr/lib/postgresql/15/bin/initdb")):
        if not needed.exists():
            raise SystemExit(f"missing {needed} (make tools; apt-get install postgresql)")

    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        mock = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bench_mock.py")], stdout=subprocess.PIPE,
                                text=True)
        stack.callback(lambda: (mock.terminate(), mock.wait(timeout=10)))
        mock_url = mock.stdout.readline().strip()
        db = stack.enter_context(Postgres())  # its own directory, readable by the postgres user
        issuer = stack.enter_context(RunningIssuer())
        template = template_clone(tmp)
        port = 4900 + os.getpid() % 80
        targets: list[tuple[str, str, str, str]] = [("direct", mock_url, "sk-bench", "/v1/messages")]
        pids: dict[str, int] = {}

        for offset, name in enumerate(("bare", "bare-again")):  # an A/A pair: its spread is the run's noise
            bare, token = start_bare(tmp / name, mock_url, port + offset, issuer, db)
            stack.callback(bare.stop)
            targets.append((name, bare.url, token, "/v1/messages"))
            pids[name] = bare.process.pid
        generated = (("generated", False),) + (() if args.no_failover else (("generated-failover", True),))
        for offset, (name, failover) in enumerate(generated, start=2):
            project, url, token = start_generated(name, tmp, template, mock_url, port + offset, issuer, db, failover)
            stack.callback(subprocess.run, ["gateway/run-local.sh", "stop"], cwd=project, env=run_env(tmp),
                           capture_output=True, timeout=60, check=False)
            targets.append((name, url, token, "/v1/messages"))
            pids[name] = int((project / "gateway" / "claude-apps-gateway.pid").read_text())
        if not args.no_litellm:
            litellm = Variant("litellm", "generated", LITELLM_VENV / "bin" / "litellm")
            stack.callback(stop_litellm, litellm)
            start_litellm(litellm, tmp, template, mock_url, port + 4, None)
            targets.append(("litellm", litellm.url, litellm.key, "/v1/messages"))
            pids["litellm"] = int((litellm.project / "gateway" / "litellm.pid").read_text())
        if not args.no_sso_front:
            project, url, token = start_sso_front(tmp, template, mock_url, port + 5, issuer, db)
            stack.callback(subprocess.run, ["gateway/run-local.sh", "stop"], cwd=project,
                           env={**run_env(tmp), "LITELLM_BIN": str(LITELLM_VENV / "bin" / "litellm")},
                           capture_output=True, timeout=90, check=False)
            targets.append(("sso-front", url, token, "/v1/messages"))
            pids["sso-front"] = int((project / "gateway" / "claude-apps-gateway.pid").read_text())
            pids["sso-front litellm"] = int((project / "gateway" / "litellm.pid").read_text())
        print("started: " + ", ".join(name for name, *_ in targets[1:]), file=sys.stderr, flush=True)

        bursts = {name: Burst(url, key, args.concurrency) for name, url, key, _ in targets}
        rounds = []
        variants = targets[1:]
        for number in range(args.rounds):
            shift = number % len(variants)
            rounds.append(measure_round([targets[0], *variants[shift:], *variants[:shift]], bursts, args))
            print(f"round {number + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        rss = {name: tree_rss_mib(pid) for name, pid in pids.items()}
        if "sso-front litellm" in rss:  # the two hops' processes together
            rss["sso-front"] += rss.pop("sso-front litellm")
    print(report([name for name, *_ in variants], rounds, args, rss))


if __name__ == "__main__":
    main()
