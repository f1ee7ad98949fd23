"""conformance.py: the conformance kit behind scripts/conformance.sh (read its header for what is checked).

Standard library only. Sends Claude-Code-shaped requests (POST /v1/messages?beta=true with the headers the pinned
CLI sends, recorded in scripts/conformance/claude-code-<version>.json) to each model pinned in client/settings.json,
through the gateway (Patterns C/D) or to the provider (A/B; through HTTPS_PROXY when set), and checks what Claude
Code depends on. One line per check, or --json. The key comes from the environment (CONFORMANCE_KEY, set by the
shell entry point, or the provider's own variable) and is never printed: every detail passes `redact`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import envfile  # scripts/lib/envfile.py: the one reading of .env files, the same as common.sh's
import http_client  # scripts/lib/http_client.py: never follows a redirect; one deadline bounds every byte

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
TIERS = ("opus", "sonnet", "haiku")
REQUEST_TIMEOUT = 60   # seconds per request (a socket that stays silent this long fails the check)
TOTAL_TIMEOUT = 300    # seconds for all network checks; what is left after that fails as "not run"
REPLAY_TIMEOUT = 180   # seconds for the one agentic turn of --replay (3 × --timeout)
MIN_EVENTS = 20        # the buffering check needs a reply of at least this many SSE events to judge
MAX_LINE = 1 << 20      # bytes of one SSE line, and of a non-streamed body (MAX_BODY): a bounded read
MAX_BODY = 4 << 20
THINKING_BUDGET = 1024  # the smallest budget the Messages API accepts
PUBLIC_ANTHROPIC = "https://api.anthropic.com"
ECHO_TOOL = {"name": "echo", "description": "Echo the given text back.",
             "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}
_SECRET = re.compile(r"(?<![A-Za-z0-9])(sk-[A-Za-z0-9_-]{6,}|AKIA[A-Z0-9]{12,})")
_USERINFO = re.compile(r"[^\s/:'\"@]+:[^\s/@'\"]+@")  # user:password@ in a (proxy) URL, even a malformed one
# What a broken endpoint or hop can raise besides http_client.ClientError (which wraps what it knows): a header
# value http.client refuses, a stream cut mid-chunk. Each becomes a failed check, not a traceback.
TRANSPORT_ERRORS = (http_client.ClientError, OSError, ValueError, http.client.HTTPException)

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
    "betas": "the gateway or provider rejects a beta or a field the pinned Claude Code sends (an old LiteLLM, or a "
             "Bedrock/Vertex upstream: set CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1 in the client settings)",
    "buffering": "a proxy or ingress buffers responses (nginx proxy_buffering, a corporate proxy scanning content); "
                 "or LiteLLM with retries or fallbacks holding the stream's start (see the README)",
    "replay": "the claude CLI could not finish one agentic turn against this endpoint; run it by hand with the same "
              "prompt to see its error",
    "time": "the endpoint is too slow: each request may take up to the --timeout",
}


class ConfigError(Exception):
    """A setup the kit cannot run against (exit 2); the message is one line."""


@dataclass
class Result:
    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str
    model: str = ""


@dataclass
class Config:
    root: Path
    pattern: str
    mode: str  # gateway, anthropic, foundry, bedrock or vertex
    settings_env: dict[str, str]
    models: dict[str, str]  # tier -> pinned id
    version: str = ""
    version_source: str = ""
    recording_file: Path | None = None
    recording: dict = field(default_factory=dict)
    base_url: str = ""
    key: str = ""
    key_header: str = "authorization"  # or x-api-key


def redact(text: str, key: str = "") -> str:
    """`text` with the key and anything shaped like a key replaced."""
    if key:
        text = text.replace(key, "***")
    return _USERINFO.sub("***@", _SECRET.sub("***", text))


# ---------------------------------------------------------------------------------------------------------------
# The generated setup: settings, pinned version, recording, endpoint, key
# ---------------------------------------------------------------------------------------------------------------
def read_settings_env(root: Path) -> dict[str, str]:
    path = root / "client" / "settings.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {path.relative_to(root)}: {error}") from None
    env = data.get("env") if isinstance(data, dict) else None
    if not isinstance(env, dict):
        raise ConfigError("client/settings.json has no \"env\" object")
    return {str(k): str(v) for k, v in env.items()}


def model_pins(settings_env: dict[str, str]) -> dict[str, str]:
    return {tier: settings_env.get(f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL", "") for tier in TIERS}


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def recorded_versions(root: Path) -> list[str]:
    found = [m.group(1) for p in (root / "scripts" / "conformance").glob("claude-code-*.json")
             if (m := re.fullmatch(r"claude-code-(\d+(?:\.\d+)*)\.json", p.name))]
    return sorted(found, key=version_key)


def read_versions_env(root: Path) -> dict[str, str] | None:
    """versions.env's non-empty values, read as every script reads a .env file (envfile.py); None when there is no
    such file."""
    pins = envfile.read(root / "versions.env")
    return None if pins is None else {name: value for name, value in pins.items() if value}


def pinned_version(root: Path) -> tuple[str, str]:
    """(version, where it came from): CLAUDE_CODE_VERSION in versions.env, else the newest recording."""
    pins = read_versions_env(root)
    if pins is not None:
        version = pins.get("CLAUDE_CODE_VERSION")
        if version and not re.fullmatch(r"\d+(\.\d+)*", version):
            raise ConfigError(f"versions.env: CLAUDE_CODE_VERSION={version!r} is not a version such as 2.1.332")
        if version:
            return version, "versions.env"
        raise ConfigError("versions.env has no CLAUDE_CODE_VERSION=<version> line")
    versions = recorded_versions(root)
    if not versions:
        raise ConfigError("no versions.env and no scripts/conformance/claude-code-<version>.json")
    return versions[-1], "the newest recording, as there is no versions.env"


def load_recording(path: Path) -> dict:
    """The recording, checked: a version, the request path, headers and betas for every tier."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError(f"{path.name} is missing") from None
    except ValueError as error:
        raise ConfigError(f"{path.name} is not valid JSON ({error})") from None
    for variant in ("tiers", "tiers_without_experimental_betas"):
        tiers = data.get(variant) if isinstance(data, dict) else None
        if not isinstance(tiers, dict) or any(not isinstance((tiers.get(t) or {}).get("betas"), list) for t in TIERS):
            raise ConfigError(f"{path.name} lacks the beta lists of {variant} for opus, sonnet and haiku")
    if not isinstance(data.get("headers"), dict) or not str(data.get("request_path", "")).startswith("/"):
        raise ConfigError(f"{path.name} lacks the recorded headers or request path")
    return data


