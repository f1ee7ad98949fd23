"""Usage telemetry, live: the real Claude Code CLI with the generated client files exports its OpenTelemetry
metrics to a loopback OTLP/HTTP receiver (tests/support/otlp_receiver.py, decoding with opentelemetry-proto):
cost and tokens per model, with the developer's name and without a session id, and no credential anywhere.
Pattern A direct to the receiver; B with the provider through tinyproxy and the collector direct (NO_PROXY); C
through the generated LiteLLM gateway with the export beside it; the Claude apps gateway relaying the export
(telemetry.forward_to) stamped with the signed-in user. What arrived, translated as the collector's prometheus
exporter does (tests/support/otlp_translation.py) and served by a fake Prometheus, is what
scripts/usage-report.sh's telemetry source reports."""

from __future__ import annotations

import json
import subprocess

import pytest
from claude_gateway_template import telemetry
from environment import clean_env
from gateways import started_gateway
from generated_apps_gateway import HANG_GUARD as GATEWAY_HANG_GUARD
from generated_apps_gateway import started_apps_gateway
from mock_provider import DEFAULT_REPLY
from oidc_issuer import RunningIssuer, TestUser
from otlp_translation import exposition
from prometheus_fake import RunningFakePrometheus
from proxies import PROXIED_HOST

pytestmark = pytest.mark.live

HANG_GUARD = 120
COST, TOKENS = "claude_code.cost.usage", "claude_code.token.usage"
API_KEY = "sk-ant-test-telemetry-key"
COLLECTOR_HOST = "127.0.0.3"  # loopback, but not in NO_PROXY by itself: only the generated NO_PROXY keeps it direct
# The test's own: a 1 s export interval (60 s by default) so a run takes seconds.
FAST_EXPORT = {"OTEL_METRIC_EXPORT_INTERVAL": "1000", "OTEL_LOGS_EXPORT_INTERVAL": "1000"}


def claude(claude_bin, project, home, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'], cwd=project,
                          env=clean_env(home, CLAUDE_BIN=claude_bin, ANTHROPIC_API_KEY=API_KEY, USER="alice",
                                        **FAST_EXPORT, **env),
                          capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False)


def assert_cost_and_tokens_per_developer(receiver, secrets: tuple[str, ...]) -> None:
    assert receiver.wait_for(COST, TOKENS), [e.path for e in receiver.exports]
    assert {e.content_type for e in receiver.exports} == {"application/x-protobuf"}  # http/protobuf, as generated
    for point in receiver.metric_points(COST) + receiver.metric_points(TOKENS):
        assert point.resource.get("developer") == "alice", point
        assert point.attributes.get("model") == "claude-opus-5-5", point
        assert "session.id" not in point.attributes and "session.id" not in point.resource, point
    assert sum(p.value for p in receiver.metric_points(COST)) > 0
    # The units and counter kind the collector's Prometheus names depend on (telemetry.PROMETHEUS_COST, _TOKENS).
    assert {(p.unit, p.monotonic) for p in receiver.metric_points(COST)} == {(telemetry.COST_UNIT, True)}
    assert {(p.unit, p.monotonic) for p in receiver.metric_points(TOKENS)} == {(telemetry.TOKEN_UNIT, True)}
    assert {p.attributes.get("type") for p in receiver.metric_points(TOKENS)} >= {"input", "output"}
    exported = receiver.every_attribute_value()
    for secret in secrets:
        assert not any(secret in value for value in exported), secret
    for export in receiver.exports:
        assert not any(secret in value for value in export.headers.values() for secret in secrets)


def assert_the_report_shows_what_was_exported(project, receiver, home, *source: str) -> None:
    """What the receiver got, as the collector's Prometheus would hold it, through scripts/usage-report.sh."""
    with RunningFakePrometheus(exposition(receiver.metric_points(COST) + receiver.metric_points(TOKENS))) as prom:
        result = subprocess.run(["scripts/usage-report.sh", *source, "--format", "json"], cwd=project,
                                env=clean_env(home, PROMETHEUS_URL=prom.url), capture_output=True, text=True,
                                timeout=HANG_GUARD, check=False)
    assert result.returncode == 0, result.stderr
    [alice] = [row for row in json.loads(result.stdout) if row["developer"] == "alice"]
    assert alice["est_cost_usd"] == round(sum(p.value for p in receiver.metric_points(COST)), 6) > 0
    assert alice["input_tokens"] == sum(p.value for p in receiver.metric_points(TOKENS)
                                        if p.attributes.get("type") == "input") > 0


