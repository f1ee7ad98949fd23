"""A loopback OTLP/HTTP receiver (what an OpenTelemetry Collector's otlp receiver does on :4318, no more): it accepts
POST /v1/metrics, /v1/logs and /v1/traces in protobuf (http/protobuf, what the generated client files set) or JSON,
decodes them with opentelemetry-proto, and keeps every metric data point and log record with its resource's
attributes, so a test can assert on what Claude Code actually exported."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_REQUESTS = {"/v1/metrics": ExportMetricsServiceRequest, "/v1/logs": ExportLogsServiceRequest,
             "/v1/traces": ExportTraceServiceRequest}


def _value(any_value) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind in ("string_value", "bool_value", "int_value", "double_value") else str(
        any_value)


def attributes(key_values) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in key_values}


@dataclass
class DataPoint:
    metric: str
    value: float
    attributes: dict[str, Any]
    resource: dict[str, Any]
    unit: str = ""
    monotonic: bool = False  # a monotonic sum (a counter)


@dataclass
class Export:
    path: str
    content_type: str
    headers: dict[str, str]


@dataclass
class OtlpReceiver:
    host: str
    port: int = 0
    exports: list[Export] = field(default_factory=list)
    points: list[DataPoint] = field(default_factory=list)
    log_records: list[dict[str, Any]] = field(default_factory=list)  # {"body", "attributes", "resource"}
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def metric_points(self, name: str) -> list[DataPoint]:
        with self.lock:
            return [p for p in self.points if p.metric == name]

    def wait_for(self, *names: str, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.metric_points(name) for name in names):
                return True
            time.sleep(0.2)
        return False

    def every_attribute_value(self) -> list[str]:
        """Every resource and point attribute value and log body exported, as text (for a leak check)."""
        with self.lock:
            values = [v for p in self.points for v in (*p.attributes.values(), *p.resource.values())]
            values += [v for r in self.log_records for v in (r["body"], *r["attributes"].values(),
                                                              *r["resource"].values())]
        return [str(v) for v in values]

    def record(self, path: str, content_type: str, headers: dict[str, str], body: bytes) -> None:
        message = _REQUESTS[path]()
        if "json" in content_type:
            json_format.Parse(body.decode(), message)
        else:
            message.ParseFromString(body)
        with self.lock:
            self.exports.append(Export(path, content_type, headers))
            if path == "/v1/metrics":
                for rm in message.resource_metrics:
                    resource = attributes(rm.resource.attributes)
                    for sm in rm.scope_metrics:
                        for metric in sm.metrics:
                            kind = metric.WhichOneof("data")
                            for point in getattr(metric, kind).data_points if kind in ("sum", "gauge") else ():
                                number = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
                                self.points.append(DataPoint(
                                    metric.name, number, attributes(point.attributes), resource, metric.unit,
                                    kind == "sum" and metric.sum.is_monotonic))
            elif path == "/v1/logs":
                for rl in message.resource_logs:
                    resource = attributes(rl.resource.attributes)
                    for sl in rl.scope_logs:
                        for log in sl.log_records:
                            self.log_records.append({"body": _value(log.body), "attributes": attributes(
                                log.attributes), "resource": resource})


def _handler(state: OtlpReceiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            path = self.path.split("?", 1)[0]
            if path not in _REQUESTS:
                self.send_response(404)
                self.end_headers()
                return
            content_type = self.headers.get("content-type", "")
            state.record(path, content_type, {k.lower(): v for k, v in self.headers.items()}, body)
            reply = ExportMetricsServiceResponse().SerializeToString()  # all three responses are empty alike
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    return Handler


class RunningOtlpReceiver:
    """with RunningOtlpReceiver(host) as receiver: ... (the server thread is stopped on exit)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.state = OtlpReceiver(host)
        self.server = ThreadingHTTPServer((host, 0), _handler(self.state))
        self.state.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpReceiver:
        self.thread.start()
        return self.state

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