def gateway_model_groups(root: Path) -> list[str] | None:
    """The model_name entries of gateway/litellm_config.yaml and its .local include; None without a gateway here."""
    config = root / "gateway" / "litellm_config.yaml"
    if not config.is_file():
        return None
    names: list[str] = []
    for path in (config, root / "gateway" / "litellm_config.local.yaml"):
        if path.is_file():
            names += [m.group(1).strip("'\"") for m in
                      re.finditer(r"^\s*-?\s*model_name:\s*(\S+)", path.read_text(encoding="utf-8"), re.MULTILINE)]
    return names


def endpoint(mode: str, settings_env: dict[str, str]) -> tuple[str, str, str]:
    """(base URL, key, key header) for `mode`, from the environment over the generated client settings."""
    env = os.environ
    if mode == "gateway":
        url = env.get("GATEWAY_URL") or settings_env.get("ANTHROPIC_BASE_URL", "")
        return url, env.get("CONFORMANCE_KEY", ""), "authorization"
    if mode == "anthropic":
        url = env.get("ANTHROPIC_BASE_URL") or settings_env.get("ANTHROPIC_BASE_URL") or PUBLIC_ANTHROPIC
        if env.get("ANTHROPIC_API_KEY"):
            return url, env["ANTHROPIC_API_KEY"], "x-api-key"
        return url, env.get("ANTHROPIC_AUTH_TOKEN", ""), "authorization"
    if mode == "foundry":
        url = env.get("ANTHROPIC_FOUNDRY_BASE_URL") or settings_env.get("ANTHROPIC_FOUNDRY_BASE_URL", "")
        resource = env.get("ANTHROPIC_FOUNDRY_RESOURCE") or settings_env.get("ANTHROPIC_FOUNDRY_RESOURCE", "")
        if not url and resource:
            url = f"https://{resource}.services.ai.azure.com/anthropic"
        return url, env.get("ANTHROPIC_FOUNDRY_API_KEY", ""), "x-api-key"
    return "", "", ""


