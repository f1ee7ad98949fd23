"""Pattern B, live: the real Claude Code CLI and the generated doctor through a real forward proxy (tinyproxy) on
loopback to an HTTPS mock provider on 127.0.0.2 whose certificate comes from a test CA ("TLS inspection")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from environment import clean_env, free_port
from mock_provider import DEFAULT_REPLY
from proxies import PROXIED_HOST

pytestmark = pytest.mark.live

HANG_GUARD = 120
PROXY_USER, PROXY_PASSWORD = "alice", "s3cret-Proxy_pw.1"  # tinyproxy's BasicAuth takes only [A-Za-z0-9_.-]


def proxied_project(generate, provider_url: str, proxy_url: str, ca: str | None, user: str | None = None) -> Path:
    return generate(corporate_proxy=True, proxy_url=proxy_url, anthropic_base_url=provider_url,
                    corporate_ca_cert=ca or "", proxy_username=user or "")


def claude(claude_bin: str, project: Path, home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'], cwd=project,
                          env=clean_env(home, CLAUDE_BIN=claude_bin, ANTHROPIC_API_KEY="sk-ant-test", **env),
                          capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False)


def doctor(project: Path, home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", ". ./client/env.sh 2>/dev/null && scripts/check-status.sh"], cwd=project,
                          env=clean_env(home, ANTHROPIC_API_KEY="sk-ant-test", **env), capture_output=True,
                          text=True, timeout=HANG_GUARD, check=False)


def test_cli_reaches_the_provider_through_the_proxy_with_the_corporate_ca(generate, claude_bin, tls_provider,
                                                                          tinyproxy, test_ca, tmp_path):
    proxy = tinyproxy()
    project = proxied_project(generate, tls_provider.url, proxy.url, test_ca["ca"])
    result = claude(claude_bin, project, tmp_path)
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    assert f"CONNECT {PROXIED_HOST}:{tls_provider.port}" in proxy.log_text()  # the tunnel went through the proxy
    assert tls_provider.messages_requests()


def test_without_the_ca_setting_the_same_run_fails(generate, claude_bin, tls_provider, tinyproxy, test_ca,
                                                   tmp_path):
    """The control: the generated NODE_EXTRA_CA_CERTS is what makes the run above work."""
    proxy = tinyproxy()
    project = proxied_project(generate, tls_provider.url, proxy.url, ca=None)
    result = claude(claude_bin, project, tmp_path, CLAUDE_CODE_MAX_RETRIES="0")
    assert result.returncode != 0
    assert DEFAULT_REPLY not in result.stdout
    # The failure is the one meant: the certificate is not trusted (not a refused connection, a proxy error, ...).
    assert "SSL certificate verification failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE)" in result.stdout + result.stderr, \
        result.stdout + result.stderr
    assert f"CONNECT {PROXIED_HOST}:{tls_provider.port}" in proxy.log_text()  # it did go through the proxy
    assert not tls_provider.messages_requests()


def test_doctor_passes_every_hop(generate, tls_provider, tinyproxy, test_ca, tmp_path):
    proxy = tinyproxy()
    project = proxied_project(generate, tls_provider.url, proxy.url, test_ca["ca"])
    result = doctor(project, tmp_path)
    assert result.returncode == 0, result.stdout
    for line in (f"ok    route: {PROXIED_HOST} goes through the proxy {proxy.url}",
                 f"ok    proxy: {proxy.url} accepts connections",
                 f"ok    tls: {PROXIED_HOST}:{tls_provider.port} presents a certificate from your corporate CA",
                 f"ok    proxy: CONNECT to {PROXIED_HOST}:{tls_provider.port} accepted",
                 f"ok    provider: {tls_provider.url} answered HTTP 200"):
        assert line in result.stdout, result.stdout


def test_doctor_names_untrusted_tls(generate, tls_provider, tinyproxy, tmp_path):
    proxy = tinyproxy()
    project = proxied_project(generate, tls_provider.url, proxy.url, ca=None)
    result = doctor(project, tmp_path)
    assert result.returncode == 1
    assert (f"FAIL  tls: the certificate of {PROXIED_HOST}:{tls_provider.port} is not trusted (TLS inspection?): "
            "set corporate_ca_cert to your corporate root CA") in result.stdout
    assert result.stdout.rstrip().endswith("first failing hop: tls")


def test_authenticating_proxy(generate, claude_bin, tls_provider, tinyproxy, test_ca, tmp_path):
    proxy = tinyproxy(PROXY_USER, PROXY_PASSWORD)
    project = proxied_project(generate, tls_provider.url, proxy.url, test_ca["ca"], user=PROXY_USER)

    good = claude(claude_bin, project, tmp_path, PROXY_PASSWORD=PROXY_PASSWORD)
    assert good.returncode == 0, good.stderr
    assert DEFAULT_REPLY in good.stdout
    ok = doctor(project, tmp_path, PROXY_PASSWORD=PROXY_PASSWORD)
    assert ok.returncode == 0, ok.stdout
    assert f"ok    config: HTTPS_PROXY={proxy.url} with credentials (from your shell)" in ok.stdout

    wrong = doctor(project, tmp_path, PROXY_PASSWORD="not-the-password")
    assert wrong.returncode == 1
    assert ("FAIL  proxy: the proxy refused the credentials (HTTP 401): check PROXY_PASSWORD (and proxy_username)"
            in wrong.stdout)
    assert wrong.stdout.rstrip().endswith("first failing hop: proxy")

    missing = doctor(project, tmp_path)
    assert "FAIL  config: HTTPS_PROXY carries no credentials; export PROXY_PASSWORD" in missing.stdout

    # The password never appears in any output, generated file or the answers file.
    for output in (good.stdout, good.stderr, ok.stdout, ok.stderr, wrong.stdout, wrong.stderr):
        assert PROXY_PASSWORD not in output
    for path in project.rglob("*"):
        if path.is_file():
            assert PROXY_PASSWORD not in path.read_text(errors="replace"), path


def test_stopped_proxy_is_named_as_the_failing_hop(generate, tls_provider, tinyproxy, test_ca, tmp_path):
    proxy = tinyproxy()
    project = proxied_project(generate, tls_provider.url, proxy.url, test_ca["ca"])
    proxy.stop()
    result = doctor(project, tmp_path)
    assert result.returncode == 1
    assert f"FAIL  proxy: cannot reach {proxy.url}" in result.stdout
    assert result.stdout.rstrip().endswith("first failing hop: proxy")
    assert "provider:" not in result.stdout  # later hops are not blamed


def test_no_proxy_host_is_reached_directly(generate, tinyproxy, mock_provider, tmp_path):
    """127.0.0.1 is always in NO_PROXY: the doctor says so and never touches the proxy."""
    proxy = tinyproxy()
    project = generate(corporate_proxy=True, proxy_url=proxy.url, anthropic_base_url=mock_provider.url)
    result = doctor(project, tmp_path)
    assert result.returncode == 0, result.stdout
    assert "ok    route: 127.0.0.1 is in NO_PROXY, so Claude Code reaches it directly" in result.stdout
    assert "Request (file descriptor" not in proxy.log_text()  # no request reached the proxy


def test_unreachable_proxy_port(generate, tls_provider, test_ca, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    project = proxied_project(generate, tls_provider.url, dead, test_ca["ca"])
    result = doctor(project, tmp_path)
    assert result.returncode == 1 and f"FAIL  proxy: cannot reach {dead}" in result.stdout
