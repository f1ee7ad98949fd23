"""The benchmark's provider: tests/support/mock_provider.py as it is, except that streamed replies for one model id
(SPACED_MODEL, the upstream id of the sonnet group) space their events SPACED_DELAY seconds apart, as a provider
does while the model thinks before it writes. Every other request is answered at once. One process serves both, so
every gateway keeps its one generated api_base: the request's model picks instant or spaced.

Run: python bench/bench_mock.py   (prints the base URL, serves until stopped)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
from mock_provider import RunningMock, _message_events, _sse

SPACED_MODEL = "claude-sonnet-5-5"
SPACED_DELAY = 0.2  # seconds between the events of a spaced stream


def spaced_mock() -> RunningMock:
    mock = RunningMock()
    base = mock._server.RequestHandlerClass
    state = mock.state

    class Handler(base):
        def _sse_reply(self, model: str, *args, **kwargs) -> None:
            if model != SPACED_MODEL:
                super()._sse_reply(model, *args, **kwargs)
                return
            # As the mock's _stream, with this request's own delay (the shared state.event_delay stays 0: the
            # other requests in flight are not slowed).
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for number, (name, data) in enumerate(_message_events(model, state.reply)):
                if number:
                    time.sleep(SPACED_DELAY)
                self.wfile.write(_sse(name, data))
                self.wfile.flush()
            self.close_connection = True

    mock._server.RequestHandlerClass = Handler
    mock._server.socket.listen(256)  # a gateway under 20 concurrent requests opens more than the default backlog of 5
    return mock


if __name__ == "__main__":
    with spaced_mock() as running:
        print(running.url, flush=True)
        time.sleep(24 * 3600)
