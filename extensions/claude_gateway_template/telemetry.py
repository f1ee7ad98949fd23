"""Usage telemetry (usage_telemetry): Claude Code's own OpenTelemetry metrics and events, exported over OTLP/HTTP to
the team's collector (Pattern A/B/C), or to the Claude apps gateway, which relays them to the collector stamped with
the signed-in user (its config's `telemetry.forward_to`).

What lands where: the exporter variables are the same for every developer, so they go with the rest of the client
environment (client/env.sh, env.ps1, settings.json, managed settings). The per-developer attribute
(OTEL_RESOURCE_ATTRIBUTES=developer=<login>) is per machine and user: client/env.sh and env.ps1 set it at source
time, and client/install.sh writes it into the user's own settings; managed settings would give every developer one
value (their `env` wins over the shell). A header for the collector (e.g. a token) is read from the developer's
environment at source time, or printed by a command Claude Code runs (otelHeadersHelper), never written to a file."""

from __future__ import annotations

from urllib.parse import urlsplit

from . import engines, versions
from .gateway import KUBERNETES_NAMESPACE, gateway_url
from .gateway import on_kubernetes as gateway_on_kubernetes
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


def headers_helper(answers: Answers) -> str:
    """The command Claude Code runs for the collector's headers (settings key otelHeadersHelper), when the answers
    name one: it prints a JSON object, so the header's value is never in a file or the shell's environment. Not
    with the Claude apps gateway, whose relay sends the header from gateway/.env."""
    if not header_name(answers) or engines.runs_apps_gateway(answers):
        return ""
    return str(answers.get("otel_headers_helper") or "").strip()


def client_settings_keys(answers: Answers) -> dict:
    return {"otelHeadersHelper": headers_helper(answers)} if headers_helper(answers) else {}


def forward_to(answers: Answers) -> list[dict]:
    """The Claude apps gateway's `telemetry.forward_to`: the collector (its header's value from gateway/.env)."""
    if not enabled(answers):
        return []
    target: dict = {"url": collector_endpoint(answers), **RELAYED_SIGNALS}
    if header_name(answers):
        target["headers"] = {header_name(answers): "${" + HEADER_VALUE_VAR + "}"}
    return [target]


# ---- The collector this repository can run (telemetry/) ------------------------------------------------------------
# Its own folder, for every pattern: A and B have no gateway/, and the collector serves clients (or the Claude apps
# gateway's relay) the same way whatever the gateway. It runs beside the gateway's runtime: Kubernetes manifests
# (telemetry/kubernetes/, in the gateway's namespace) when the gateway runs on Kubernetes, a compose project
# (telemetry/docker-compose.yml: the collector and a Prometheus) everywhere else.
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
EXPORTER_PORT = 8889        # the collector's prometheus exporter (/metrics), scraped by Prometheus
HEALTH_PORT = 13133         # the health_check extension
PROMETHEUS_PORT = 9090
COLLECTOR_SERVICE = "otel-collector"  # the compose service and the Kubernetes Service/Deployment name
PROMETHEUS_SERVICE = "prometheus"
SCRAPE_JOB = "claude-code-telemetry"
# Where the Prometheus that scrapes the collector lives on Kubernetes (its NetworkPolicy admits that namespace).
MONITORING_NAMESPACE = "monitoring"
# scripts/usage-report.sh --source telemetry: PROMETHEUS_URL, else this (telemetry/docker-compose.yml publishes it).
PROMETHEUS_URL_VAR = "PROMETHEUS_URL"
PROMETHEUS_DEFAULT_URL = f"http://127.0.0.1:{PROMETHEUS_PORT}"

# The prometheus exporter's translation, pinned explicitly rather than left to a default that moves between releases:
# dots to underscores, the unit and `_total` on counters (UnderscoreEscapingWithSuffixes; add_metric_suffixes: true
# is the same for releases that predate translation_strategy), and every resource attribute (the developer's name,
# the gateway's user stamp) as a label on every series (resource_to_telemetry_conversion).
TRANSLATION_STRATEGY = "UnderscoreEscapingWithSuffixes"
# The Prometheus names of the two metrics the report reads, by that translation (prometheus/otlptranslator,
# metric_namer.go normalizeName and unit_namer.go: the name split at every character outside [a-zA-Z0-9:], the OTLP
# unit appended as it is when unitMap does not know it ("USD", "tokens"), then "total" for a monotonic sum). The
# units and monotonic sums are what the 2.1.332 CLI exports (tests/test_live_telemetry.py checks them).
COST_UNIT, TOKEN_UNIT = "USD", "tokens"
PROMETHEUS_COST = "claude_code_cost_usage_USD_total"
PROMETHEUS_TOKENS = "claude_code_token_usage_tokens_total"


