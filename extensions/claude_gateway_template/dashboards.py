"""Grafana dashboards as code (grafana/ of a generated repository): one for the LiteLLM gateway's Prometheus metrics
(litellm_in_repo), one for Claude Code's usage telemetry through the collector (usage_telemetry), with the per-developer
view, and the provisioning files that load them without clicking.

Every query names a series the pinned software exposes; tests/test_dashboards.py parses the dashboards with
grafana-foundation-sdk and checks each name against its source:
- LiteLLM (versions.LITELLM_VERSION): litellm/integrations/prometheus.py declares the metrics (counters are served
  with `_total`, histograms with `_bucket`); the labels are litellm/types/integrations/prometheus.py's
  (`model`, `team`, `user`, `end_user`, `requested_model`). LiteLLM counts spend per key's `user` (the spend database's
  developers) and per `end_user` (the x-litellm-end-user-id header client/env.sh sends, gateway.END_USER_HEADER).
- Claude Code's telemetry: the collector's prometheus exporter names (telemetry.PROMETHEUS_COST, PROMETHEUS_TOKENS:
  the translation of `claude_code.cost.usage` in USD and `claude_code.token.usage` in tokens), with the `developer`
  resource attribute as a label (resource_to_telemetry_conversion) and the metrics' own `model` and `type`.
The Claude apps gateway has no Prometheus endpoint: its figures reach Grafana only as the telemetry it relays.
"""

from __future__ import annotations

import json
from typing import Any

from . import engines, gateway, sso_front, telemetry
from .records import Answers

FOLDER = "grafana"
DATASOURCE_UID = "claude-code-prometheus"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39  # Grafana 11's dashboard schema
GATEWAY_UID, TELEMETRY_UID = "claude-code-gateway", "claude-code-telemetry"
# Where the provisioning file tells Grafana to read the dashboards (mount grafana/dashboards there).
DASHBOARDS_PATH = "/var/lib/grafana/dashboards/claude-code"

# LiteLLM's series (counters with the `_total` prometheus_client adds; a histogram's `_bucket`).
LITELLM_SPEND = "litellm_spend_metric_total"
LITELLM_REQUESTS = "litellm_requests_metric_total"
LITELLM_INPUT = "litellm_input_tokens_metric_total"
LITELLM_OUTPUT = "litellm_output_tokens_metric_total"
LITELLM_CACHE_READ = "litellm_input_cached_tokens_metric_total"
LITELLM_CACHE_WRITE = "litellm_input_cache_creation_tokens_metric_total"
LITELLM_FAILED = "litellm_proxy_failed_requests_metric_total"
LITELLM_LATENCY = "litellm_request_total_latency_metric_bucket"
LITELLM_TEAM_BUDGET = "litellm_remaining_team_budget_metric"
LITELLM_KEY_BUDGET = "litellm_remaining_api_key_budget_metric"


def _target(expr: str, legend: str, ref: str = "A", instant: bool = False) -> dict:
    return {"refId": ref, "datasource": DATASOURCE, "expr": expr, "legendFormat": legend,
            "range": not instant, "instant": instant}


