"""A loopback stand-in for the LLM provider: the Anthropic Messages API.

Only the provider is mocked in this test suite; everything the generated files configure (the Claude
Code CLI, LiteLLM, proxies) is the real program. The mock records every request so tests can assert on
what the client actually sent (path, auth header, model id).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
    requests: list[RecordedRequest] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def messages_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.split("?")[0] == "/v1/messages"]


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _message_events(model: str, text: str) -> list[bytes]:
    msg_id = f"msg_{uuid.uuid4().hex[:24]}"
    usage = {"input_tokens": 12, "output_tokens": 6}
    return [
        _sse("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
        _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": text}}),
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": usage}),
        _sse("message_stop", {"type": "message_stop"}),
    ]


def _make_handler(state: MockProvider):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

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

        def do_GET(self):
            self._record()
            if self.path.split("?")[0] == "/v1/models":
                self._json(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
            else:
                self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

        def do_POST(self):
            body = self._record() or {}
            path = self.path.split("?")[0]
            if not self._authorised():
                self._json(401, {"type": "error",
                                 "error": {"type": "authentication_error", "message": "no credential"}})
                return
            if path == "/v1/messages/count_tokens":
                self._json(200, {"input_tokens": 12})
                return
            if path != "/v1/messages":
                self._json(404, {"type": "error", "error": {"type": "not_found_error", "message": path}})
                return
            model = body.get("model", "unknown")
            if body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in _message_events(model, state.reply):
                    self.wfile.write(chunk)
                    self.wfile.flush()
                self.close_connection = True
                return
            self._json(200, {
                "id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant",
                "model": model, "content": [{"type": "text", "text": state.reply}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 6}})

    return Handler


class RunningMock:
    """Context manager: start the mock on a loopback address, stop it on exit."""

    def __init__(self, host: str = "127.0.0.1", reply: str = DEFAULT_REPLY):
        self._server = ThreadingHTTPServer((host, 0), None)  # handler set below, once state exists
        self.state = MockProvider(host, self._server.server_address[1], reply)
        self._server.RequestHandlerClass = _make_handler(self.state)
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
