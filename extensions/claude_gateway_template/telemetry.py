"""Usage telemetry (usage_telemetry): Claude Code's own OpenTelemetry metrics and events, exported over OTLP/HTTP to
the team's collector (Pattern A/B/C), or to the Claude apps gateway, which relays them to the collector stamped with
the signed-in user (its config's `telemetry.forward_to`).

What lands where: the exporter variables are the same for every developer, so they go with the rest of the client
environment (client/env.sh, env.ps1, settings.json, managed settings). The per-developer attribute
(OTEL_RESOURCE_ATTRIBUTES=developer=<login>) is per machine and user: only client/env.sh and env.ps1 set it, at
source time; managed settings would give every developer one value (their `env` wins over the shell). A header for
the collector (e.g. a token) is read from the developer's environment at source time, never written to a file."""

from __future__ import annotations

from urllib.parse import urlsplit

from . import engines
from .gateway import gateway_url
from .records import Answers, EnvVar

# http/protobuf: what every OTLP collector accepts on its HTTP port (4318), and what the tests decode.
PROTOCOL = "http/protobuf"
# The resource attribute that names the developer, and where env.sh/env.ps1 read its value.
DEVELOPER_ATTRIBUTE = "developer"
DEVELOPER_OVERRIDE = "CLAUDE_TELEMETRY_DEVELOPER"  # a name of the developer's choosing instead of the login
# The environment variable whose value env.sh/env.ps1 send in the otel_header header.
HEADER_VALUE_VAR = "OTEL_COLLECTOR_HEADER_VALUE"
# What the gateway's relay forwards (its schema's defaults: metrics on, logs and traces off).
RELAYED_SIGNALS = {"metrics": True, "logs": True, "traces": False}
# Metric names the CLI exports (2.1.332) that the docs and tests name.
COST_METRIC = "claude_code.cost.usage"
TOKEN_METRIC = "claude_code.token.usage"


def enabled(answers: Answers) -> bool:
    return bool(answers.get("usage_telemetry"))


def collector_endpoint(answers: Answers) -> str:
    return str(answers.get("otel_endpoint") or "").rstrip("/")


def export_endpoint(answers: Answers) -> str:
    """Where Claude Code sends its OTLP: the collector, or the Claude apps gateway that relays it."""
    if engines.runs_apps_gateway(answers):
        return gateway_url(answers)
    return collector_endpoint(answers)


def collector_host(answers: Answers) -> str:
    """The host clients reach directly (NO_PROXY), when they export to the collector itself."""
    if not enabled(answers) or engines.runs_apps_gateway(answers):
        return ""
    return urlsplit(collector_endpoint(answers)).hostname or ""


def client_env(answers: Answers) -> list[EnvVar]:
    if not enabled(answers):
        return []
    to = ("the Claude apps gateway, which relays it to your collector with the signed-in user"
          if engines.runs_apps_gateway(answers) else "your collector")
    return [
        EnvVar("CLAUDE_CODE_ENABLE_TELEMETRY", "1", "Usage telemetry on: cost, tokens, sessions, lines changed "
                                                    "(docs/telemetry.md)."),
        EnvVar("OTEL_METRICS_EXPORTER", "otlp", "Metrics over OTLP."),
        EnvVar("OTEL_LOGS_EXPORTER", "otlp", "Events (prompts' metadata, tool decisions, API errors) over OTLP."),
        EnvVar("OTEL_EXPORTER_OTLP_PROTOCOL", PROTOCOL, "OTLP over HTTP, protobuf-encoded."),
        EnvVar("OTEL_EXPORTER_OTLP_ENDPOINT", export_endpoint(answers), f"Where Claude Code sends it: {to}."),
        EnvVar("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "cumulative",
               "Running totals, as Prometheus expects them."),
        EnvVar("OTEL_METRICS_INCLUDE_SESSION_ID", "false",
               "No session id on metrics: one series per developer and model, not one per session."),
    ]


def header_name(answers: Answers) -> str:
    return str(answers.get("otel_header") or "") if enabled(answers) else ""


def forward_to(answers: Answers) -> list[dict]:
    """The Claude apps gateway's `telemetry.forward_to`: the collector (its header's value from gateway/.env)."""
    if not enabled(answers):
        return []
    target: dict = {"url": collector_endpoint(answers), **RELAYED_SIGNALS}
    if header_name(answers):
        target["headers"] = {header_name(answers): "${" + HEADER_VALUE_VAR + "}"}
    return [target]