def endpoint_problem(url: str) -> str:
    if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", url or ""):
        return f"'{url}' is not an http(s) URL"
    if url.rstrip("/").endswith("/v1"):
        return f"'{url}' ends in /v1; Claude Code adds /v1 itself"
    return ""


def load_config(root: Path, pattern: str, mode: str, need_recording: bool = True) -> Config:
    settings_env = read_settings_env(root)
    config = Config(root, pattern, mode, settings_env, model_pins(settings_env))
    config.version, config.version_source = pinned_version(root)
    config.recording_file = root / "scripts" / "conformance" / f"claude-code-{config.version}.json"
    if need_recording:
        config.recording = load_recording(config.recording_file)
    config.base_url, config.key, config.key_header = endpoint(mode, settings_env)
    config.base_url = config.base_url.rstrip("/")
    if config.key and not re.fullmatch(r"[\x21-\x7e]+", config.key):
        # A CR from a file saved on Windows, a space, a non-ASCII character: no HTTP header can carry it as is.
        raise ConfigError("the key has a space, a control character (a trailing CR?) or a non-ASCII character; "
                          "set it again without them")
    return config


# ---------------------------------------------------------------------------------------------------------------
# --offline: the generated setup is consistent (no network)
# ---------------------------------------------------------------------------------------------------------------
def offline_checks(root: Path, pattern: str, mode: str) -> list[Result]:
    results: list[Result] = []
    try:
        version, source = pinned_version(root)
        path = root / "scripts" / "conformance" / f"claude-code-{version}.json"
        recording = load_recording(path)
        if recording.get("claude_code_version") != version:
            raise ConfigError(f"{path.name} records Claude Code {recording.get('claude_code_version')}, not {version}")
        results.append(Result("recording", "PASS", f"scripts/conformance/{path.name} for Claude Code {version} "
                                                   f"(from {source}) parses, with betas for {', '.join(TIERS)}"))
    except ConfigError as error:
        results.append(Result("recording", "FAIL", str(error)))
    try:
        settings_env = read_settings_env(root)
    except ConfigError as error:
        return [*results, Result("settings", "FAIL", str(error))]
    pins = model_pins(settings_env)
    missing = [t for t, model in pins.items() if not model]
    if missing:
        results.append(Result("settings", "FAIL", f"client/settings.json pins no {', '.join(missing)} model "
                                                  f"(ANTHROPIC_DEFAULT_<TIER>_MODEL)"))
    else:
        results.append(Result("settings", "PASS", "client/settings.json pins " +
                              ", ".join(f"{t}={m}" for t, m in pins.items())))
    groups = gateway_model_groups(root)
    if groups is None:
        results.append(Result("models", "SKIP", "no gateway/litellm_config.yaml here to compare the pins with"))
    else:
        unknown = [m for m in dict.fromkeys(pins.values()) if m and m not in groups]
        if unknown:
            results.append(Result("models", "FAIL", f"no model group in gateway/litellm_config.yaml for "
                                                    f"{', '.join(unknown)}"))
        else:
            results.append(Result("models", "PASS", "every pinned model has a model group in "
                                                    "gateway/litellm_config.yaml"))
    results.append(pins_check(root))
    if mode in ("bedrock", "vertex"):
        results.append(Result("endpoint", "SKIP", f"{mode} direct: the network checks need --replay"))
    else:
        url = endpoint(mode, settings_env)[0]
        problem = endpoint_problem(url)
        results.append(Result("endpoint", "FAIL" if problem else "PASS", problem or f"{url}"))
    return results


