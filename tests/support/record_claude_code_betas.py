"""Record what the pinned Claude Code CLI sends with its model requests, for the conformance kit
(scripts/conformance.sh in every generated repository): per route (each provider of the registry: the beta lists
differ per route), the `anthropic-beta` list, the fixed headers, the request path and the body fields that come with
the betas, per model tier, with and without CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1.

It runs the real CLI (`claude -p "say hi" --model <the route's default id for the tier>`) against the loopback mock
provider, offline, with a throwaway HOME and the environment the generated client/env.sh would set for that route,
pointed at the mock by the provider record's `mock_answers` and `mock_credential` (no provider is named here), and
writes template/scripts/conformance/claude-code-<version>.json. Run it once per Claude Code version (after changing
tests/claude-cli/package.json and `npm ci`); the file is never edited by hand, and tests/test_conformance.py
re-records it and compares.

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
from urllib.parse import unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))
sys.path.insert(0, str(REPO_ROOT / "extensions"))
from answers import complete_answers
from claude_gateway_template.providers import REGISTRY, TIERS, Provider
from mock_provider import RunningMock

DEFAULT_CLAUDE = REPO_ROOT / "tests" / "claude-cli" / "node_modules" / ".bin" / "claude"
OUTPUT_DIR = REPO_ROOT / "template" / "scripts" / "conformance"
# Headers that are the same on every machine (x-stainless-* name the OS and runtime, so they are not recorded).
FIXED_HEADERS = ("anthropic-version", "anthropic-dangerous-direct-browser-access", "user-agent", "x-app")
# Body fields that change per request (the conversation, the session, the model asked for), and the beta list of
# the routes that send it in the body (recorded as the betas).
VARIABLE_FIELDS = {"model", "messages", "system", "tools", "metadata", "max_tokens", "stream", "anthropic_beta"}
TIMEOUT = 120
VARIANTS = {"tiers": {}, "tiers_without_experimental_betas": {"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS": "1"}}


def route_environment(provider: Provider, url: str) -> tuple[dict, dict[str, str]]:
    """(answers, environment) of a client of `provider` pointed at a mock at `url`: the variables the generated
    client sets (the record's client_env over copier's defaults), and the record's mock credential."""
    answers = complete_answers(providers=[provider.key], **provider.mock_answers(url))
    return answers, {**{var.name: var.value for var in provider.client_env(answers)}, **provider.mock_credential}


def cli_version(claude: str) -> str:
    out = subprocess.run([claude, "--version"], capture_output=True, text=True, timeout=TIMEOUT, check=True).stdout
    match = re.search(r"\d+\.\d+\.\d+", out)
    if not match:
        raise SystemExit(f"cannot read a version from `claude --version`: {out.strip()!r}")
    return match.group(0)


def one_request(claude: str, provider: Provider, tier: str, home: Path, extra_env: dict[str, str]) -> dict:
    """One `claude -p` run on `provider`'s route against the mock: what its Messages request for the tier's model
    carried (the path relative to the route's base URL, the fixed headers, the betas and the body fields)."""
    with RunningMock() as mock:
        answers, route_env = route_environment(provider, mock.url)
        model = answers[provider.model_question(tier)]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", **route_env, **extra_env}
        result = subprocess.run([claude, "-p", "say hi", "--model", model], env=env, cwd=home, capture_output=True,
                                text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0:
            raise SystemExit(f"{provider.key}: claude -p --model {model} failed ({result.returncode}): "
                             f"{(result.stderr or result.stdout).strip()[:500]}")
        path = provider.request_path(answers, model)
        sent = [r for r in mock.requests if r.method == "POST" and unquote(r.path.split("?")[0]) == path
                and (r.body or {}).get("model", model) == model]
        if not sent:
            raise SystemExit(f"{provider.key}: claude -p --model {model} sent nothing to {path}: {mock.paths()}")
    # The turn itself streams; some routes first send a short probe without betas (Mantle: one non-streamed request).
    sent = [r for r in sent if (r.body or {}).get("stream")] or sent
    headers, body = sent[0].headers, sent[0].body or {}
    base = urlsplit(route_env.get(provider.base_url_var, mock.url)).path.rstrip("/")
    raw_path, _, query = sent[0].path.partition("?")
    relative = unquote(raw_path)[len(base):].replace(model, "{model}")
    betas = [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]
    return {"request_path": relative + (f"?{query}" if query else ""),
            "headers": {h: headers[h] for h in FIXED_HEADERS if h in headers},
            "tier": {"model": model, "betas": betas or list(body.get("anthropic_beta") or []),
                     "body": {k: v for k, v in body.items() if k not in VARIABLE_FIELDS}}}


def record(claude: str) -> dict:
    version = cli_version(claude)
    # The route Claude Code takes when no CLAUDE_CODE_USE_* switch is set: Anthropic format, as to a gateway.
    default = next(p.key for p in REGISTRY.values() if not p.use_flag)
    recording: dict = {"claude_code_version": version,
                       "recorded_by": "tests/support/record_claude_code_betas.py: the real CLI against a loopback "
                                      "mock (claude -p --model <id>), per route; re-record, never edit by hand",
                       "default_route": default, "routes": {}}
    runs = [(key, variant, tier) for key in REGISTRY for variant in VARIANTS for tier in TIERS]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=3) as pool:
        def run(job: tuple[str, str, str]) -> dict:
            key, variant, tier = job
            home = Path(tmp) / f"{key}-{variant}-{tier}"
            home.mkdir()
            return one_request(claude, REGISTRY[key], tier, home, VARIANTS[variant])

        for (key, variant, tier), sent in zip(runs, pool.map(run, runs)):
            route = recording["routes"].setdefault(key, {"name": REGISTRY[key].name,
                                                         "request_path": sent["request_path"],
                                                         "headers": sent["headers"]})
            route.setdefault(variant, {})[tier] = sent["tier"]
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
