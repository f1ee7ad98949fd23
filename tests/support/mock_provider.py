"""A loopback stand-in for the LLM provider: the Anthropic Messages API, and the Bedrock and Vertex AI request
paths Claude Code uses for the same API (Bedrock answers in AWS's binary event-stream framing), and Microsoft
Foundry's (the Messages API under /anthropic).

Only the provider is mocked in this test suite; everything the generated files configure (the Claude
Code CLI, LiteLLM, proxies) is the real program. The mock records every request so tests can assert on
what the client actually sent (path, auth header, model id).

Agentic replies (opt in with `agentic=True`, for the conformance kit and the real CLI's agentic turn): a request
that asks for thinking gets a thinking block with a signature first; a request with tools whose latest user turn
has no `tool_result` gets a `tool_use` (Bash when offered: the first `echo ...` command quoted in backticks in the
prompt, else `echo mock-tool-ran`); a `tool_result` turn gets the text reply. Thinking blocks sent back are checked
against the signatures issued (HTTP 400 for an unknown or missing one, as the Anthropic API answers). Failure modes
for the kit's broken setups, one per check: `hold_stream` (buffering), `drop_tools` (tool_use), `drop_signature`
(thinking), `reject_count_tokens` (count_tokens), `reject_beta` (betas), and an unknown model for `stream` (a missing
model group, set up in the gateway's config by the test). `stream_gate` holds streams open until the test says.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import struct
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

DEFAULT_REPLY = "mock-provider-says-hello"
STREAM_GATE_GUARD = 120  # seconds a gated stream waits at most (a hang guard)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None


@dataclass
class MockProvider:
    """A running mock; `url` is the base URL to configure (no `/v1`)."""

    host: str
    port: int
    reply: str
    tls: bool = False
    requests: list[RecordedRequest] = field(default_factory=list)
    # Added to every reply's usage, e.g. {"cache_read_input_tokens": 100}: what Anthropic reports for prompt caching.
    extra_usage: dict = field(default_factory=dict)
    # Seconds between streamed events: a reply that takes a while, as a long Claude Code turn does.
    event_delay: float = 0.0
    # time.monotonic() right after each streamed event of the latest stream was written and flushed (in order):
    # what a test compares with the moment its client received an event.
    event_times: list[float] = field(default_factory=list)
    # Failures for the next Messages calls, one per call, in order: "http" answers HTTP 529 overloaded_error;
    # "stream" opens the stream (message_start) and then sends an overloaded_error event, before any content.
    failures: list[str] = field(default_factory=list)
    # Agentic replies (see the module docstring). Text replies come in `text_deltas` content deltas, at most one per
    # 8 tokens of the request's max_tokens (a reply is as long as the request allows).
    agentic: bool = False
    text_deltas: int = 1
    # Failure modes: thinking blocks without their signature (as a hop that drops it); count_tokens answered with
    # HTTP 400; every stream held back and written at once at its end (as a buffering hop delivers it).
    drop_signature: bool = False
    reject_count_tokens: bool = False
    hold_stream: bool = False
    # A hop that drops `tools` from the request (the model answers in text, no tool_use), and a provider that refuses
    # one beta of the `anthropic-beta` header (HTTP 400, as the Anthropic API answers an unknown beta).
    drop_tools: bool = False
    reject_beta: str = ""
    # When set, every stream stops after its first event (message_start) until the event is set: a request the test
    # keeps in flight for as long as it needs (bounded by STREAM_GATE_GUARD), e.g. across a replica's shutdown.
    stream_gate: threading.Event | None = None
    # Signatures of the thinking blocks the mock issued, and those it received back in later turns (in order).
    signatures_issued: list[str] = field(default_factory=list)
    signatures_received: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def messages_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.split("?")[0] == "/v1/messages"]

    def paths(self, method: str = "POST") -> list[str]:
        """Request paths (percent-decoded, without query) of one method, in order."""
        return [unquote(r.path.split("?")[0]) for r in self.requests if r.method == method]


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _event_stream_frame(payload: bytes, headers: dict[str, str]) -> bytes:
    """One message of AWS's binary event-stream encoding (prelude, CRCs, string headers), as Bedrock sends it."""
    encoded = b"".join(bytes([len(n)]) + n.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
                       for n, v in headers.items())
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _bedrock_chunk(event: dict) -> bytes:
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode()}).encode()
    return _event_stream_frame(payload, {":event-type": "chunk", ":content-type": "application/json",
                                         ":message-type": "event"})