LITELLM_PIP = re.compile(r"^\s*litellm(?:\[[^\]]*\])?==(\S+)", re.MULTILINE)
LITELLM_IMAGE_REF = re.compile(r"image:\s*[\"']?(ghcr\.io/berriai/litellm[\w.-]*:v?([\w.-]+))")


def pins_check(root: Path) -> Result:
    """versions.env against the files that use the same versions: a pair bumped by hand in one place only is caught
    here, before a client and a gateway of different pairs meet."""
    pins = read_versions_env(root)
    if pins is None:
        return Result("pins", "SKIP", "no versions.env here")
    disagree = []
    litellm = pins.get("LITELLM_VERSION")
    gateway = root / "gateway"
    if litellm:
        requirements = gateway / "requirements.txt"
        if requirements.is_file():
            found = LITELLM_PIP.findall(requirements.read_text(encoding="utf-8"))
            if found and any(v != litellm for v in found):
                disagree.append(f"gateway/requirements.txt pins litellm {', '.join(found)}")
        manifests = [gateway / "docker-compose.yml", *sorted((gateway / "kubernetes").glob("*.yaml"))]
        for path in (p for p in manifests if p.is_file()):
            refs = LITELLM_IMAGE_REF.findall(path.read_text(encoding="utf-8"))
            wrong = sorted({ref for ref, tag in refs if tag != litellm})
            if wrong:
                disagree.append(f"{path.relative_to(root)} runs {', '.join(wrong)}")
            image = pins.get("LITELLM_IMAGE")
            if image and refs and image not in {ref for ref, _ in refs}:
                disagree.append(f"{path.relative_to(root)} does not run LITELLM_IMAGE {image}")
    managed = root / "client" / "managed-settings.json"
    if managed.is_file() and pins.get("CLAUDE_CODE_VERSION"):
        try:
            cap = json.loads(managed.read_text(encoding="utf-8")).get("requiredMaximumVersion")
        except (ValueError, AttributeError):
            cap = None
        if cap and cap != pins["CLAUDE_CODE_VERSION"]:
            disagree.append(f"client/managed-settings.json caps Claude Code at {cap}")
    shown = ", ".join(f"{k}={v}" for k, v in pins.items() if k != "LITELLM_IMAGE")
    if disagree:
        return Result("pins", "FAIL", f"versions.env says {shown}, but " + "; ".join(disagree) +
                      "; bump every file together (README: Versions and upgrades)")
    return Result("pins", "PASS", f"versions.env ({shown}) agrees with the files that use it")


# ---------------------------------------------------------------------------------------------------------------
# The network: Claude-Code-shaped requests
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int  # 0: nothing answered
    error: str = ""  # the error message of a non-2xx answer, or why nothing answered
    events: list[str] = field(default_factory=list)
    first_event_at: float = 0.0  # seconds after the request was sent
    last_event_at: float = 0.0
    content: list[dict] = field(default_factory=list)
    stop_reason: str = ""
    stream_error: str = ""
    data: Any = None  # the JSON body of a non-streamed answer

    @property
    def complete(self) -> bool:
        return (self.status == 200 and bool(self.events) and self.events[0] == "message_start"
                and self.events[-1] == "message_stop" and not self.stream_error)


def _error_message(raw: str) -> str:
    try:
        data = json.loads(raw)
        error = data.get("error", data)
        message = error.get("message", raw) if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        message = raw
    return " ".join(str(message).split())[:300]


def ssl_context(settings_env: dict[str, str]) -> ssl.SSLContext:
    """The public roots plus NODE_EXTRA_CA_CERTS (the corporate CA), as Node and so Claude Code trusts them."""
    context = ssl.create_default_context()
    extra = os.environ.get("NODE_EXTRA_CA_CERTS") or settings_env.get("NODE_EXTRA_CA_CERTS", "")
    if extra and Path(extra).is_file():
        context.load_verify_locations(cafile=extra)
    return context


