"""Pattern D with the Claude apps gateway, live (issue 32): the generated gateway (started by its own run-local.sh with
the pinned CLI) reaches its provider only through the corporate proxy, a real tinyproxy on loopback; the provider
(the mock, https on 127.0.0.2 with a certificate from the corporate CA) is trusted through the NODE_EXTRA_CA_CERTS
run-local.sh exports from corporate_ca_cert; developers reach the gateway directly (NO_PROXY), end to end with the
real CLI. check-status.sh names a developer machine whose NO_PROXY lacks the gateway host.

Not exercised here, and why: the proxy-only egress mode (CLAUDE_GATEWAY_PROXY_IS_EGRESS_BOUNDARY=1). The gateway
switches it off itself when NO_PROXY is non-empty or CLAUDE_GATEWAY_ALLOW_LOOPBACK is set, and loopback tests need
both (docs/claude-apps-gateway.md says so too)."""

from __future__ import annotations

import json
import re
import shutil

import postgres
import pytest
from environment import require_tool
from generated_apps_gateway import UPSTREAM_KEY, started_apps_gateway
from mock_provider import DEFAULT_REPLY, RunningMock
from oidc_issuer import RunningIssuer, TestUser
from proxies import PROXIED_HOST, Tinyproxy
from tls_ca import TestCA

pytestmark = pytest.mark.live

ALICE = TestUser(sub="00u-alice", email="alice@example.com", groups=["engineering"])


@pytest.fixture(scope="module")
def setup(copie_module, template_repo, claude_bin, tmp_path_factory):
    """(gateway, proxy, mock): one CA signs the gateway's certificate and the provider's (the corporate CA)."""
    require_tool(postgres.PG_BIN / "initdb", "PostgreSQL 15", "apt-get install postgresql")
    binary = require_tool(shutil.which("tinyproxy") or "/usr/bin/tinyproxy", "tinyproxy",
                          "apt-get install tinyproxy-bin")
    workdir = tmp_path_factory.mktemp("d-proxy")
    ca = TestCA.create(workdir / "ca")
    provider_leaf = ca.issue(workdir / "provider-tls", names=(PROXIED_HOST,))
    proxy = Tinyproxy(binary, workdir)
    try:
        with postgres.Postgres() as db, RunningIssuer(user=ALICE) as issuer, \
                RunningMock(host=PROXIED_HOST, tls=(str(provider_leaf.cert_path), str(provider_leaf.key_path))) as mock, \
                started_apps_gateway(copie_module, template_repo, claude_bin, issuer, db, ca, mock.url,
                                     corporate_proxy=True, proxy_url=proxy.url) as gateway:
            yield gateway, proxy, mock
    finally:
        proxy.stop()


def connects(proxy: Tinyproxy) -> list[str]:
    """host:port of every CONNECT tinyproxy logged."""
    return re.findall(r"CONNECT ([^ ]+) HTTP", proxy.log_text())


def test_the_gateway_reaches_its_provider_only_through_the_proxy_and_developers_reach_it_directly(setup):
    gateway, proxy, mock = setup
    run_local = (gateway.project / "gateway" / "run-local.sh").read_text()
    assert f"default={proxy.url}; export HTTPS_PROXY=" in run_local.replace("'", "")
    assert f'default={gateway.ca_path}; export NODE_EXTRA_CA_CERTS="${{NODE_EXTRA_CA_CERTS:-$default}}"' in \
        run_local.replace("'", "")  # the corporate CA, for the provider's certificate behind the proxy
    home = gateway.developer("alice")
    gateway.signed_in(home, ALICE.sub, ALICE.email, ALICE.groups)
    env_sh = gateway.run("sh", "-c", ". ./client/env.sh && printf '%s\\n' \"$HTTPS_PROXY\" \"$NO_PROXY\"", home=home)
    client_proxy, client_no_proxy = env_sh.stdout.splitlines()
    assert client_proxy == proxy.url and "localhost" in client_no_proxy.split(",")

    before = len(mock.messages_requests())
    result = gateway.claude(home)
    assert result.returncode == 0, result.stdout + result.stderr + gateway.log[-3000:]
    assert DEFAULT_REPLY in result.stdout
    sent = mock.messages_requests()[before:]
    assert sent and {r.headers.get("x-api-key") for r in sent} == {UPSTREAM_KEY}
    tunnels = connects(proxy)
    port = gateway.url.rsplit(":", 1)[1]
    assert f"{PROXIED_HOST}:{mock.port}" in tunnels, proxy.log_text()[-2000:]  # the provider: through the proxy
    assert not [t for t in tunnels if t.endswith(f":{port}")], tunnels  # the gateway: never through it


def test_check_status_names_the_missing_proxy_bypass(setup):
    gateway, _, _ = setup
    home = gateway.developer("bob")
    gateway.signed_in(home, "00u-bob", "bob@example.com", ["engineering"])
    settings_path = home / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["env"]["NO_PROXY"] = "127.0.0.1,::1"  # the gateway host (localhost) left out
    settings_path.write_text(json.dumps(settings))
    result = gateway.run("scripts/check-status.sh", home=home)
    assert result.returncode == 1
    assert ("FAIL  route: localhost is not in NO_PROXY, so Claude Code would send the gateway traffic through the "
            "proxy; source client/env.sh (the gateway is reached directly)") in result.stdout.splitlines()
    assert "gateway:" not in result.stdout and "dns:" not in result.stdout  # nothing contacted after the route