def on_kubernetes(answers: Answers) -> bool:
    return enabled(answers) and gateway_on_kubernetes(answers)


def collector_config() -> dict:
    """telemetry/otel-collector.yaml: OTLP in (gRPC and HTTP), metrics out to the prometheus exporter, events to the
    debug exporter (counts only; replace it with your log store)."""
    def pipeline(exporter: str) -> dict:  # new lists each time: shared ones would be YAML anchors
        return {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"], "exporters": [exporter]}
    return {
        "extensions": {"health_check": {"endpoint": f"0.0.0.0:{HEALTH_PORT}"}},
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"},
                                             "http": {"endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"}}}},
        "processors": {"memory_limiter": {"check_interval": "1s", "limit_percentage": 80,
                                          "spike_limit_percentage": 20},
                       "batch": {"timeout": "5s"}},
        "exporters": {
            "prometheus": {"endpoint": f"0.0.0.0:{EXPORTER_PORT}",
                           "translation_strategy": TRANSLATION_STRATEGY,
                           "add_metric_suffixes": True,
                           "resource_to_telemetry_conversion": {"enabled": True},
                           # A developer who stops for the day keeps their series until Prometheus scraped it.
                           "metric_expiration": "24h"},
            "debug": {"verbosity": "basic"},
        },
        "service": {"extensions": ["health_check"],
                    "pipelines": {"metrics": pipeline("prometheus"), "logs": pipeline("debug")}},
    }


def collector_target(answers: Answers) -> str:
    """The exporter's address as the Prometheus of this setup scrapes it."""
    if on_kubernetes(answers):
        return f"{COLLECTOR_SERVICE}.{KUBERNETES_NAMESPACE}.svc:{EXPORTER_PORT}"
    return f"{COLLECTOR_SERVICE}:{EXPORTER_PORT}"


def scrape_config(answers: Answers) -> dict:
    """telemetry/prometheus.yml: one job scraping the collector's exporter. honor_labels keeps the series' own
    `job` and `instance` (the collector sets them from service.name and service.instance.id)."""
    return {"global": {"scrape_interval": "30s"},
            "scrape_configs": [{"job_name": SCRAPE_JOB, "honor_labels": True,
                                "static_configs": [{"targets": [collector_target(answers)]}]}]}


def published_port(answers: Answers) -> int:
    """The host port telemetry/docker-compose.yml publishes the OTLP/HTTP receiver on: the port of otel_endpoint
    when clients reach the collector there in plain http (loopback), else 4318 behind your TLS terminator."""
    parts = urlsplit(collector_endpoint(answers))
    if parts.scheme == "http" and parts.port:
        return parts.port
    return OTLP_HTTP_PORT


def published_bind(answers: Answers) -> str:
    """Loopback when clients reach the collector over plain http (only allowed on loopback), else every address."""
    return "127.0.0.1" if urlsplit(collector_endpoint(answers)).scheme == "http" else "0.0.0.0"


def context(answers: Answers) -> dict:
    """What telemetry/ places."""
    if not enabled(answers):
        return {}
    return {"collector_config": collector_config(), "scrape_config": scrape_config(answers),
            "on_kubernetes": on_kubernetes(answers), "namespace": KUBERNETES_NAMESPACE,
            "host": urlsplit(collector_endpoint(answers)).hostname or "",
            "published_port": published_port(answers), "published_bind": published_bind(answers),
            "grpc_port": OTLP_GRPC_PORT, "http_port": OTLP_HTTP_PORT, "exporter_port": EXPORTER_PORT,
            "health_port": HEALTH_PORT, "prometheus_port": PROMETHEUS_PORT, "service": COLLECTOR_SERVICE,
            "prometheus_service": PROMETHEUS_SERVICE, "monitoring_namespace": MONITORING_NAMESPACE,
            "image": versions.OTEL_COLLECTOR_IMAGE, "version": versions.OTEL_COLLECTOR_VERSION,
            "prometheus_image": versions.PROMETHEUS_IMAGE, "prometheus_url_var": PROMETHEUS_URL_VAR,
            "prometheus_default_url": PROMETHEUS_DEFAULT_URL, "cost_series": PROMETHEUS_COST,
            "token_series": PROMETHEUS_TOKENS}
