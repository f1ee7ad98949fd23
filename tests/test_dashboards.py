"""The Grafana dashboards of grafana/ (extensions/claude_gateway_template/dashboards.py), parsed with
grafana-foundation-sdk (pinned in requirements-test.txt): each file decodes into the SDK's Dashboard with Prometheus
queries, and encodes back to a superset of itself (no key the schema does not know); every query names a series the
pinned software exposes, from its source:

- LiteLLM: the metrics the pinned release declares in litellm/integrations/prometheus.py (read from the gateway venv
  the live tests install, .cache/litellm-venv; counters are served with `_total`, histograms with `_bucket`, `_sum`,
  `_count`), and the label names of litellm/types/integrations/prometheus.py; tests/test_live_access.py scrapes the
  counters from the real gateway.
- Claude Code's telemetry: the exporter's translation (tests/support/otlp_translation.py, from the collector's own
  rules) of `claude_code.cost.usage` (USD) and `claude_code.token.usage` (tokens), the units and counter kind the real
  2.1.332 CLI exports (tests/test_live_telemetry.py); labels: the `developer` resource attribute and the metrics'
  `model` and `type` attributes.
The provisioning files load them: the provider's folder and the data source the dashboards start on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from environment import LITELLM_VENV, require_tool
from golden_trees import render_all
from otlp_translation import metric_name

ANSWERS = {
    "litellm-database-telemetry": {"cost_tracking": True, "spend_database": True, "usage_telemetry": True,
                                   "otel_endpoint": "https://otel.example.com"},
    "litellm-metrics": {"cost_tracking": True},
    "telemetry": {"usage_telemetry": True, "otel_endpoint": "http://127.0.0.1:14318"},
    "apps-gateway": {"cost_tracking": True, "gateway_engine": "claude_apps_gateway", "gateway_runtime": "process",
                     "oidc_issuer": "https://login.example.com"},
    "sso-front": {"cost_tracking": True, "gateway_engine": "claude_apps_gateway_with_litellm", "spend_database": True,
                  "gateway_runtime": "process", "oidc_issuer": "https://login.example.com"},
}
EXPECTED = {"litellm-database-telemetry": {"litellm-gateway.json", "claude-code-telemetry.json"},
            "litellm-metrics": {"litellm-gateway.json"}, "telemetry": {"claude-code-telemetry.json"},
            "apps-gateway": set(),  # the Claude apps gateway has no Prometheus endpoint
            "sso-front": {"litellm-gateway.json"}}  # LiteLLM's, behind the front
TELEMETRY_SERIES = {metric_name("claude_code.cost.usage", "USD", True),
                    metric_name("claude_code.token.usage", "tokens", True)}
TELEMETRY_LABELS = {"developer", "model", "type"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}


@pytest.fixture(scope="module")
def projects(template_repo, tmp_path_factory) -> dict[str, Path]:
    return render_all(template_repo, tmp_path_factory.mktemp("dashboards"), ANSWERS)


def litellm_source(relative: str) -> str:
    found = sorted(LITELLM_VENV.glob(f"lib/python3*/site-packages/litellm/{relative}"))
    require_tool(found[0] if found else None, f"the pinned LiteLLM's {relative}", "run `make tools`")
    return found[0].read_text()


@pytest.fixture(scope="module")
def litellm_series() -> set[str]:
    """Every series name the pinned LiteLLM's Prometheus callback can serve."""
    source = litellm_source("integrations/prometheus.py")
    declared = re.findall(r"_(counter|gauge|histogram)_factory\(\s*(?:name=)?\"(litellm_\w+)\"", source)
    assert len(declared) > 30, declared  # the parse found the declarations
    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_sum", "_count"]}
    return {name + suffix for kind, name in declared for suffix in suffixes[kind]}


@pytest.fixture(scope="module")
def litellm_labels() -> set[str]:
    source = litellm_source("types/integrations/prometheus.py")
    return {label for label in ("model", "team", "user", "end_user", "requested_model", "api_key_alias")
            if f'= "{label}"' in source or f'"{label}"' in source} | {"le"}


def dashboards(project: Path) -> dict[str, dict]:
    folder = project / "grafana" / "dashboards"
    return {path.name: json.loads(path.read_text()) for path in folder.glob("*.json")} if folder.is_dir() else {}


def queries(board: dict) -> list[str]:
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def series_and_labels(expr: str) -> tuple[set[str], set[str]]:
    """The series names and label names a PromQL expression uses."""
    labels = set(re.findall(r"(\w+)\s*=~?\s*\"", expr))
    for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels |= {label.strip() for label in group.split(",") if label.strip()}
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(?:by|without)\s*\([^)]*\)|\"[^\"]*\"", " ", expr)
    names = {token for token in re.findall(r"[a-zA-Z_:][\w:]*(?!\w|\s*\()", bare)
             if token not in PROMQL_WORDS and not re.fullmatch(r"\d+\w*", token)}
    return names, labels


def test_each_setup_with_prometheus_data_gets_its_dashboards(projects):
    for name, expected in EXPECTED.items():
        assert set(dashboards(projects[name])) == expected, name
        provisioning = projects[name] / "grafana" / "provisioning"
        assert provisioning.is_dir() == bool(expected), name


