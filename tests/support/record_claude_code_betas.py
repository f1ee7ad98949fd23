"""Record what the pinned Claude Code CLI sends with its model requests, for the conformance kit
(scripts/conformance.sh in every generated repository): the `anthropic-beta` list, the fixed headers and the body
fields that come with the betas, per model tier, with and without CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1.

It runs the real CLI (`claude -p "say hi" --model <tier's default id>`) against the loopback mock provider, offline,
with a throwaway HOME, and writes template/scripts/conformance/claude-code-<version>.json. Run it once per Claude
Code version (after changing tests/claude-cli/package.json and `npm ci`); the file is never edited by hand, and
tests/test_conformance.py re-records it and compares.

Usage:  .venv/bin/python tests/support/record_claude_code_betas.py [--claude PATH] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))
sys.path.insert(0, str(REPO_ROOT / "extensions"))
from claude_gateway_template.providers import REGISTRY, TIERS
from mock_provider import RunningMock

DEFAULT_CLAUDE = REPO_ROOT / "tests" / "claude-cli" / "node_modules" / ".bin" / "claude"
OUTPUT_DIR = REPO_ROOT / "template" / "scripts" / "conformance"
# Headers that are the same on every machine (x-stainless-* name the OS and runtime, so they are not recorded).
FIXED_HEADERS = ("anthropic-version", "anthropic-dangerous-direct-browser-access", "user-agent", "x-app")
# Body fields that change per request (the conversation, the session, the model asked for).
VARIABLE_FIELDS = {"model", "messages", "system", "tools", "metadata", "max_tokens", "stream"}
TIMEOUT = 120
VARIANTS = {"tiers": {}, "tiers_without_experimental_betas": {"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"}}


def cli_version(claude: str) -> str:
    out = subprocess.run([claude, "--version"], capture_output=True, text=True, timeout=TIMEOUT, check=True).stdout
    match = re.search(r"\d+\.\d+\.\d+", out)
    if not match:
        raise SystemExit(f"cannot read a version from `claude --version`: {out.strip()!r}")
    return match.group(0)


def one_request(claude: str, model: str, home: Path, extra_env: dict[str, str]) -> tuple[dict, dict]:
    """The headers and body of the CLI's Messages request for `model` (one `claude -p` run against the mock)."""
    with RunningMock() as mock:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
               "ANTHROPIC_BASE_URL": mock.url, "ANTHROPIC_AUTH_TOKEN": "recorder",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", **extra_env}
        result = subprocess.run([claude, "-p", "say hi", "--model", model], env=env, cwd=home, capture_output=True,
                                text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0:
            raise SystemExit(f"claude -p --model {model} failed ({result.returncode}): {result.stderr.strip()[:500]}")
        sent = [r for r in mock.messages_requests() if (r.body or {}).get("model") == model]
        if not sent:
            raise SystemExit(f"claude -p --model {model} sent no Messages request for that model")
        return sent[0].headers, sent[0].body or {}


def record(claude: str) -> dict:
    version = cli_version(claude)
    anthropic = REGISTRY["anthropic"]
    recording: dict = {"claude_code_version": version,
                       "recorded_by": "tests/support/record_claude_code_betas.py: the real CLI against a loopback "
                                      "mock (claude -p --model <id>); re-record, never edit by hand",
                       "request_path": "/v1/messages?beta=true", "headers": {}}
    runs = [(variant, tier) for variant in VARIANTS for tier in TIERS]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=3) as pool:
        def run(job: tuple[str, str]) -> tuple[dict, dict]:
            variant, tier = job
            home = Path(tmp) / f"{variant}-{tier}"
            home.mkdir()
            return one_request(claude, anthropic.default_model(tier), home, VARIANTS[variant])

        for (variant, tier), (headers, body) in zip(runs, pool.map(run, runs)):
            recording["headers"] = recording["headers"] or {h: headers[h] for h in FIXED_HEADERS if h in headers}
            recording.setdefault(variant, {})[tier] = {
                "model": anthropic.default_model(tier),
                "betas": [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()],
                "body": {k: v for k, v in body.items() if k not in VARIABLE_FIELDS}}
    return recording


def render(recording: dict) -> str:
    return json.dumps(recording, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claude", default=os.environ.get("CLAUDE_BIN") or str(DEFAULT_CLAUDE))
    parser.add_argument("--output", help="file to write (default: template/scripts/conformance/claude-code-<v>.json)")
    args = parser.parse_args(argv)
    recording = record(args.claude)
    output = Path(args.output) if args.output else OUTPUT_DIR / f"claude-code-{recording['claude_code_version']}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(recording))
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
