"""Benchmarks: how long generating a project takes, how long the doctor takes, and what a real Claude Code
round trip through the generated configuration costs. Prints a Markdown table for docs/benchmarks.md.

Run: make bench   (or .venv/bin/python bench/bench_generate.py [--runs N] [--compare REF])
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
sys.path.insert(0, str(ROOT / "tests" / "support"))
from mock_provider import RunningMock
from template_clone import clone_template

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


def row(name: str, samples: list[tuple[float, int]], ratio: str = "") -> str:
    secs = sorted(s for s, _ in samples)
    p95 = secs[min(len(secs) - 1, round(0.95 * (len(secs) - 1)))]
    rss = max(r for _, r in samples) / 1024
    return (f"| {name} | {len(secs)} | {statistics.median(secs) * 1000:.0f} | {p95 * 1000:.0f} | {ratio} "
            f"| {rss:.0f} |")


PROXY = ["--data", "corporate_proxy=true", "--data", "proxy_url=http://proxy.example.com:8080"]
PATTERN_DATA = {
    "A": [],
    "A (Foundry)": ["--data", "providers=[foundry]", "--data", "foundry_resource=bench"],
    "B": PROXY,
    "C": ["--data", "cost_tracking=true"],
    "D": ["--data", "cost_tracking=true", *PROXY],
}


def template_at(ref: str, tmp: Path) -> Path:
    """This repository at `ref` (a commit or tag), as its only tag, so copier copies exactly that: a git clone of
    the whole repository, tests and goldens included, as copier clones a template for every user's copy."""
    clone = tmp / f"at-{ref.replace('/', '-')}"
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True, env=env)
    subprocess.run(["git", "checkout", "-q", "-B", "bench", ref], cwd=clone, check=True, env=env)
    for tag in subprocess.run(["git", "tag"], cwd=clone, check=True, capture_output=True, text=True).stdout.split():
        subprocess.run(["git", "tag", "-d", tag], cwd=clone, check=True, capture_output=True)
    subprocess.run(["git", "tag", "v0.0.0"], cwd=clone, check=True, env=env)
    return clone


def floor_template(tmp: Path) -> Path:
    """copier's floor: a committed, tagged template with one question and one file (the same CLI and flags)."""
    floor = tmp / "floor"
    (floor / "template").mkdir(parents=True)
    (floor / "copier.yml").write_text("_subdirectory: template\nanthropic_base_url:\n  type: str\n  default: ''\n")
    (floor / "template" / "README.md.jinja").write_text("{{ anthropic_base_url }}\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "floor"], ["tag", "v0.0.0"]):
        subprocess.run(["git", *args], cwd=floor, check=True, env=env, capture_output=True)
    return floor


def template_clone(tmp: Path) -> Path:
    """The working tree's template files as a committed, tagged clone (the tests' clone; the other benches use it)."""
    return clone_template(tmp / "template")


BASELINE_REF = "2f3ee30"  # the 0.2.0 release: Pattern D copied 1.7-1.8x the floor then (issue 29)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--compare", metavar="REF", action="append",
                        help=f"also time Pattern D from this commit or tag (repeatable; default {BASELINE_REF}, the "
                             "0.2.0 release)")
    args = parser.parse_args()
    runs = args.runs
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name, RunningMock() as mock:
        tmp = Path(tmp_name)
        # As users copy: from a git clone of the repository (committed HEAD; commit your changes first).
        template = template_at("HEAD", tmp)
        floor = floor_template(tmp)
        # Every configuration once per round, rounds interleaved, so drift of this shared machine hits all alike;
        # each pattern is reported as a ratio to copier's floor measured in the same run.
        configs = {"floor": (floor, [])}
        configs.update({pattern: (template, data) for pattern, data in PATTERN_DATA.items()})
        for ref in args.compare or [BASELINE_REF]:
            configs[f"D at {ref}"] = (template_at(ref, tmp), PATTERN_DATA["D"])
        samples: dict[str, list[tuple[float, int]]] = {name: [] for name in configs}
        for i in range(runs):
            for name, (source, data) in configs.items():
                samples[name].append(timed([COPIER, "copy", "--trust", "--defaults", "--quiet", *data,
                                            "--data", f"anthropic_base_url={mock.url}", str(source),
                                            str(tmp / f"{name}{i}")]))
        floor_median = statistics.median(s for s, _ in samples["floor"])
        rows.append(row("`copier copy` (CLI) of a one-file template: copier's floor", samples["floor"]))
        for pattern in [name for name in configs if name != "floor"]:
            ratio = statistics.median(s for s, _ in samples[pattern]) / floor_median
            rows.append(row(f"`copier copy` (CLI), Pattern {pattern}", samples[pattern], f"{ratio:.2f}×"))

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
        for i in range(runs + runs % 2):  # an even number: the project ends at A again, for the CLI run below
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
    print("| what | runs | median ms | p95 ms | ratio to the floor (medians) | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n(python {sys.version.split()[0]}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')})")


if __name__ == "__main__":
    main()