def test_pattern_a_exports_cost_and_tokens_per_developer(generate, claude_bin, mock_provider, otlp_receiver,
                                                         tmp_path):
    receiver = otlp_receiver()
    project = generate(anthropic_base_url=mock_provider.url, usage_telemetry=True, otel_endpoint=receiver.url,
                       disable_nonessential_traffic=True)
    result = claude(claude_bin, project, tmp_path)
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    assert_cost_and_tokens_per_developer(receiver, (API_KEY,))
    assert {e.path for e in receiver.exports} >= {"/v1/metrics"}
    assert_the_report_shows_what_was_exported(project, receiver, tmp_path)


def test_pattern_b_exports_directly_past_the_proxy(generate, claude_bin, tls_provider, tinyproxy, test_ca,
                                                   otlp_receiver, tmp_path):
    proxy = tinyproxy()
    receiver = otlp_receiver(COLLECTOR_HOST)
    project = generate(corporate_proxy=True, proxy_url=proxy.url, anthropic_base_url=tls_provider.url,
                       corporate_ca_cert=test_ca["ca"], usage_telemetry=True, otel_endpoint=receiver.url)
    result = claude(claude_bin, project, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"CONNECT {PROXIED_HOST}:{tls_provider.port}" in proxy.log_text()  # the provider through the proxy
    assert_cost_and_tokens_per_developer(receiver, (API_KEY,))
    assert COLLECTOR_HOST not in proxy.log_text()  # ...the collector directly (its host in the generated NO_PROXY)


def test_the_collector_header_comes_from_the_otel_headers_helper(generate, claude_bin, mock_provider, otlp_receiver,
                                                                 tmp_path):
    """otel_headers_helper: Claude Code runs the command (otelHeadersHelper, put into the user's settings by
    client/install.sh) and sends the headers it prints; the token is in no file and no environment variable."""
    receiver = otlp_receiver()
    token = "helper-minted-token-0123456789"
    helper = tmp_path / "otel-headers.sh"
    helper.write_text(f"#!/bin/sh\nprintf '{{\"Authorization\": \"Bearer %s\"}}' \"$(printf '%s' {token[:12]!r})"
                      f"$(printf '%s' {token[12:]!r})\"\n")  # the token never whole in the script either
    helper.chmod(0o755)
    project = generate(anthropic_base_url=mock_provider.url, usage_telemetry=True, otel_endpoint=receiver.url,
                       otel_header="Authorization", otel_headers_helper=str(helper))
    home = tmp_path / "home"
    home.mkdir()
    installed = subprocess.run(["client/install.sh"], cwd=project, env=clean_env(home, USER="alice"), capture_output=True,
                               text=True, timeout=HANG_GUARD, check=False)
    assert installed.returncode == 0, installed.stderr
    assert "OTEL_COLLECTOR_HEADER_VALUE" not in (project / "client/env.sh").read_text().split("otelHeadersHelper")[0]
    assert "developer=alice" in (home / ".claude/settings.json").read_text()  # install.sh's per-developer entry
    result = claude(claude_bin, project, home)
    assert result.returncode == 0, result.stderr
    assert_cost_and_tokens_per_developer(receiver, (API_KEY,))
    assert not any(token in value for value in receiver.every_attribute_value())
    assert {e.headers.get("authorization") for e in receiver.exports} == {f"Bearer {token}"}
    written = [path for root in (project, home) for path in root.rglob("*") if path.is_file()]
    assert not [path for path in written if token.encode() in path.read_bytes()]


def test_pattern_c_exports_beside_the_litellm_gateway(copie, template_repo, claude_bin, litellm_bin, mock_provider,
                                                      otlp_receiver):
    receiver = otlp_receiver()
    with started_gateway(copie, template_repo, litellm_bin, mock_provider, anthropic_base_url=mock_provider.url,
                         usage_telemetry=True, otel_endpoint=receiver.url) as gateway:
        requests_before = len(gateway.mock.messages_requests())
        result = subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'],
                                cwd=gateway.project, env=clean_env(gateway.home, CLAUDE_BIN=claude_bin, USER="alice",
                                                                   ANTHROPIC_AUTH_TOKEN=gateway.master_key,
                                                                   **FAST_EXPORT),
                                capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL,
                                check=False)
        assert result.returncode == 0, result.stderr
        assert DEFAULT_REPLY in result.stdout
        assert len(gateway.mock.messages_requests()) > requests_before  # the turn went through the gateway...
        assert_cost_and_tokens_per_developer(receiver, (gateway.master_key,))  # ...the export beside it
        assert_the_report_shows_what_was_exported(gateway.project, receiver, gateway.home, "--source", "telemetry")


