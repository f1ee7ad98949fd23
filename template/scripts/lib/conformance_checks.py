"""conformance_checks.py: the conformance kit's checks against a live endpoint, and --replay.

Each check sends what Claude Code depends on (a stream, tool_use and its tool_result, a signed thinking block
sent back, count_tokens, the recorded betas, an unbuffered stream) and returns one Result; `network_checks` runs
them for each pinned model within the run's time budget. `replay` runs one agentic turn of the real claude CLI.
Standard library only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

from conformance_client import Client, failed_call
from conformance_setup import Config, ConfigError, Result, endpoint_problem, key_variables

MIN_EVENTS = 20        # the buffering check needs a reply of at least this many SSE events to judge
THINKING_BUDGET = 1024  # the smallest budget the Messages API accepts
ECHO_TOOL = {"name": "echo", "description": "Echo the given text back.",
             "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def replayable(content: list[dict]) -> list[dict]:
    """The assistant's content blocks as a client sends them back (empty text blocks are refused by the API)."""
    return [b for b in content if not (b.get("type") == "text" and not b.get("text"))]


def check_stream(client: Client, model: str) -> Result:
    reply = client.stream({"model": model, "max_tokens": 16, "messages": [user("Reply with the word OK.")]})
    if not reply.complete:
        return Result("stream", "FAIL", failed_call("a streamed request", reply, client.config, model), model)
    return Result("stream", "PASS", f"{len(reply.events)} events, message_start … message_stop", model)


def check_tool_use(client: Client, model: str) -> Result:
    body = {"model": model, "max_tokens": 64, "tools": [ECHO_TOOL], "tool_choice": {"type": "any"}}
    messages = [user("Call the echo tool with the text 'conformance'.")]
    first = client.stream({**body, "messages": messages})
    if not first.complete:
        return Result("tool_use", "FAIL", failed_call("a request with a tool", first, client.config, model), model)
    calls = [b for b in first.content if b.get("type") == "tool_use" and b.get("id") and b.get("name")]
    if not calls:
        return Result("tool_use", "FAIL", f"the reply has no tool_use block (stop_reason {first.stop_reason or '?'}, "
                                          f"blocks: {[b.get('type') for b in first.content]})", model)
    messages += [{"role": "assistant", "content": replayable(first.content)},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": calls[0]["id"],
                                               "content": "conformance"}]}]
    second = client.stream({"model": model, "max_tokens": 32, "tools": [ECHO_TOOL], "messages": messages})
    if not second.complete:
        return Result("tool_use", "FAIL", failed_call("the tool_result turn", second, client.config, model), model)
    return Result("tool_use", "PASS", f"tool_use {calls[0]['name']} → tool_result → a reply "
                                      f"(stop_reason {second.stop_reason or '?'})", model)


def check_thinking(client: Client, model: str) -> Result:
    thinking = {"type": "enabled", "budget_tokens": THINKING_BUDGET}
    body = {"model": model, "max_tokens": THINKING_BUDGET + 64, "thinking": thinking}
    messages = [user("What is 17 * 23? Think, then answer with the number only.")]
    first = client.stream({**body, "messages": messages})
    if not first.complete:
        return Result("thinking", "FAIL", failed_call("a request with thinking", first, client.config, model), model)
    blocks = [b for b in first.content if b.get("type") in ("thinking", "redacted_thinking")]
    if not blocks:
        return Result("thinking", "FAIL", "the reply has no thinking block: the `thinking` parameter did not reach "
                                          "the model (dropped on the way?)", model)
    signature = blocks[0].get("signature", "") if blocks[0]["type"] == "thinking" else blocks[0].get("data", "")
    if not signature:
        return Result("thinking", "FAIL", "the thinking block arrived without its signature: a hop dropped it "
                                          "(the next turn would be refused)", model)
    messages += [{"role": "assistant", "content": replayable(first.content)}, user("Thanks. Now reply with OK.")]
    second = client.stream({**body, "messages": messages})
    if not second.complete:
        return Result("thinking", "FAIL", failed_call("the next turn with the signed thinking block", second,
                                                      client.config, model), model)
    return Result("thinking", "PASS", f"a signed thinking block ({len(signature)}-character signature) was "
                                      f"accepted back in the next turn", model)


