"""conformance.py: the conformance kit behind scripts/conformance.sh (read its header for what is checked).

Standard library only. Sends Claude-Code-shaped requests (POST /v1/messages?beta=true with the headers the pinned
CLI sends, recorded in scripts/conformance/claude-code-<version>.json) to each model pinned in client/settings.json,
through the gateway (Patterns C/D) or to the provider (A/B; through HTTPS_PROXY when set), and checks what Claude
Code depends on. One line per check, or --json. The key comes from the environment (CONFORMANCE_KEY, set by the
shell entry point, or the provider's own variable, named in scripts/conformance/providers.json) and is never
printed: every detail passes `redact`.

The kit's modules, by concern: conformance_setup.py (the generated setup, --offline), conformance_client.py (the
requests), conformance_checks.py (the network checks, --replay), and this one (the verdict, the output, main);
shared with the other tools: http_client.py, envfile.py, sse.py and redaction.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

sys.dont_write_bytecode = True  # the kit's modules leave no __pycache__ in the checkout (CI asserts a clean tree)

from conformance_checks import network_checks, replay
from conformance_setup import ConfigError, Result, load_config, offline_checks
from redaction import redact, redacted

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
REQUEST_TIMEOUT = 60   # seconds per request (a socket that stays silent this long fails the check)
TOTAL_TIMEOUT = 300    # seconds for all network checks; what is left after that fails as "not run"
REPLAY_TIMEOUT = 180   # seconds for the one agentic turn of --replay (3 × --timeout)

# What usually causes each check to fail: printed with the first failing check.
USUAL_CAUSES = {
    "recording": "the recording of what the pinned Claude Code sends is missing: after a version bump, re-record "
                 "it with the template's tests/support/record_claude_code_betas.py and update the template",
    "settings": "client/settings.json is missing or lacks the model pins: regenerate it (copier update)",
    "models": "a pinned model has no model group in gateway/litellm_config.yaml (the names must match exactly)",
    "pins": "a version was bumped in one file but not in the others (a hand edit); set the same versions "
            "everywhere, or take them from a template release (scripts/migrate.sh <pattern> --upgrade)",
    "endpoint": "the base URL in client/settings.json (or GATEWAY_URL / ANTHROPIC_BASE_URL) is not an http(s) URL "
                "without /v1",
    "stream": "the model group is missing in gateway/litellm_config.yaml (HTTP 400 'Invalid model name'), the key is "
              "refused, or the gateway cannot reach its provider (run scripts/check-status.sh)",
    "tool_use": "the gateway or a proxy drops or rewrites tools (a LiteLLM translating to another API format, "
                "drop_params on a provider without tool support)",
    "thinking": "an old LiteLLM (or another hop) drops or rewrites the thinking block's signature, or drops the "
                "`thinking` parameter; upgrade the gateway to the release this template pins",
    "count_tokens": "the gateway does not serve POST /v1/messages/count_tokens for this model (an old LiteLLM), or "
                    "the provider behind it rejects it",
    "betas": "the gateway or provider rejects a beta or a field the pinned Claude Code sends (an old LiteLLM, or an "
             "upstream in its own API format: set CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 in the client settings)",
    "buffering": "a proxy or ingress buffers responses (nginx proxy_buffering, a corporate proxy scanning content); "
                 "or LiteLLM with retries or fallbacks holding the stream's start (see docs/gateway.md)",
    "replay": "the claude CLI could not finish one agentic turn against this endpoint; run it by hand with the same "
              "prompt to see its error",
    "time": "the endpoint is too slow: each request may take up to the --timeout",
}


# ---------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------
def cause_of(result: Result) -> str:
    if "no answer from" in result.detail:  # nothing answered: the route, not the check, is the problem
        return ("nothing answered: the endpoint is down, or a proxy, firewall or TLS setting is in the way "
                "(scripts/check-status.sh checks each hop)")
    return USUAL_CAUSES.get(result.name.split("-")[0], "")


def report(results: list[Result], config: dict, as_json: bool, key: str, next_hop: str = "") -> int:
    """`config["hop"]`: which hops the checks went through (behind the SSO front); `next_hop`: how to check the
    next one alone, named with a failure."""
    failed = [r for r in results if r.status == "FAIL"]
    first = failed[0] if failed else None
    if as_json:  # redacted before encoding: JSON escapes a key holding " or \ (or non-ASCII) past a text search
        print(json.dumps(redacted({
            **config, "passed": not failed,
            "checks": [asdict(r) for r in results],
            "first_failure": {**asdict(first), "usual_cause": cause_of(first),
                              **({"next_hop": next_hop} if next_hop else {})} if first else None}, key), indent=2))
    else:
        for r in results:
            print(redact(f"{r.status:<5} {r.name:<13} {(r.model + ': ') if r.model else ''}{r.detail}", key))
        if config.get("hop"):
            print(f"hop: {config['hop']}")
        if first:
            where = f" ({first.model})" if first.model else ""
            hop = f" (hop: {config['hop']})" if config.get("hop") else ""
            print(redact(f"{len(failed)} of {len(results)} checks failed; first failing check: {first.name}{where}"
                         f"{hop}. Usually: {cause_of(first)}", key))
            if next_hop:
                print(f"Which hop: {next_hop} checks the next one alone; if it passes there, this one is failing.")
        else:
            skipped = sum(r.status == "SKIP" for r in results)
            print(f"all {len(results) - skipped} checks passed" + (f" ({skipped} skipped)" if skipped else ""))
    return EXIT_FAIL if failed else EXIT_PASS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance.sh", add_help=False)
    parser.add_argument("--root", required=True)
    parser.add_argument("--pattern", required=True)
    parser.add_argument("--mode", required=True)  # gateway, or a provider of scripts/conformance/providers.json
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--replay", action="store_true")
    parser.add_argument("--timeout", type=float, default=REQUEST_TIMEOUT)
    parser.add_argument("--total-timeout", type=float, default=TOTAL_TIMEOUT)
    parser.add_argument("--hop", default="")       # the hops checked (behind the SSO front), named in the output
    parser.add_argument("--next-hop", default="")  # how to check the next hop alone, named with a failure
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return EXIT_USAGE
    if args.offline and args.replay:
        print("conformance.sh: --offline and --replay exclude each other", file=sys.stderr)
        return EXIT_USAGE
    if args.timeout <= 0 or args.total_timeout <= 0:
        print("conformance.sh: timeouts must be positive seconds", file=sys.stderr)
        return EXIT_USAGE
    root = Path(args.root)
    key = os.environ.get("CONFORMANCE_KEY", "")
    summary = {"pattern": args.pattern, "mode": "offline" if args.offline else "replay" if args.replay else "network",
               **({"hop": args.hop} if args.hop else {})}
    try:
        if args.offline:
            return report(offline_checks(root, args.pattern, args.mode), summary, args.json, key)
        config = load_config(root, args.pattern, args.mode, need_recording=not args.replay)
        key = config.key or key
        summary.update(claude_code_version=config.version, endpoint=config.base_url, models=config.models)
        if args.replay:
            results = replay(config, args.timeout * REPLAY_TIMEOUT / REQUEST_TIMEOUT)
        else:
            results = network_checks(config, args.timeout, args.total_timeout)
        return report(results, summary, args.json, key, args.next_hop)
    except ConfigError as error:
        print(redact(f"conformance.sh: {error}", key), file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - one redacted line, never a traceback that could show a key
        print(redact(f"conformance.sh: unexpected {type(error).__name__}: {error}", key), file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