def test_the_claude_apps_gateway_relays_the_export_stamped_with_the_user(copie, template_repo, claude_bin, gateway_db,
                                                                         gateway_ca, mock_provider, otlp_receiver):
    receiver = otlp_receiver()
    alice = TestUser(sub="alice@example.com", email="alice@example.com", groups=["engineering"])
    with RunningIssuer(user=alice) as issuer, started_apps_gateway(
            copie, template_repo, claude_bin, issuer, gateway_db, gateway_ca, mock_provider.url,
            usage_telemetry=True, otel_endpoint=receiver.url) as gateway:
        assert "telemetry relay: 1 destination(s)" in gateway.log
        home = gateway.developer("alice")
        gateway.signed_in_as(home, alice.email, alice.groups)
        result = subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'],
                                cwd=gateway.project, env=clean_env(home, CLAUDE_BIN=claude_bin, USER="alice",
                                                                   **FAST_EXPORT),
                                capture_output=True, text=True, timeout=GATEWAY_HANG_GUARD,
                                stdin=subprocess.DEVNULL, check=False)
        assert result.returncode == 0, result.stdout + result.stderr + gateway.log[-3000:]
        assert receiver.wait_for(COST, TOKENS), gateway.log[-3000:]
        secrets = tuple(value for value in gateway.secrets.values() if len(value) >= 16)
        assert_cost_and_tokens_per_developer(receiver, secrets)
        # The gateway stamps the signed-in user (2.1.332: these resource attributes, seen here).
        for point in receiver.metric_points(COST):
            assert point.resource.get("user.email") == alice.email, point
            assert point.resource.get("identity.source") == "gateway-oidc", point


def test_the_doctor_says_whether_the_collector_answers(generate, mock_provider, otlp_receiver, tmp_path):
    receiver = otlp_receiver()
    project = generate(anthropic_base_url=mock_provider.url, usage_telemetry=True, otel_endpoint=receiver.url)

    def doctor(endpoint: str) -> subprocess.CompletedProcess:
        script = '. ./client/env.sh 2>/dev/null && OTEL_EXPORTER_OTLP_ENDPOINT="$1" scripts/check-status.sh'
        return subprocess.run(["sh", "-c", script, "sh", endpoint], cwd=project, capture_output=True,
                              text=True, timeout=HANG_GUARD, env=clean_env(tmp_path, ANTHROPIC_API_KEY=API_KEY),
                              check=False)

    answered = doctor(receiver.url)
    assert f"telemetry: {receiver.url}/v1/metrics answered HTTP 200" in answered.stdout, answered.stdout
    assert "config: OTEL_METRICS_INCLUDE_SESSION_ID=false" in answered.stdout
    assert answered.returncode == 0, answered.stdout
    assert [e.path for e in receiver.exports] == ["/v1/metrics"]  # the doctor's empty export
    nothing = "http://127.0.0.1:9"  # nothing listens on port 9
    silent = doctor(nothing)
    assert f"telemetry: {nothing}/v1/metrics did not answer" in silent.stdout, silent.stdout
    assert silent.returncode == 1
