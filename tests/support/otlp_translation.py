"""The OpenTelemetry Collector prometheus exporter's translation of OTLP metrics into Prometheus series, as the
generated telemetry/otel-collector.yaml configures it (translation_strategy UnderscoreEscapingWithSuffixes,
resource_to_telemetry_conversion enabled), written here from its documented rules so that the tests do not take
the generated report's constants on trust:

- metric names: prometheus/otlptranslator metric_namer.go `normalizeName` and unit_namer.go `buildUnitSuffixes`,
  `cleanUpUnit` (what the exporter calls): split the name at every character outside [a-zA-Z0-9:]; the unit's
  main part mapped by `unitMap` (s -> seconds, By -> bytes, 1 -> nothing, ...), kept as it is when the map does not
  know it, dropped when it is in {braces}; appended unless already a token; `total` last for a monotonic sum;
  joined with _. Its README's example: http.server.duration (s) -> http_server_duration_seconds.
- label names: every character outside [a-zA-Z0-9_] becomes _ (otlptranslator normalize_label.go); with
  resource_to_telemetry_conversion every resource attribute is a label too (exporter/prometheusexporter README:
  "all the resource attributes will be converted to metric labels")."""

from __future__ import annotations

import re
from typing import Any

UNIT_MAP = {"d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds", "By": "bytes",
            "1": "", "%": "percent"}


def metric_name(name: str, unit: str, monotonic_counter: bool) -> str:
    tokens = [t for t in re.split(r"[^a-zA-Z0-9:]", name) if t]
    main = unit.split("/", 1)[0].strip()
    suffix = "" if not main or "{" in main or "}" in main else UNIT_MAP.get(main, main)
    suffix = re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9:]", "_", suffix)).lstrip("_")
    if suffix and suffix not in tokens:
        tokens.append(suffix)
    if monotonic_counter:
        tokens = [t for t in tokens if t != "total"] + ["total"]
    return "_".join(tokens)


def label_name(key: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9_]", "_", key)
    return "key_" + name if name[:1].isdigit() else name


def series_line(name: str, unit: str, monotonic: bool, attributes: dict[str, Any], resource: dict[str, Any],
                value: float) -> str:
    labels = {label_name(k): str(v) for k, v in {**resource, **attributes}.items()}
    text = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                    for k, v in sorted(labels.items()))
    return f"{metric_name(name, unit, monotonic)}{{{text}}} {value!r}"


def exposition(points) -> str:
    """Prometheus text for data points with .metric, .unit, .monotonic, .attributes, .resource and .value."""
    return "".join(series_line(p.metric, p.unit, p.monotonic, p.attributes, p.resource, p.value) + "\n"
                   for p in points)