def check_count_tokens(client: Client, model: str) -> Result:
    reply = client.post("/v1/messages/count_tokens?beta=true",
                        {"model": model, "messages": [user("Count the tokens of this message.")]})
    tokens = reply.data.get("input_tokens") if reply.status == 200 and isinstance(reply.data, dict) else None
    if not isinstance(tokens, int):
        if reply.status == 200:
            return Result("count_tokens", "FAIL", f"answered 200 without input_tokens ({reply.error or reply.data})",
                          model)
        return Result("count_tokens", "FAIL", failed_call("POST /v1/messages/count_tokens", reply, client.config,
                                                          model), model)
    return Result("count_tokens", "PASS", f"{tokens} input tokens", model)


def check_betas(client: Client, model: str, tier: str) -> Result:
    recorded = client.tiers.get(tier) or {}
    betas = recorded.get("betas") or []
    body = {**(recorded.get("body") or {}), "model": model, "max_tokens": 32, "messages": [user("Reply with OK.")]}
    reply = client.stream(body, {"anthropic-beta": ",".join(betas)})
    if not reply.complete:
        return Result("betas", "FAIL", failed_call(f"a request with the {len(betas)} betas Claude Code "
                                                   f"{client.config.version} sends", reply, client.config, model),
                      model)
    fields = ", ".join(sorted(recorded.get("body") or {})) or "none"
    return Result("betas", "PASS", f"{len(betas)} betas of Claude Code {client.config.version} (with its fields: "
                                   f"{fields}) answered 2xx", model)


def check_buffering(client: Client, model: str) -> Result:
    reply = client.stream({"model": model, "max_tokens": 200,
                           "messages": [user("Count from 1 to 40, one number per line, nothing else.")]})
    if not reply.complete:
        return Result("buffering", "FAIL", failed_call("a longer streamed reply", reply, client.config, model), model)
    first, total, count = reply.first_event_at * 1000, reply.last_event_at * 1000, len(reply.events)
    if count < MIN_EVENTS:
        return Result("buffering", "SKIP", f"the reply had {count} events; {MIN_EVENTS} are needed to judge", model)
    if first < total / 2:
        return Result("buffering", "PASS", f"first event after {first:.0f} ms of {total:.0f} ms ({count} events)", model)
    return Result("buffering", "FAIL", f"first event after {first:.0f} ms of {total:.0f} ms ({count} events): the "
                                       f"reply arrived in one piece at its end", model)


def missing_key(config: Config) -> str:
    """What to set when there is no key, in one line."""
    if config.mode == "gateway":
        if (config.root / "scripts" / "init-secrets.sh").is_file():
            return "no key: set LITELLM_MASTER_KEY (or run scripts/init-secrets.sh) or ANTHROPIC_AUTH_TOKEN (a " \
                   "developer key)"
        return "no key: set ANTHROPIC_AUTH_TOKEN (your gateway key)"
    first, *others = key_variables(config.provider) or ["the provider's key variable"]
    return f"no key: set {first}" + "".join(f" (or {name})" for name in others)


