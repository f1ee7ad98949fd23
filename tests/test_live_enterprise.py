"""Pattern D, live: developer machine → LiteLLM gateway (directly, NO_PROXY) → corporate proxy (tinyproxy) →
HTTPS mock provider on 127.0.0.2 whose certificate comes from the test CA (TLS inspection). Real LiteLLM started by
the generated run-local.sh with the generated proxy settings and the union CA bundle; real Claude Code CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from environment import clean_env, require_tool
from gateways import HANG_GUARD, started_gateway
from mock_provider import DEFAULT_REPLY, RunningMock
from proxies import PROXIED_HOST, Tinyproxy

pytestmark = pytest.mark.live

GATEWAY_HOST = "127.0.0.3"  # loopback but not 127.0.0.1: only the generated NO_PROXY entry keeps it off the proxy


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    import shutil
    binary = require_tool(shutil.which("tinyproxy"), "tinyproxy", "apt-get install tinyproxy-bin")
    tp = Tinyproxy(binary, tmp_path_factory.mktemp("tinyproxy"))
    yield tp
    tp.stop()


@pytest.fixture(scope="module")
def enterprise(copie_module, template_repo, litellm_bin, proxy, test_ca):
    def build_bundle(gw):
        built = gw.run("gateway/build-ca-bundle.sh")
        assert built.returncode == 0, built.stderr

    with RunningMock(host=PROXIED_HOST, tls=(test_ca["cert"], test_ca["key"])) as mock, started_gateway(
            copie_module, template_repo, litellm_bin, mock, bind=GATEWAY_HOST, prepare=build_bundle,
            corporate_proxy=True, proxy_url=proxy.url, corporate_ca_cert=test_ca["ca"], anthropic_base_url=mock.url,
            gateway_via_proxy=False) as gw:
        yield gw


def doctor(gw) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", ". ./client/env.sh && scripts/check-status.sh"], cwd=gw.project,
                          env=clean_env(gw.home, ANTHROPIC_AUTH_TOKEN=gw.master_key), capture_output=True, text=True,
                          timeout=HANG_GUARD, check=False)


def client_requests_in_proxy_log(proxy) -> list[str]:
    return [line for line in proxy.log_text().splitlines() if GATEWAY_HOST in line]


def test_gateway_reaches_the_provider_through_the_proxy(enterprise, proxy):
    result = enterprise.run("scripts/health-check.sh")
    assert result.returncode == 0, result.stdout + result.stderr + (enterprise.project / "gateway/litellm.log").read_text()
    assert DEFAULT_REPLY in result.stdout
    assert f"CONNECT {PROXIED_HOST}:{enterprise.mock.port}" in proxy.log_text()  # the gateway's upstream tunnel
    assert enterprise.mock.messages_requests()


def test_real_cli_through_the_gateway_and_no_client_traffic_on_the_proxy(enterprise, proxy, claude_bin):
    env_sh = (enterprise.project / "client" / "env.sh").read_text()
    assert f"export NO_PROXY=localhost,127.0.0.1,::1,{GATEWAY_HOST}" in env_sh
    result = subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'],
                            cwd=enterprise.project, capture_output=True, text=True, timeout=HANG_GUARD,
                            stdin=subprocess.DEVNULL,
                            env=clean_env(enterprise.home, CLAUDE_BIN=claude_bin, ANTHROPIC_AUTH_TOKEN=enterprise.master_key), check=False)
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    assert client_requests_in_proxy_log(proxy) == []  # client→gateway went directly


def test_doctor_passes_every_hop_and_reports_the_route(enterprise):
    result = doctor(enterprise)
    assert result.returncode == 0, result.stdout
    for line in (f"ok    route: {GATEWAY_HOST} is in NO_PROXY, so Claude Code reaches it directly",
                 f"ok    gateway: {enterprise.url} answered HTTP 200",
                 "ok    gateway: the key from ANTHROPIC_AUTH_TOKEN is accepted",
                 "ok    provider: one model call through the gateway succeeded"):
        assert line in result.stdout, result.stdout
    assert enterprise.master_key not in result.stdout


def test_no_key_in_generated_files_or_outputs(enterprise):
    secrets = [v for k, v in (line.split("=", 1) for line in (enterprise.project / "gateway" / ".env").read_text()
                              .splitlines() if line and not line.startswith("#")) if v]
    assert enterprise.master_key in secrets and len(secrets) >= 3
    outputs = doctor(enterprise).stdout + enterprise.run("scripts/health-check.sh").stdout
    for path in enterprise.project.rglob("*"):
        if path.is_file() and path.name not in (".env",) and ".venv" not in path.parts:
            text = path.read_text(errors="replace")
            assert not [s for s in secrets if s in text], path
    assert not [s for s in secrets if s in outputs]


def test_doctor_names_the_provider_hop_when_the_proxy_is_down(enterprise, proxy):
    proxy.stop()
    try:
        result = doctor(enterprise)
        assert result.returncode == 1
        assert "FAIL  provider: a model call through the gateway answered HTTP" in result.stdout
        assert result.stdout.rstrip().endswith("first failing hop: provider")
        health = enterprise.run("scripts/health-check.sh")
        assert health.returncode == 1 and "health check failed at step 4 (round-trip)" in health.stdout
    finally:
        proxy.start()


def test_without_the_union_bundle_the_upstream_call_fails(enterprise, litellm_bin):
    """The proof that the corporate CA in gateway/ca-bundle.pem is what lets the gateway through TLS inspection:
    the same gateway with only the public roots cannot call the provider."""
    python = subprocess.run([str(Path(litellm_bin).parent / "python"), "-c",
                             "import certifi; print(certifi.where())"], capture_output=True, text=True, timeout=60, check=False)
    bundle = enterprise.project / "gateway" / "ca-bundle.pem"
    union = bundle.read_text()
    assert enterprise.run("gateway/run-local.sh", "stop").returncode == 0
    bundle.write_text(Path(python.stdout.strip()).read_text())  # public roots only
    try:
        assert enterprise.run("gateway/run-local.sh", "start").returncode == 0
        result = enterprise.run("scripts/health-check.sh")
        assert result.returncode == 1
        assert "health check failed at step 4 (round-trip)" in result.stdout, result.stdout
        # The failure is the one meant: the provider's certificate is not trusted (not any other 500).
        assert "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate" \
            in result.stdout, result.stdout
    finally:
        bundle.write_text(union)


def test_doctor_names_the_gateway_hop_when_the_gateway_is_down(enterprise):
    assert enterprise.run("gateway/run-local.sh", "stop").returncode == 0
    result = doctor(enterprise)
    assert result.returncode == 1
    assert f"FAIL  gateway: {enterprise.url} did not answer" in result.stdout
    assert result.stdout.rstrip().endswith("first failing hop: gateway")