class Client:
    """Requests go through http_client: a redirect is never followed (urllib would follow it as a GET and send the
    key along to whatever host it names; it fails the check instead, naming where it pointed), and one deadline
    per request, within the run's budget, bounds connecting, the status line, the headers and every read."""

    def __init__(self, config: Config, timeout: float):
        self.config, self.timeout = config, timeout
        self.run_deadline = float("inf")  # network_checks sets the run's budget
        # The proxy Claude Code would use: the environment's, else the generated client settings' (http_client
        # reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the environment, as urllib does).
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"):
            if not os.environ.get(name) and not os.environ.get(name.lower()) and config.settings_env.get(name):
                os.environ[name] = config.settings_env[name]
        self.context = ssl_context(config.settings_env)
        recording = config.recording
        self.headers = {**recording.get("headers", {}), "content-type": "application/json"}
        if config.key:
            self.headers[config.key_header] = (f"Bearer {config.key}" if config.key_header == "authorization"
                                               else config.key)
        experimental_off = config.settings_env.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS") == "1" or \
            os.environ.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS") == "1"
        self.tiers = recording.get("tiers_without_experimental_betas" if experimental_off else "tiers", {})
        self.messages_path = recording.get("request_path", "/v1/messages?beta=true")

    def _open(self, path: str, body: dict, deadline: float, extra_headers: dict | None = None):
        return http_client.request("POST", self.config.base_url + path, headers={**self.headers, **(extra_headers or {})},
                                   body=json.dumps(body).encode(), deadline=deadline, read_timeout=self.timeout,
                                   context=self.context, max_bytes=MAX_BODY)

    def _deadline(self, sent: float) -> float:
        """When this request must be over: --timeout after it was sent, and never past the run's budget (a stream
        of keep-alive pings, or a server dripping a byte a second, would otherwise never end)."""
        return min(sent + self.timeout, self.run_deadline)

    @staticmethod
    def _refused(response) -> Reply | None:
        """A Reply for an answer that is not 2xx (a redirect: never followed), else None."""
        if 300 <= response.status < 400:
            return Reply(response.status, http_client.redirect_note(response.headers.get("Location")))
        if 200 <= response.status < 300:
            return None
        try:
            return Reply(response.status, _error_message(response.read(http_client.MAX_ERROR_BYTES).decode(
                "utf-8", "replace")))
        except TRANSPORT_ERRORS:
            return Reply(response.status, "(the error body could not be read)")

    @staticmethod
    def _no_answer(error: BaseException) -> Reply:
        return Reply(0, str(error) if isinstance(error, http_client.ClientError) else f"{type(error).__name__}: {error}")

    def post(self, path: str, body: dict) -> Reply:
        """A non-streamed call; the JSON answer in `data`."""
        deadline = self._deadline(time.monotonic())
        try:
            with self._open(path, body, deadline) as response:
                if refused := self._refused(response):
                    return refused
                raw = response.read().decode("utf-8", "replace")
                try:
                    return Reply(response.status, data=json.loads(raw))
                except (ValueError, RecursionError):
                    return Reply(response.status, error=f"the answer is not JSON: {raw[:100]}")
        except TRANSPORT_ERRORS as error:
            return self._no_answer(error)

    def stream(self, body: dict, extra_headers: dict | None = None) -> Reply:
        """A streamed Messages call as Claude Code makes it: the SSE events, when they arrived, and the content
        blocks put together as an SDK does."""
        body = {**body, "stream": True}
        sent = time.monotonic()
        deadline = self._deadline(sent)
        try:
            response = self._open(self.messages_path, body, deadline, extra_headers)
        except TRANSPORT_ERRORS as error:
            return self._no_answer(error)
        with response:
            if refused := self._refused(response):
                return refused
            return self._events(response, Reply(response.status), sent, deadline)

    def _events(self, response, reply: Reply, sent: float, deadline: float) -> Reply:
        blocks: dict[int, dict] = {}
        partial: dict[int, str] = {}
        late = (f"the stream did not end within {self.timeout:.0f} s (or the run's time budget): "
                "{} events")
        try:
            name, data = "", []
            while True:
                if time.monotonic() > deadline:
                    reply.stream_error = late.format(len(reply.events))
                    break
                line = response.readline(MAX_LINE)
                now = time.monotonic() - sent
                if line and not reply.first_event_at:
                    reply.first_event_at = now
                if line.strip() and not line.startswith(b":"):
                    field_name, _, value = line.decode("utf-8", "replace").rstrip("\r\n").partition(":")
                    value = value.removeprefix(" ")
                    if field_name == "event":
                        name = value
                    elif field_name == "data":
                        data.append(value)
                    continue
                if name or data:  # a blank line (or the end) completes an event
                    try:
                        self._event(reply, name, "\n".join(data), blocks, partial)
                    except (AttributeError, TypeError, ValueError, RecursionError):
                        reply.events.append(name or "?")
                        reply.stream_error = reply.stream_error or f"a malformed {name or 'SSE'} event"
                    reply.last_event_at = now
                    name, data = "", []
                if not line:
                    break
        except http_client.ClientError as error:
            reply.stream_error = reply.stream_error or (late.format(len(reply.events)) if error.timed_out
                                                        else f"the stream {str(error).replace('the answer ', '')}")
        except TRANSPORT_ERRORS as error:
            reply.stream_error = reply.stream_error or f"the stream broke off: {type(error).__name__}: {error}"
        reply.content = [blocks[i] for i in sorted(blocks)]
        return reply

    @staticmethod
    def _event(reply: Reply, name: str, raw: str, blocks: dict[int, dict], partial: dict[int, str]) -> None:
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):  # `data: null` or a bare value: nothing to put together
            data = {}
        name = name or str(data.get("type", ""))
        reply.events.append(name)
        index = data.get("index", 0)
        if name == "content_block_start":
            blocks[index] = dict(data.get("content_block") or {})
        elif name == "content_block_delta" and index in blocks:
            delta, block = data.get("delta") or {}, blocks[index]
            kind = delta.get("type")
            if kind == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif kind == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            elif kind == "signature_delta":
                block["signature"] = delta.get("signature", "")
            elif kind == "input_json_delta":
                partial[index] = partial.get(index, "") + delta.get("partial_json", "")
        elif name == "content_block_stop" and index in blocks and index in partial:
            try:
                blocks[index]["input"] = json.loads(partial[index] or "{}")
            except ValueError:
                blocks[index]["input"] = {}
        elif name == "message_delta":
            reply.stop_reason = (data.get("delta") or {}).get("stop_reason") or ""
        elif name == "error":
            reply.stream_error = "error event: " + _error_message(raw)


