"""Benchmarks: how long generating a project takes, how long the doctor takes, and what a real Claude Code
round trip through the generated configuration costs. Prints a Markdown table for the README.

Run: make bench   (or .venv/bin/python bench/bench_generate.py [--runs N])
Only loopback traffic: the provider is the tests' mock on 127.0.0.1.
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
sys.path.insert(0, str(ROOT / "tests"))
from conftest import clone_template  # noqa: E402
from mock_provider import RunningMock  # noqa: E402

COPIER = str(Path(sys.executable).parent / "copier")
CLAUDE = ROOT / "tests" / "claude-cli" / "node_modules" / ".bin" / "claude"


def timed(cmd: list[str], **kw) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {cmd}")
    return elapsed, usage.ru_maxrss


def row(name: str, samples: list[tuple[float, int]]) -> str:
    secs = sorted(s for s, _ in samples)
    p95 = secs[min(len(secs) - 1, round(0.95 * (len(secs) - 1)))]
    rss = max(r for _, r in samples) / 1024
    return f"| {name} | {len(secs)} | {statistics.median(secs) * 1000:.0f} | {p95 * 1000:.0f} | {rss:.0f} |"


def template_clone(tmp: Path) -> Path:
    return clone_template(tmp / "template")  # the same committed, tagged clone the tests use


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name, RunningMock() as mock:
        tmp = Path(tmp_name)
        template = template_clone(tmp)
        for pattern, data in (("A", []), ("D", ["--data", "cost_tracking=true", "--data", "corporate_proxy=true",
                                          "--data", "proxy_url=http://proxy.example.com:8080"])):
            samples = [timed([COPIER, "copy", "--trust", "--defaults", "--quiet", *data,
                              "--data", f"anthropic_base_url={mock.url}", str(template), str(tmp / f"{pattern}{i}")])
                       for i in range(runs)]
            rows.append(row(f"`copier copy` (CLI), Pattern {pattern}", samples))

        project = tmp / "A0"
        home = tmp / "home"
        home.mkdir()
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "ANTHROPIC_API_KEY": "sk-bench"}
        doctor = ["sh", "-c", ". ./client/env.sh && scripts/check-status.sh"]
        rows.append(row("`check-status.sh` (all checks, loopback endpoint)",
                        [timed(doctor, cwd=project, env=env) for _ in range(runs)]))
        rows.append(row("`check-status.sh --offline`",
                        [timed(doctor[:2] + [doctor[2] + " --offline"], cwd=project, env=env) for _ in range(runs)]))
        # scripts/migrate.sh back and forth between A and C (each run: a pristine render and a copier update).
        git_env = {**env, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid", "GIT_COMMITTER_NAME": "b",
                   "GIT_COMMITTER_EMAIL": "b@example.invalid", "COPIER": COPIER}
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "generated"]):
            subprocess.run(["git", *args], cwd=project, check=True, env=git_env, capture_output=True)
        samples = []
        for i in range(runs):
            samples.append(timed(["scripts/migrate.sh", "C" if i % 2 == 0 else "A"], cwd=project, env=git_env,
                                 stdin=subprocess.DEVNULL))
            for args in (["add", "-A"], ["commit", "-qm", f"migration {i}"]):
                subprocess.run(["git", *args], cwd=project, check=True, env=git_env, capture_output=True)
        rows.append(row("`scripts/migrate.sh` A↔C (alternating)", samples))
        if CLAUDE.exists():
            env_cli = {**env, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
            cli = ["sh", "-c", f'. ./client/env.sh && exec "{CLAUDE}" -p "say hi"']
            rows.append(row("`claude -p` via generated `client/env.sh` → mock",
                            [timed(cli, cwd=project, env=env_cli) for _ in range(runs)]))
    print("| what | runs | median ms | p95 ms | peak RSS MiB |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n(python {sys.version.split()[0]}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')})")


if __name__ == "__main__":
    main()