def _split(text: str, parts: int) -> list[str]:
    """`text` in `parts` non-empty pieces (fewer when it is shorter), joined back it is `text`."""
    parts = max(1, min(parts, len(text)))
    size, extra = divmod(len(text), parts)
    pieces, start = [], 0
    for number in range(parts):
        end = start + size + (1 if number < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces or [text]


def _block_events(index: int, block: dict, text_deltas: int = 1) -> list[tuple[str, dict]]:
    """The SSE events of one content block (text, thinking with its signature, or tool_use)."""
    kind = block["type"]
    if kind == "text":
        start, deltas = {"type": "text", "text": ""}, [{"type": "text_delta", "text": piece}
                                                        for piece in _split(block["text"], text_deltas)]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": block["thinking"]}]
        if block.get("signature"):
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
    return [("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}),
            *[("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
              for delta in deltas],
            ("content_block_stop", {"type": "content_block_stop", "index": index})]


def _message_events(model: str, text: str, extra_usage: dict | None = None, blocks: list[dict] | None = None,
                    stop_reason: str = "end_turn", text_deltas: int = 1) -> list[tuple[str, dict]]:
    msg_id = f"msg_{uuid.uuid4().hex[:24]}"
    usage = {"input_tokens": 12, "output_tokens": 6, **(extra_usage or {})}
    content = blocks if blocks is not None else [{"type": "text", "text": text}]
    return [
        ("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1, **(extra_usage or {})}}}),
        *[event for index, block in enumerate(content) for event in _block_events(index, block, text_deltas)],
        ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                               "usage": usage}),
        ("message_stop", {"type": "message_stop"}),
    ]


_ECHO_COMMAND = re.compile(r"`(echo [^`]+)`")


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content or [] if isinstance(block, dict))


def agentic_reply(state: MockProvider, body: dict) -> tuple[list[dict], str]:
    """The content blocks and stop reason of an agentic reply to `body` (see the module docstring)."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    users = [m.get("content") for m in messages if m.get("role") == "user"] or [""]
    last = users[-1]  # Claude Code may put other roles (its reminders) after the user's turn
    answered_tool = isinstance(last, list) and any(isinstance(b, dict) and b.get("type") == "tool_result"
                                                   for b in last)
    blocks: list[dict] = []
    if (body.get("thinking") or {}).get("type") in ("enabled", "adaptive"):
        signature = base64.b64encode(uuid.uuid4().bytes * 3).decode()
        state.signatures_issued.append(signature)
        blocks.append({"type": "thinking", "thinking": "The mock thinks before it answers.",
                       "signature": "" if state.drop_signature else signature})
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name") and not state.drop_tools]
    if tools and not answered_tool:
        bash = next((t for t in tools if t["name"] == "Bash"), None)
        if bash:
            command = next(filter(None, (_ECHO_COMMAND.search(_text_of(m.get("content"))) for m in reversed(messages))),
                           None)
            tool, arguments = bash, {"command": command.group(1) if command else "echo mock-tool-ran",
                                     "description": "Print a line"}
        else:
            tool = tools[0]
            required = (tool.get("input_schema") or {}).get("required") or []
            arguments = {name: "mock" for name in required}
        blocks.append({"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": tool["name"],
                       "input": arguments})
        return blocks, "tool_use"
    blocks.append({"type": "text", "text": state.reply})
    return blocks, "end_turn"


def signature_problem(state: MockProvider, body: dict) -> str:
    """Why the thinking blocks sent back in `body` are refused (empty: they are not); records their signatures."""
    for number, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        for index, block in enumerate(content if isinstance(content, list) else []):
            if not isinstance(block, dict) or block.get("type") != "thinking":
                continue
            signature = block.get("signature") or ""
            state.signatures_received.append(signature)
            if signature not in state.signatures_issued:
                return f"messages.{number}.content.{index}: Invalid `signature` in `thinking` block"
    return ""


_BEDROCK_PATH = re.compile(r"^/model/([^/]+)/(invoke-with-response-stream|invoke)$")
_VERTEX_PATH = re.compile(r"^/v1/projects/[^/]+/locations/[^/]+/publishers/anthropic/models/([^/:]+):(\w+)$")
_GOOGLE_CLOUD_PREFIX = re.compile(r"^/v1/projects/[^/]+/locations/[^/]+/workspaces/[^/]+/invoke(?=/v1/)")


def _make_handler(state: MockProvider):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls

        def log_message(self, *args):  # keep pytest output clean
            pass

        def _record(self) -> dict | None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            state.requests.append(RecordedRequest(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            return body

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            return bool(self.headers.get("x-api-key") or self.headers.get("authorization"))

        def _message_json(self, model: str, blocks: list[dict] | None = None, stop_reason: str = "end_turn") -> dict:
            return {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": model,
                    "content": blocks or [{"type": "text", "text": state.reply}], "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 12, "output_tokens": 6, **state.extra_usage}}

        def _stream(self, content_type: str, chunks: list[bytes]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            state.event_times = []
            if state.hold_stream:  # a buffering hop: the whole stream at once, when it is complete
                time.sleep(state.event_delay * max(0, len(chunks) - 1))
                self.wfile.write(b"".join(chunks))
                self.wfile.flush()
                state.event_times = [time.monotonic()] * len(chunks)
                chunks = []
            for number, chunk in enumerate(chunks):
                if number == 1 and state.stream_gate is not None:
                    state.stream_gate.wait(STREAM_GATE_GUARD)
                if number and state.event_delay:
                    time.sleep(state.event_delay)
                self.wfile.write(chunk)
                self.wfile.flush()
                state.event_times.append(time.monotonic())
            self.close_connection = True

        def _sse_reply(self, model: str, blocks: list[dict] | None = None, stop_reason: str = "end_turn",
                       max_tokens: int = 0) -> None:
            deltas = max(1, min(state.text_deltas, max_tokens // 8))
            events = _message_events(model, state.reply, state.extra_usage, blocks, stop_reason, deltas)
            self._stream("text/event-stream", [_sse(name, data) for name, data in events])

        def _overloaded(self, how: str, model: str) -> None:
            error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            if how == "http":
                self._json(529, error)
            else:
                self._stream("text/event-stream", [_sse(*_message_events(model, "")[0]), _sse("error", error)])

        def do_GET(self):
            self._record()
            path = self.path.split("?")[0]
            if path == "/v1/models":
                self._json(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
            elif path == "/inference-profiles":  # Bedrock mode lists system inference profiles first
                self._json(200, {"inferenceProfileSummaries": []})
            else:
                self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

        def do_POST(self):
            body = self._record() or {}
            path = unquote(self.path.split("?")[0])
            # Bedrock: POST /model/<id>/invoke-with-response-stream (or /invoke); the id carries the region prefix.
            if match := _BEDROCK_PATH.match(path):
                model, action = match.groups()
                if action == "invoke-with-response-stream":
                    self._stream("application/vnd.amazon.eventstream",
                                 [_bedrock_chunk(data) for _, data in _message_events(model, state.reply)])
                else:
                    self._json(200, self._message_json(model))
                return
            # Vertex AI: POST /v1/projects/<p>/locations/<r>/publishers/anthropic/models/<id>:<action>
            if match := _VERTEX_PATH.match(path):
                model, action = match.groups()
                if model == "count-tokens":
                    self._json(200, {"input_tokens": 12})
                elif action == "streamRawPredict":
                    self._sse_reply(model)
                else:
                    self._json(200, self._message_json(model))
                return
            # Claude on Google Cloud: the Messages API under /v1/projects/<p>/locations/<l>/workspaces/<w>/invoke
            # (tests compare the recorded path with the answers).
            if match := _GOOGLE_CLOUD_PREFIX.match(path):
                path = path[match.end():]
            # Microsoft Foundry and Bedrock Mantle: the Anthropic Messages API under /anthropic (x-api-key or an Entra bearer token).
            if path.startswith("/anthropic/"):
                path = path[len("/anthropic"):]
            if not self._authorised():
                self._json(401, {"type": "error",
                                 "error": {"type": "authentication_error", "message": "no credential"}})
                return
            if path == "/v1/messages/count_tokens":
                if state.reject_count_tokens:
                    self._json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                                "message": "count_tokens is not supported here"}})
                else:
                    self._json(200, {"input_tokens": 12})
            elif path != "/v1/messages":
                self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": path}})
            elif state.failures:
                self._overloaded(state.failures.pop(0), body.get("model", "unknown"))
            elif state.reject_beta and state.reject_beta in [b.strip() for b in
                                                             self.headers.get("anthropic-beta", "").split(",")]:
                self._json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": (
                    f"Unexpected value(s) `{state.reject_beta}` for the `anthropic-beta` header.")}})
            elif problem := signature_problem(state, body):
                self._json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": problem}})
            else:
                model = body.get("model", "unknown")
                blocks, stop_reason = agentic_reply(state, body) if state.agentic else (None, "end_turn")
                if body.get("stream"):
                    budget = int((body.get("thinking") or {}).get("budget_tokens") or 0)  # thinking comes first
                    self._sse_reply(model, blocks, stop_reason, int(body.get("max_tokens") or 0) - budget)
                else:
                    self._json(200, self._message_json(model, blocks, stop_reason))

    return Handler


class RunningMock:
    """Context manager: start the mock on a loopback address, stop it on exit."""

    def __init__(self, host: str = "127.0.0.1", reply: str = DEFAULT_REPLY, tls: tuple[str, str] | None = None):
        """tls: (certificate, key) PEM files to serve HTTPS, as a provider behind TLS inspection would look."""
        self._server = ThreadingHTTPServer((host, 0), None)  # handler set below, once state exists
        self.state = MockProvider(host, self._server.server_address[1], reply, tls=bool(tls))
        self._server.RequestHandlerClass = _make_handler(self.state)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            # Handshake in the handler thread, not in accept(): a client that never handshakes cannot stall the server.
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> MockProvider:
        self._thread.start()
        return self.state

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


if __name__ == "__main__":  # manual use: python tests/mock_provider.py
    import time

    with RunningMock() as mock:
        print(mock.url, flush=True)
        time.sleep(3600)