def _panel(number: int, title: str, kind: str, targets: list[dict], unit: str, grid: tuple[int, int, int, int],
           description: str) -> dict:
    x, y, w, h = grid
    panel: dict[str, Any] = {"id": number, "type": kind, "title": title, "description": description,
                             "datasource": DATASOURCE, "gridPos": {"x": x, "y": y, "w": w, "h": h},
                             "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "targets": targets}
    if kind == "timeseries":
        panel["options"] = {"legend": {"displayMode": "table", "placement": "right", "calcs": ["sum"],
                                       "showLegend": True}, "tooltip": {"mode": "multi", "sort": "desc"}}
        panel["fieldConfig"]["defaults"]["custom"] = {"drawStyle": "bars", "fillOpacity": 80,
                                                      "stacking": {"mode": "normal", "group": "A"}}
    elif kind == "stat":
        panel["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                            "colorMode": "none", "graphMode": "none", "textMode": "auto"}
    elif kind == "bargauge":
        panel["options"] = {"orientation": "horizontal", "displayMode": "basic", "showUnfilled": True,
                            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    return panel


def _dashboard(uid: str, title: str, description: str, panels: list[dict], variables: list[dict]) -> dict:
    datasource_variable = {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                           "current": {"text": "Prometheus (Claude Code)", "value": DATASOURCE_UID},
                           "hide": 0, "refresh": 1, "options": [], "includeAll": False, "multi": False}
    return {"uid": uid, "title": title, "description": description, "tags": ["claude-code"], "timezone": "utc",
            "editable": True, "graphTooltip": 1, "schemaVersion": SCHEMA_VERSION, "version": 1,
            "time": {"from": "now-7d", "to": "now"}, "refresh": "5m",
            "annotations": {"list": []}, "links": [],
            "templating": {"list": [datasource_variable, *variables]}, "panels": panels}


def _query_variable(name: str, label: str, query: str) -> dict:
    return {"name": name, "label": label, "type": "query", "datasource": DATASOURCE,
            "query": {"query": query, "refId": f"{name}-values"}, "refresh": 2,
            "includeAll": True, "multi": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
            "options": [], "sort": 1, "hide": 0}


def gateway_dashboard(answers: Answers) -> dict:
    """The LiteLLM gateway: spend, requests, tokens, prompt cache, failures and latency per model and developer."""
    behind = engines.litellm_behind(answers)
    # Budgets per key and team are LiteLLM's own; behind the SSO front budgets are the front's spend limits.
    database = bool(answers.get("spend_database")) and not behind
    # A developer: the key's user (the spend database's keys per developer), else the end-user id: the one
    # client/env.sh sends, or behind the SSO front the email the front sends for whoever signed in.
    who = "user" if database else "end_user"
    who_doc = ("the user_id of the developer's key (scripts/sync-access.sh)" if database else
               "the email the developer signed in with (the Claude apps gateway in front sends it; labels are email "
               "addresses)" if behind else
               f"the {gateway.END_USER_HEADER} header client/env.sh sends (it attributes, it does not authenticate)")
    sel = f'{{{who}=~"$developer"}}'
    panels = [
        _panel(1, "Spend in the range", "stat", [_target(f"sum(increase({LITELLM_SPEND}{sel}[$__range]))", "spend",
                                                         instant=True)],
               "currencyUSD", (0, 0, 6, 4), "USD the gateway metered over the dashboard's time range."),
        _panel(2, "Requests in the range", "stat", [_target(f"sum(increase({LITELLM_REQUESTS}{sel}[$__range]))",
                                                            "requests", instant=True)],
               "short", (6, 0, 6, 4), "Requests the gateway served."),
        _panel(3, "Prompt-cache share", "stat", [_target(
            f"sum(increase({LITELLM_CACHE_READ}{sel}[$__range])) / sum(increase({LITELLM_INPUT}{sel}[$__range]))",
            "cache share", instant=True)], "percentunit", (12, 0, 6, 4),
            "Cache reads' part of all input tokens (LiteLLM's input count includes the cache's)."),
        _panel(4, "Failed requests in the range", "stat", [_target(
            f"sum(increase({LITELLM_FAILED}{sel}[$__range]))", "failed", instant=True)], "short", (18, 0, 6, 4),
            "Requests the client did not get a success answer for."),
        _panel(5, "Spend per developer", "bargauge", [_target(
            f"sort_desc(sum by ({who}) (increase({LITELLM_SPEND}{sel}[$__range])))", f"{{{{{who}}}}}",
            instant=True)], "currencyUSD", (0, 4, 12, 9), f"Per developer: {who_doc}."),
        _panel(6, "Spend per model", "bargauge", [_target(
            f"sort_desc(sum by (model) (increase({LITELLM_SPEND}{sel}[$__range])))", "{{model}}", instant=True)],
            "currencyUSD", (12, 4, 12, 9), "Per model id the gateway called."),
        _panel(7, "Spend per hour, per model", "timeseries", [_target(
            f"sum by (model) (increase({LITELLM_SPEND}{sel}[1h]))", "{{model}}")], "currencyUSD", (0, 13, 12, 9),
            "The daily trend, hour by hour."),
        _panel(8, "Tokens per hour", "timeseries", [
            _target(f"sum(increase({LITELLM_INPUT}{sel}[1h]))", "input (cache included)", "A"),
            _target(f"sum(increase({LITELLM_OUTPUT}{sel}[1h]))", "output", "B"),
            _target(f"sum(increase({LITELLM_CACHE_READ}{sel}[1h]))", "cache read", "C"),
            _target(f"sum(increase({LITELLM_CACHE_WRITE}{sel}[1h]))", "cache creation", "D")],
            "short", (12, 13, 12, 9), "Input, output and prompt-cache tokens."),
        _panel(9, "Request latency (p50, p95)", "timeseries", [
            _target(f"histogram_quantile(0.5, sum by (le) (rate({LITELLM_LATENCY}[5m])))", "p50", "A"),
            _target(f"histogram_quantile(0.95, sum by (le) (rate({LITELLM_LATENCY}[5m])))", "p95", "B")],
            "s", (0, 22, 12, 8), "End to end through the gateway (LiteLLM's request_total_latency)."),
        _panel(10, "Failed requests per model", "timeseries", [_target(
            f"sum by (requested_model) (increase({LITELLM_FAILED}[1h]))", "{{requested_model}}")], "short",
            (12, 22, 12, 8), "Failures per hour, by the model the client asked for."),
    ]
    if database:
        panels.append(_panel(11, "Budget left per team", "bargauge", [_target(
            f"max by (team) ({LITELLM_TEAM_BUDGET})", "{{team}}", instant=True)], "currencyUSD", (0, 30, 12, 8),
            "What is left of each team's budget now (gateway/access.yaml)."))
        panels.append(_panel(12, "Budget left per key", "bargauge", [_target(
            f"max by (api_key_alias) ({LITELLM_KEY_BUDGET})", "{{api_key_alias}}", instant=True)], "currencyUSD",
            (12, 30, 12, 8), "What is left of each key's budget now (one key per developer)."))
    return _dashboard(GATEWAY_UID, "Claude Code: LiteLLM gateway",
                      "Spend, requests and tokens the LiteLLM gateway metered (its /metrics/ scraped by Prometheus).",
                      panels, [_query_variable("developer", "Developer", f"label_values({LITELLM_SPEND}, {who})")])


def telemetry_dashboard() -> dict:
    """Claude Code's own telemetry through the collector: estimated cost and tokens per developer and model."""
    cost, tokens, dev = telemetry.PROMETHEUS_COST, telemetry.PROMETHEUS_TOKENS, telemetry.DEVELOPER_ATTRIBUTE
    sel = f'{{{dev}=~"$developer"}}'
    tok = f'{{{dev}=~"$developer", type=~"input|cacheRead|cacheCreation"}}'
    panels = [
        _panel(1, "Estimated cost in the range", "stat", [_target(f"sum(increase({cost}{sel}[$__range]))", "cost",
                                                                  instant=True)],
               "currencyUSD", (0, 0, 8, 4), "Claude Code's own estimate at list price: not a bill."),
        _panel(2, "Tokens in the range", "stat", [_target(f"sum(increase({tokens}{sel}[$__range]))", "tokens",
                                                          instant=True)],
               "short", (8, 0, 8, 4), "Input, output and prompt-cache tokens."),
        _panel(3, "Prompt-cache share", "stat", [_target(
            f'sum(increase({tokens}{{{dev}=~"$developer", type="cacheRead"}}[$__range])) / '
            f"sum(increase({tokens}{tok}[$__range]))", "cache share", instant=True)], "percentunit",
            (16, 0, 8, 4), "Cache reads' part of all input (uncached input, cache reads and writes)."),
        _panel(4, "Estimated cost per developer", "bargauge", [_target(
            f"sort_desc(sum by ({dev}) (increase({cost}{sel}[$__range])))", f"{{{{{dev}}}}}", instant=True)],
            "currencyUSD", (0, 4, 12, 9), f"Per developer: the `{dev}` resource attribute client/env.sh sets."),
        _panel(5, "Estimated cost per model", "bargauge", [_target(
            f"sort_desc(sum by (model) (increase({cost}{sel}[$__range])))", "{{model}}", instant=True)],
            "currencyUSD", (12, 4, 12, 9), "Per model id Claude Code used."),
        _panel(6, "Estimated cost per hour, per developer", "timeseries", [_target(
            f"sum by ({dev}) (increase({cost}{sel}[1h]))", f"{{{{{dev}}}}}")], "currencyUSD", (0, 13, 12, 9),
            "The daily trend, hour by hour, for the developers picked above."),
        _panel(7, "Tokens per hour, by kind", "timeseries", [_target(
            f"sum by (type) (increase({tokens}{sel}[1h]))", "{{type}}")], "short", (12, 13, 12, 9),
            "input, output, cacheRead, cacheCreation."),
        _panel(8, "Tokens per developer and kind", "bargauge", [_target(
            f"sort_desc(sum by ({dev}, type) (increase({tokens}{sel}[$__range])))", f"{{{{{dev}}}}} {{{{type}}}}",
            instant=True)], "short", (0, 22, 24, 10), "Per developer, each kind of token over the range."),
    ]
    return _dashboard(TELEMETRY_UID, "Claude Code: usage telemetry",
                      "Claude Code's own metrics, exported to the collector (telemetry/) and scraped by Prometheus.",
                      panels, [_query_variable("developer", "Developer", f"label_values({cost}, {dev})")])


def dashboards(answers: Answers, litellm_in_repo: bool) -> dict[str, dict]:
    """{file name under grafana/dashboards/: dashboard} for this setup."""
    out = {}
    if litellm_in_repo:
        out["litellm-gateway.json"] = gateway_dashboard(answers)
    if telemetry.enabled(answers):
        out["claude-code-telemetry.json"] = telemetry_dashboard()
    return out


def context(answers: Answers, litellm_in_repo: bool) -> dict:
    """What grafana/ places: each dashboard as JSON text, and the provisioning files' values."""
    found = dashboards(answers, litellm_in_repo)
    if not found:
        return {}
    if litellm_in_repo and engines.litellm_behind(answers):
        litellm = [(f"LiteLLM's /metrics/ behind the SSO front ({sso_front.litellm_url(answers)}/metrics/, "
                    + ("reachable on its compose network only)" if sso_front.on_compose(answers) else
                       "reachable from the gateway host only)"))]
    else:
        litellm = [f"the gateway's /metrics/ ({gateway.gateway_url(answers)}/metrics/)"] if litellm_in_repo else []
    return {"files": {name: json.dumps(board, indent=2) for name, board in found.items()},
            "datasource_uid": DATASOURCE_UID, "dashboards_path": DASHBOARDS_PATH,
            "prometheus_default_url": (f"http://{telemetry.PROMETHEUS_SERVICE}:{telemetry.PROMETHEUS_PORT}"
                                       if telemetry.enabled(answers) and not telemetry.on_kubernetes(answers)
                                       else ""),
            "scrapes": " and ".join(litellm
                                    + (["the telemetry collector (telemetry/prometheus.yml)"]
                                       if telemetry.enabled(answers) else [])),
            "gateway_metrics": litellm_in_repo, "apps_gateway": engines.runs_apps_gateway(answers)}
