"""scripts/usage-report.sh's telemetry source: cost and tokens per developer or model from the Prometheus the
collector feeds, against a loopback fake of Prometheus's query API (tests/support/prometheus_fake.py) serving an
exposition written from OTLP points by the collector exporter's documented translation
(tests/support/otlp_translation.py, cited there). Pattern A (the only usage report there), and beside each gateway
engine's own report (`--source telemetry`). The live test (tests/test_live_telemetry.py) feeds it what the real
CLI exported."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

import pytest
from claude_gateway_template import telemetry
from environment import clean_env
from golden_trees import render, render_all
from otlp_translation import exposition
from prometheus_fake import RunningFakePrometheus
from report_data import Point, telemetry_cost, telemetry_tokens

HANG_GUARD = 60
DAY = 86400


cost, tokens = telemetry_cost, telemetry_tokens


POINTS = [cost("alice", "claude-opus-5-5", 1.25), cost("alice", "claude-haiku-4-5", 0.05),
          cost("bob", "claude-opus-5-5", 0.5), cost(None, "claude-opus-5-5", 0.01),
          tokens("alice", "claude-opus-5-5", "input", 1000), tokens("alice", "claude-opus-5-5", "output", 200),
          tokens("alice", "claude-opus-5-5", "cacheRead", 3000), tokens("bob", "claude-opus-5-5", "input", 10),
          tokens("bob", "claude-opus-5-5", "cacheCreation", 40),
          # Another metric the report must not add in (the same labels).
          Point("claude_code.lines_of_code.count", 99, {"type": "added"}, {"developer": "alice"}, "")]
A = {"usage_telemetry": True, "otel_endpoint": "http://127.0.0.1:14318"}
LITELLM = {"usage_telemetry": True, "otel_endpoint": "https://otel.example.com", "cost_tracking": True}
APPS = {"usage_telemetry": True, "otel_endpoint": "https://otel.example.com", "cost_tracking": True,
        "gateway_engine": "claude_apps_gateway", "gateway_runtime": "process", "oidc_issuer": "https://login.example.com"}


@pytest.fixture(scope="module")
def projects(template_repo, tmp_path_factory) -> dict[str, Path]:
    return render_all(template_repo, tmp_path_factory.mktemp("telemetry-report"),
                      {"a": A, "litellm": LITELLM, "apps": APPS})


def report(project: Path, home: Path, *args: str, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(["scripts/usage-report.sh", *args], cwd=project, capture_output=True, text=True,
                          timeout=HANG_GUARD, env=clean_env(home, PROMETHEUS_URL=url, PROMETHEUS_TIMEOUT="10"),
                          check=False)


def test_the_exposition_has_the_names_the_report_asks_for():
    text = exposition(POINTS)
    assert f'{telemetry.PROMETHEUS_COST}{{developer="alice",model="claude-opus-5-5",service_name="claude-code",' \
           f'user_id="h4sh"}} 1.25' in text
    assert f'{telemetry.PROMETHEUS_TOKENS}{{developer="alice",model="claude-opus-5-5",service_name="claude-code",' \
           f'type="input"}} 1000' in text


def test_pattern_a_reports_cost_and_tokens_per_developer(projects, tmp_path):
    with RunningFakePrometheus(exposition(POINTS)) as prometheus:
        table = report(projects["a"], tmp_path, "--since", "2026-11-01", "--until", "2026-11-07", url=prometheus.url)
        as_json = report(projects["a"], tmp_path, "--since", "2026-11-01", "--until", "2026-11-07", "--format",
                         "json", url=prometheus.url)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == (f"per developer, 2026-11-01 to 2026-11-07 (UTC days), from Claude Code's telemetry "
                        f"(Prometheus {prometheus.url}); est_cost_usd: Claude Code's list-price estimate")
    assert lines[1].split() == ["developer", "est_cost_usd", "input_tokens", "output_tokens", "cache_read_tokens",
                                "cache_creation_tokens"]
    assert lines[2].split() == ["(no", "developer", "attribute)", "0.010000", "0", "0", "0", "0"]
    assert lines[3].split() == ["alice", "1.300000", "1000", "200", "3000", "0"]
    assert lines[4].split() == ["bob", "0.500000", "10", "0", "0", "40"]
    assert json.loads(as_json.stdout)[1] == {"developer": "alice", "est_cost_usd": 1.3, "input_tokens": 1000,
                                             "output_tokens": 200, "cache_read_tokens": 3000,
                                             "cache_creation_tokens": 0}
    # The queries: the exporter's names, the whole days asked for, evaluated at the end of the last one.
    end = datetime.datetime(2026, 11, 8, tzinfo=datetime.timezone.utc).timestamp()
    assert [q["query"] for q in prometheus.queries[:2]] == [
        f"sum by (developer) (increase({telemetry.PROMETHEUS_COST}[{7 * DAY}s]))",
        f"sum by (developer, type) (increase({telemetry.PROMETHEUS_TOKENS}[{7 * DAY}s]))"]
    assert float(prometheus.queries[0]["time"]) == end


def test_per_model_and_csv(projects, tmp_path):
    with RunningFakePrometheus(exposition(POINTS)) as prometheus:
        result = report(projects["a"], tmp_path, "--by", "model", "--format", "csv", url=prometheus.url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "model,est_cost_usd,input_tokens,output_tokens,cache_read_tokens,cache_creation_tokens",
        "claude-haiku-4-5,0.05,0,0,0,0", "claude-opus-5-5,1.76,1010,200,3000,40"]
    # Default period: the last 7 days up to now.
    assert prometheus.queries[0]["query"].startswith("sum by (model) (increase(")


def test_a_prometheus_that_fails_is_one_line_and_exit_1(projects, tmp_path):
    with RunningFakePrometheus() as prometheus:
        prometheus.status = 503
        failed = report(projects["a"], tmp_path, url=prometheus.url)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.strip() == f"usage-report.sh: Prometheus at {prometheus.url} answered HTTP 503: fake failure"
    nothing = report(projects["a"], tmp_path, url="http://127.0.0.1:9")  # nothing listens on port 9
    assert nothing.returncode == 1 and len(nothing.stderr.splitlines()) == 1
    assert "did not answer" in nothing.stderr and "PROMETHEUS_URL" in nothing.stderr
    usage = report(projects["a"], tmp_path, "--by", "team", url="http://127.0.0.1:9")
    assert usage.returncode == 2


def test_the_default_prometheus_is_the_one_compose_publishes(projects):
    script = (projects["a"] / "scripts/usage-report.sh").read_text()
    assert f'PROMETHEUS_URL="${{PROMETHEUS_URL:-{telemetry.PROMETHEUS_DEFAULT_URL}}}"' in script


@pytest.mark.parametrize("engine", ["litellm", "apps"])
def test_beside_a_gateway_the_telemetry_source_says_where_its_figures_come_from(projects, engine, tmp_path):
    with RunningFakePrometheus(exposition(POINTS)) as prometheus:
        for source in (["--source", "telemetry"], ["--source=telemetry"]):
            result = report(projects[engine], tmp_path, *source, url=prometheus.url)
            assert result.returncode == 0, result.stderr
            assert "from Claude Code's telemetry" in result.stdout.splitlines()[0]
            assert result.stdout.splitlines()[-1] == ("The gateway metered its own figures: scripts/usage-report.sh "
                                                      "without --source telemetry.")
            assert any(line.split()[:2] == ["alice", "1.300000"] for line in result.stdout.splitlines())
    # Without it, the gateway's own report (here: no admin key, so it stops before calling anything).
    gateway = report(projects[engine], tmp_path, url=prometheus.url)
    assert gateway.returncode == 1 and "telemetry" not in gateway.stderr, gateway.stderr


def test_no_telemetry_no_report_for_a_and_b(template_repo, tmp_path):
    render(template_repo, {}, tmp_path / "a")
    assert not (tmp_path / "a/scripts/usage-report.sh").exists()
    assert not (tmp_path / "a/scripts/lib/telemetry_report.py").exists()