def failed_call(what: str, reply: Reply, config: Config, model: str) -> str:
    """Why a call failed, in one line, with what that answer usually means."""
    if reply.status == 0:
        where = "the gateway" if config.mode == "gateway" else "the provider"
        return f"{what}: no answer from {config.base_url} ({reply.error}); is {where} running and reachable " \
               f"(HTTPS_PROXY, NO_PROXY, NODE_EXTRA_CA_CERTS)?"
    if reply.status != 200:
        text = f"{what} answered HTTP {reply.status}: {reply.error}"
        lowered = reply.error.lower()
        if reply.status in (401, 403):
            return text + "; the key was refused (" + (
                "LITELLM_MASTER_KEY, gateway/.env or ANTHROPIC_AUTH_TOKEN" if config.mode == "gateway"
                else "ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN") + ")"
        if "model" in lowered and any(s in lowered for s in ("invalid model name", "model_not_found", "not found",
                                                              "no deployments", "does not exist")):
            if config.mode == "gateway":
                return text + f"; the gateway has no model group named {model}: add it to gateway/litellm_config.yaml"
            return text + f"; the provider does not know the model id {model}: fix the pin in client/settings.json"
        return text
    if reply.stream_error:
        return f"{what}: {reply.stream_error}"
    if not reply.events:
        return f"{what} answered 200 without server-sent events (a non-streamed answer to a streamed request)"
    return f"{what}: the stream {'did not start with message_start' if reply.events[0] != 'message_start' else ''}" \
           f"{'ended without message_stop' if reply.events[-1] != 'message_stop' else ''} " \
           f"({len(reply.events)} events)"


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