def network_checks(config: Config, timeout: float, total: float) -> list[Result]:
    if config.provider.get("signs_requests"):
        raise ConfigError(f"{config.mode} direct is not supported by the kit's network checks (Claude Code signs "
                          f"those requests itself): use --replay, or --offline")
    if problem := endpoint_problem(config.base_url):
        raise ConfigError(f"the endpoint {problem}")
    if not config.key:
        raise ConfigError(missing_key(config))
    missing = [t for t, m in config.models.items() if not m]
    if missing:
        raise ConfigError(f"client/settings.json pins no {', '.join(missing)} model")
    client = Client(config, timeout)
    deadline = time.monotonic() + total
    client.run_deadline = deadline
    results: list[Result] = []

    def run(name: str, model: str, check, *args) -> Result:
        if time.monotonic() > deadline:
            result = Result(name, "FAIL", f"not run: the {total:.0f} s time budget is used up", model)
        else:
            result = check(client, model, *args)
        results.append(result)
        return result

    tested: set[str] = set()
    for tier, model in config.models.items():
        if model in tested:
            continue
        tested.add(model)
        if run("stream", model, check_stream).status != "PASS":
            results += [Result(name, "SKIP", "not run: the streamed request failed", model)
                        for name in ("tool_use", "thinking", "count_tokens", "betas")]
            continue
        run("tool_use", model, check_tool_use)
        run("thinking", model, check_thinking)
        run("count_tokens", model, check_count_tokens)
        run("betas", model, check_betas, tier)
    run("buffering", config.models["haiku"], check_buffering)
    return results


# ---------------------------------------------------------------------------------------------------------------
# --replay: one agentic turn of the real claude CLI
# ---------------------------------------------------------------------------------------------------------------
def replay(config: Config, timeout: float) -> list[Result]:
    claude = os.environ.get("CLAUDE_BIN") or shutil.which("claude")
    if not claude:
        raise ConfigError("--replay needs the claude CLI: it is not in PATH (or set CLAUDE_BIN)")
    marker = f"conformance-{secrets.token_hex(4)}"
    env = dict(os.environ)
    for name, value in config.settings_env.items():
        env.setdefault(name, value)
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    if config.mode == "gateway":
        if not config.key:
            raise ConfigError("no key: set LITELLM_MASTER_KEY (or run scripts/init-secrets.sh) or ANTHROPIC_AUTH_TOKEN")
        env.update(ANTHROPIC_BASE_URL=config.base_url, ANTHROPIC_AUTH_TOKEN=config.key, ANTHROPIC_API_KEY="")
    elif config.base_url and not config.provider.get("resource_var"):
        # The endpoint the checks use (a provider whose endpoint may be named by a resource instead is left as its
        # settings name it: Claude Code refuses both variables at once).
        env[config.provider["base_url_var"]] = config.base_url
    env.pop("CONFORMANCE_KEY", None)
    prompt = f"Run `echo {marker}` with the Bash tool, then reply with its output only."
    command = [claude, "-p", prompt, "--allowedTools", "Bash(echo:*)", "--output-format", "stream-json", "--verbose"]
    with tempfile.TemporaryDirectory(prefix="conformance-replay-") as workdir:
        try:
            run = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout,
                                 stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            return [Result("replay", "FAIL", f"claude -p did not finish within {timeout:.0f} s")]
    events = []
    for line in run.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except (ValueError, RecursionError):
            continue
    ran = any(block.get("type") == "tool_result" and marker in json.dumps(block.get("content"))
              and not block.get("is_error")
              for event in events if event.get("type") == "user"
              for block in ((event.get("message") or {}).get("content") or []) if isinstance(block, dict))
    final = next((e for e in events if e.get("type") == "result"), {})
    results = [Result("replay-tool", "PASS" if ran else "FAIL",
                      f"the Bash tool ran `echo {marker}` and its output went back to the model" if ran else
                      f"no successful Bash tool_result with {marker} (claude exited {run.returncode}: "
                      f"{(run.stderr.strip() or final.get('result') or '')[:200]})")]
    answered = final.get("subtype") == "success" and not final.get("is_error") and bool(final.get("result"))
    results.append(Result("replay-answer", "PASS" if answered else "FAIL",
                          f"a final answer arrived: {str(final.get('result'))[:80]!r}" if answered else
                          f"no final answer (claude exited {run.returncode}; result: "
                          f"{str(final.get('result') or final.get('subtype') or run.stderr.strip())[:200]})"))
    return results