def test_the_dashboards_parse_with_the_foundation_sdk_and_lose_nothing(projects):
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models import dashboard, prometheus

    register_default_plugins()
    checked = 0
    for project in projects.values():
        for name, board in dashboards(project).items():
            parsed = dashboard.Dashboard.from_json(board)
            assert parsed.uid == board["uid"] and parsed.title.startswith("Claude Code: ")
            assert len(parsed.panels) >= 8
            for panel in parsed.panels:
                assert isinstance(panel, dashboard.Panel) and panel.targets, (name, panel.title)
                for target in panel.targets:
                    assert isinstance(target, prometheus.Dataquery), (name, panel.title, type(target))
                    assert target.datasource.type_val == "prometheus"
            encoded = json.loads(json.dumps(parsed, cls=JSONEncoder))
            assert_contained(board, encoded, name)
            checked += 1
    assert checked == 5


def assert_contained(ours, theirs, where: str) -> None:
    """Everything the file says survives the SDK's decode and encode (a key outside the schema would not)."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), where
        for key, value in ours.items():
            if value in ({}, [], None) and key not in theirs:
                continue  # an empty default the encoder leaves out
            assert key in theirs, f"{where}.{key}"
            assert_contained(value, theirs[key], f"{where}.{key}")
    elif isinstance(ours, list):
        assert isinstance(theirs, list) and len(ours) == len(theirs), where
        for n, (a, b) in enumerate(zip(ours, theirs)):
            assert_contained(a, b, f"{where}[{n}]")
    else:
        assert ours == theirs, where


def test_every_query_names_a_series_and_labels_the_pinned_software_exposes(projects, litellm_series, litellm_labels):
    seen = set()
    for project in projects.values():
        for name, board in dashboards(project).items():
            known, known_labels = ((litellm_series, litellm_labels) if name == "litellm-gateway.json"
                                   else (TELEMETRY_SERIES, TELEMETRY_LABELS | {"le"}))
            variable_queries = [v["query"]["query"] for v in board["templating"]["list"] if v["type"] == "query"]
            for expr in queries(board) + variable_queries:
                variable = re.fullmatch(r"label_values\((\w+), (\w+)\)", expr)  # Grafana's: a series, a label
                series, labels = ({variable.group(1)}, {variable.group(2)}) if variable else series_and_labels(expr)
                assert series, expr
                assert series <= known, (name, expr, series - known)
                assert labels <= known_labels, (name, expr, labels - known_labels)
                seen |= series
    # The parse is not vacuous: spend, requests, tokens and the prompt cache from both sources.
    assert {"litellm_spend_metric_total", "litellm_requests_metric_total", "litellm_input_cached_tokens_metric_total",
            "litellm_request_total_latency_metric_bucket", "litellm_remaining_team_budget_metric"} <= seen
    assert TELEMETRY_SERIES <= seen


def test_the_developer_view(projects):
    database = dashboards(projects["litellm-database-telemetry"])
    metrics = dashboards(projects["litellm-metrics"])
    telemetry_board = database["claude-code-telemetry.json"]
    behind = dashboards(projects["sso-front"])["litellm-gateway.json"]
    # Behind the SSO front a developer is LiteLLM's end user (the signed-in email), even with the spend database,
    # whose keys and teams are not developers' there: no budget panels.
    assert not [p for p in behind["panels"] if "Budget" in p["title"]]
    for board, label in ((database["litellm-gateway.json"], "user"), (metrics["litellm-gateway.json"], "end_user"),
                         (behind, "end_user"), (telemetry_board, "developer")):
        variable = next(v for v in board["templating"]["list"] if v["name"] == "developer")
        assert variable["query"]["query"].endswith(f", {label})") and variable["multi"] and variable["includeAll"]
        per_developer = [p for p in board["panels"] if p["title"].endswith("per developer")]
        assert per_developer and all(f"by ({label})" in t["expr"] for p in per_developer for t in p["targets"])
        assert all('=~"$developer"' in expr for expr in queries(board) if "by (requested_model)" not in expr
                   and "budget" not in expr and "latency" not in expr), board["uid"]


def test_the_series_the_template_reads_are_the_dashboards_series():
    """One home per name: the telemetry dashboard queries the series the HTML/table report reads."""
    from claude_gateway_template import dashboards as boards
    from claude_gateway_template import telemetry

    assert {telemetry.PROMETHEUS_COST, telemetry.PROMETHEUS_TOKENS} == TELEMETRY_SERIES
    assert boards.LITELLM_SPEND == "litellm_spend_metric_total"


def test_provisioning_loads_the_dashboards_and_the_data_source(projects):
    project = projects["litellm-database-telemetry"]
    provider = yaml.safe_load((project / "grafana/provisioning/dashboards/claude-code.yaml").read_text())
    assert provider["apiVersion"] == 1
    [entry] = provider["providers"]
    assert entry["type"] == "file" and entry["options"]["path"] == "/var/lib/grafana/dashboards/claude-code"
    assert entry["allowUiUpdates"] is False
    source = yaml.safe_load((project / "grafana/provisioning/datasources/prometheus.yaml").read_text())
    [datasource] = source["datasources"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "${PROMETHEUS_URL}"
    for board in dashboards(project).values():
        variable = next(v for v in board["templating"]["list"] if v["name"] == "datasource")
        assert variable["current"]["value"] == datasource["uid"] and variable["query"] == "prometheus"
        assert all(p["datasource"] == {"type": "prometheus", "uid": "${datasource}"} for p in board["panels"])
    text = (project / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    assert "the gateway's /metrics/" in text and "telemetry collector" in text