def network_checks(config: Config, timeout: float, total: float) -> list[Result]:
    if config.mode in ("bedrock", "vertex"):
        raise ConfigError(f"{config.mode} direct is not supported by the kit's network checks (Claude Code signs "
                          f"those requests itself): use --replay, or --offline")
    if problem := endpoint_problem(config.base_url):
        raise ConfigError(f"the endpoint {problem}")
    if not config.key:
        raise ConfigError({"gateway": "no key: set LITELLM_MASTER_KEY (or run scripts/init-secrets.sh) or "
                                      "ANTHROPIC_AUTH_TOKEN (a developer key)"
                                      if (config.root / "scripts" / "init-secrets.sh").is_file() else
                                      "no key: set ANTHROPIC_AUTH_TOKEN (your gateway key)",
                           "anthropic": "no key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)",
                           "foundry": "no key: set ANTHROPIC_FOUNDRY_API_KEY"}[config.mode])
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
    elif config.mode == "anthropic" and config.base_url:
        env["ANTHROPIC_BASE_URL"] = config.base_url
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
        except ValueError:
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


# ---------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------
def cause_of(result: Result) -> str:
    if "no answer from" in result.detail:  # nothing answered: the route, not the check, is the problem
        return ("nothing answered: the endpoint is down, or a proxy, firewall or TLS setting is in the way "
                "(scripts/check-status.sh checks each hop)")
    return USUAL_CAUSES.get(result.name.split("-")[0], "")


def _redacted(value: Any, key: str) -> Any:
    """`value` with every text in it (keys of objects too) redacted."""
    if isinstance(value, str):
        return redact(value, key)
    if isinstance(value, dict):
        return {_redacted(str(name), key): _redacted(item, key) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(item, key) for item in value]
    return value


def report(results: list[Result], config: dict, as_json: bool, key: str) -> int:
    failed = [r for r in results if r.status == "FAIL"]
    first = failed[0] if failed else None
    if as_json:  # redacted before encoding: JSON escapes a key holding " or \ (or non-ASCII) past a text search
        print(json.dumps(_redacted({
            **config, "passed": not failed,
            "checks": [asdict(r) for r in results],
            "first_failure": {**asdict(first), "usual_cause": cause_of(first)} if first else None}, key), indent=2))
    else:
        for r in results:
            print(redact(f"{r.status:<5} {r.name:<13} {(r.model + ': ') if r.model else ''}{r.detail}", key))
        if first:
            where = f" ({first.model})" if first.model else ""
            print(redact(f"{len(failed)} of {len(results)} checks failed; first failing check: {first.name}{where}. "
                         f"Usually: {cause_of(first)}", key))
        else:
            skipped = sum(r.status == "SKIP" for r in results)
            print(f"all {len(results) - skipped} checks passed" + (f" ({skipped} skipped)" if skipped else ""))
    return EXIT_FAIL if failed else EXIT_PASS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conformance.sh", add_help=False)
    parser.add_argument("--root", required=True)
    parser.add_argument("--pattern", required=True)
    parser.add_argument("--mode", required=True, choices=("gateway", "anthropic", "bedrock", "vertex", "foundry"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--replay", action="store_true")
    parser.add_argument("--timeout", type=float, default=REQUEST_TIMEOUT)
    parser.add_argument("--total-timeout", type=float, default=TOTAL_TIMEOUT)
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
    summary = {"pattern": args.pattern, "mode": "offline" if args.offline else "replay" if args.replay else "network"}
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
        return report(results, summary, args.json, key)
    except ConfigError as error:
        print(redact(f"conformance.sh: {error}", key), file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - one redacted line, never a traceback that could show a key
        print(redact(f"conformance.sh: unexpected {type(error).__name__}: {error}", key), file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
