"""A loopback stand-in for the Prometheus that scrapes the usage-telemetry collector: GET /api/v1/query answering
the two query shapes scripts/usage-report.sh --source telemetry sends, `sum by (LABELS) (increase(NAME[Ns]))`, from
an exposition text (what the collector's prometheus exporter serves) whose sample values are taken as the increase
over the window asked for. Anything else gets Prometheus's own 400 answer shape. It records every query.

`exposition(points)` writes that text from OTLP data points the way the exporter translates them
(tests/support/otlp_translation.py), so a test can feed it either made-up points or what a real Claude Code
exported to tests/support/otlp_receiver.py."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

QUERY = re.compile(r"sum by \(([\w, ]+)\) \(increase\(([a-zA-Z_:][\w:]*)\[(\d+)s\]\)\)")
SAMPLE = re.compile(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class FakePrometheus:
    exposition: str = ""
    status: int = 200  # another status: every query gets Prometheus's error shape with it
    queries: list[dict] = field(default_factory=list)  # {"query", "time"}
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        out = []
        for line in self.exposition.splitlines():
            match = SAMPLE.match(line.strip())
            if match and not line.startswith("#"):
                out.append((match.group(1), dict(LABEL.findall(match.group(2) or "")), float(match.group(3))))
        return out

    def answer(self, query: str) -> tuple[int, dict]:
        if self.status != 200:
            return self.status, {"status": "error", "errorType": "internal", "error": "fake failure"}
        match = QUERY.fullmatch(query)
        if not match:
            return 400, {"status": "error", "errorType": "bad_data", "error": f"unsupported query {query!r}"}
        labels = [label.strip() for label in match.group(1).split(",")]
        sums: dict[tuple, float] = {}
        for name, sample_labels, value in self.samples():
            if name == match.group(2):
                key = tuple(sample_labels.get(label, "") for label in labels)
                sums[key] = sums.get(key, 0.0) + value
        result = [{"metric": {label: value for label, value in zip(labels, key) if value},
                   "value": [0, repr(total)]} for key, total in sums.items()]
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


def _handler(state: FakePrometheus):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            parts = urlsplit(self.path)
            if parts.path != "/api/v1/query":
                self.send_response(404)
                self.end_headers()
                return
            params = {key: values[0] for key, values in parse_qs(parts.query).items()}
            state.queries.append(params)
            status, body = state.answer(params.get("query", ""))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


class RunningFakePrometheus:
    """with RunningFakePrometheus(exposition) as prometheus: ... (stopped on exit)."""

    def __init__(self, exposition: str = ""):
        self.state = FakePrometheus(exposition)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.state.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePrometheus:
        self.thread.start()
        return self.state

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
