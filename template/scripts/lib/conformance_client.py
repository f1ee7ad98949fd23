"""conformance_client.py: the conformance kit's HTTP client: Claude-Code-shaped requests and their replies.

Requests go through http_client.py (never a redirect followed, one deadline per request); streamed replies are
read with sse.py and put together as an SDK does (text, thinking and its signature, tool_use input). Standard
library only.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import http_client  # scripts/lib/http_client.py: never follows a redirect; one deadline bounds every byte
import sse  # scripts/lib/sse.py: the one reader of server-sent events
from conformance_setup import Config, key_variables

MAX_LINE = sse.MAX_LINE  # bytes of one SSE line, and of a non-streamed body (MAX_BODY): a bounded read
MAX_BODY = 4 << 20
# What a broken endpoint or hop can raise besides http_client.ClientError (which wraps what it knows): a header
# value http.client refuses, a stream cut mid-chunk. Each becomes a failed check, not a traceback.
TRANSPORT_ERRORS = (http_client.ClientError, OSError, ValueError, http.client.HTTPException)


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
    except (ValueError, AttributeError, RecursionError):  # RecursionError: nesting deeper than json can read
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
        route = config.route  # what Claude Code sends on this route (the provider's, or towards the gateway)
        self.headers = {**route.get("headers", {}), "content-type": "application/json"}
        if config.key:
            self.headers[config.key_header] = (f"Bearer {config.key}" if config.key_header == "authorization"
                                               else config.key)
        experimental_off = config.settings_env.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS") == "1" or \
            os.environ.get("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS") == "1"
        self.tiers = route.get("tiers_without_experimental_betas" if experimental_off else "tiers", {})
        self.messages_path = route.get("request_path", "/v1/messages?beta=true")

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
        reader = sse.EventReader(response.readline, sent, deadline, MAX_LINE)
        try:
            for event in reader:
                try:
                    self._event(reply, event.name, event.data, blocks, partial)
                except (AttributeError, TypeError, ValueError, RecursionError):
                    reply.events.append(event.name or "?")
                    reply.stream_error = reply.stream_error or f"a malformed {event.name or 'SSE'} event"
                reply.last_event_at = event.at
            if reader.timed_out:
                reply.stream_error = late.format(len(reply.events))
        except http_client.ClientError as error:
            reply.stream_error = reply.stream_error or (late.format(len(reply.events)) if error.timed_out
                                                        else f"the stream {str(error).replace('the answer ', '')}")
        except TRANSPORT_ERRORS as error:
            reply.stream_error = reply.stream_error or f"the stream broke off: {type(error).__name__}: {error}"
        reply.first_event_at = reader.first_line_at
        reply.content = [blocks[i] for i in sorted(blocks)]
        return reply

    @staticmethod
    def _event(reply: Reply, name: str, raw: str, blocks: dict[int, dict], partial: dict[int, str]) -> None:
        try:
            data = json.loads(raw) if raw else {}
        except (ValueError, RecursionError):
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
            except (ValueError, RecursionError):
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
                else " or ".join(key_variables(config.provider))) + ")"
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
