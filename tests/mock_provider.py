"""A loopback stand-in for the LLM provider: the Anthropic Messages API, and the Bedrock and Vertex AI request
paths Claude Code uses for the same API (Bedrock answers in AWS's binary event-stream framing), and Microsoft
Foundry's (the Messages API under /anthropic).

Only the provider is mocked in this test suite; everything the generated files configure (the Claude
Code CLI, LiteLLM, proxies) is the real program. The mock records every request so tests can assert on
what the client actually sent (path, auth header, model id).
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


def _message_events(model: str, text: str, extra_usage: dict | None = None) -> list[tuple[str, dict]]:
    msg_id = f"msg_{uuid.uuid4().hex[:24]}"
    usage = {"input_tokens": 12, "output_tokens": 6, **(extra_usage or {})}
    return [
        ("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1, **(extra_usage or {})}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": text}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": usage}),
        ("message_stop", {"type": "message_stop"}),
    ]


_BEDROCK_PATH = re.compile(r"^/model/([^/]+)/(invoke-with-response-stream|invoke)$")
_VERTEX_PATH = re.compile(r"^/v1/projects/[^/]+/locations/[^/]+/publishers/anthropic/models/([^/:]+):(\w+)$")


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

        def _message_json(self, model: str) -> dict:
            return {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": state.reply}], "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 12, "output_tokens": 6, **state.extra_usage}}

        def _stream(self, content_type: str, chunks: list[bytes]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            state.event_times = []
            for number, chunk in enumerate(chunks):
                if number and state.event_delay:
                    time.sleep(state.event_delay)
                self.wfile.write(chunk)
                self.wfile.flush()
                state.event_times.append(time.monotonic())
            self.close_connection = True

        def _sse_reply(self, model: str) -> None:
            self._stream("text/event-stream",
                         [_sse(name, data) for name, data in _message_events(model, state.reply, state.extra_usage)])

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
            # Microsoft Foundry: the Anthropic Messages API under /anthropic (x-api-key or an Entra bearer token).
            if path.startswith("/anthropic/"):
                path = path[len("/anthropic"):]
            if not self._authorised():
                self._json(401, {"type": "error",
                                 "error": {"type": "authentication_error", "message": "no credential"}})
                return
            if path == "/v1/messages/count_tokens":
                self._json(200, {"input_tokens": 12})
            elif path != "/v1/messages":
                self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": path}})
            elif state.failures:
                self._overloaded(state.failures.pop(0), body.get("model", "unknown"))
            elif body.get("stream"):
                self._sse_reply(body.get("model", "unknown"))
            else:
                self._json(200, self._message_json(body.get("model", "unknown")))

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
