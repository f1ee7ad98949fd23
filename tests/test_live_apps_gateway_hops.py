"""scripts/check-status.sh names each broken hop of the Claude apps gateway, live (issue 32): the generated gateway
(Pattern C, https with a test CA, started by its own run-local.sh with the pinned CLI, the test issuer, a throwaway
Postgres, the mock provider) and developer machines (throwaway HOMEs where client/install.sh ran):

- everything in order: url, dns (localhost: loopback only), tls, pin, /readyz, the discovery document;
- not signed in: the credential hop (no pinned certificate to compare);
- an untrusted certificate: NODE_EXTRA_CA_CERTS names another CA;
- the gateway down (stopped by its pidfile), then up again;
- a changed certificate after a restart with a new leaf from the same CA: the pin hop ("the certificate changed:
  ... /login"), and the real CLI refuses the gateway until /login.
Pattern D's missing proxy bypass is in test_live_apps_gateway_proxy.py (with its tinyproxy)."""

from __future__ import annotations

import json
from pathlib import Path

import postgres
import pytest
from environment import require_tool
from generated_apps_gateway import started_apps_gateway
from mock_provider import RunningMock
from oidc_issuer import RunningIssuer, TestUser
from tls_ca import TestCA

pytestmark = pytest.mark.live

ALICE = TestUser(sub="00u-alice", email="alice@example.com", groups=["engineering"])


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, claude_bin, tmp_path_factory):
    require_tool(postgres.PG_BIN / "initdb", "PostgreSQL 15", "apt-get install postgresql")
    ca = TestCA.create(tmp_path_factory.mktemp("ca"))
    with postgres.Postgres() as db, RunningIssuer(user=ALICE) as issuer, RunningMock() as mock, \
            started_apps_gateway(copie_module, template_repo, claude_bin, issuer, db, ca, mock.url) as gw:
        gw.test_ca = ca
        yield gw


def cli_path(gateway, directory: Path) -> str:
    """A PATH whose `claude` is the pinned CLI (the version hop asks it)."""
    directory.mkdir(exist_ok=True)
    link = directory / "claude"
    if not link.exists():
        link.symlink_to(gateway.claude_bin)
    return f"{directory}:/usr/bin:/bin"


def check_status(gateway, home: Path) -> tuple[int, list[str]]:
    result = gateway.run("scripts/check-status.sh", home=home, PATH=cli_path(gateway, gateway.project.parent / "cli"))
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout.splitlines()


def lines_of(lines: list[str], hop: str) -> list[str]:
    return [line for line in lines if line[6:].startswith(f"{hop}:")]


def test_a_signed_in_developer_passes_every_hop_in_order(gateway):
    home = gateway.developer("alice")
    gateway.signed_in(home, ALICE.sub, ALICE.email, ALICE.groups)
    code, lines = check_status(gateway, home)
    assert code == 0, "\n".join(lines)
    hops = [line[6:].split(":", 1)[0] for line in lines if line.startswith("ok    ")]
    network = [h for h in hops if h in ("url", "dns", "tls", "pin", "gateway", "sign-in")]
    assert network == ["url", "dns", "tls", "pin", "gateway", "sign-in"], lines
    assert lines_of(lines, "dns")[0].startswith("ok    dns: localhost resolves only to private addresses (")
    assert lines_of(lines, "pin") == [(f"ok    pin: {gateway.url.split('//')[1]} serves the certificate this machine "
                                       "trusted at sign-in")]
    assert "ok    version: Claude Code 2.1.332, the version this setup is tested with" in lines


def test_not_signed_in_is_the_first_failing_hop(gateway):
    home = gateway.developer("nobody")
    code, lines = check_status(gateway, home)
    assert code == 1
    assert lines[-1] == "1 of 21 checks failed; first failing hop: credential"
    assert lines_of(lines, "pin") == ["skip  pin: no certificate pinned yet (not signed in), so none to compare"]


def test_an_untrusted_certificate_is_named(gateway, tmp_path):
    home = gateway.developer("untrusting")
    gateway.signed_in(home, "00u-u", "u@example.com", ["engineering"])
    other = TestCA.create(tmp_path / "other-ca")
    settings_path = home / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["env"]["NODE_EXTRA_CA_CERTS"] = str(other.cert_path)
    settings_path.write_text(json.dumps(settings))
    code, lines = check_status(gateway, home)
    assert code == 1
    target = gateway.url.split("//")[1]
    assert lines_of(lines, "tls") == [(f"FAIL  tls: the certificate of {target} is not trusted, not even with "
                                       f"NODE_EXTRA_CA_CERTS={other.cert_path}; is that the root CA that signed the "
                                       "gateway's certificate?")]
    # The config hop names the cause first: the CA is not the one this setup generated.
    assert f"FAIL  config: NODE_EXTRA_CA_CERTS is '{other.cert_path}' (from {settings_path}), expected " \
           f"'{gateway.ca_path}'; fix it there or re-source client/env.sh" in lines
    assert lines[-1] == "2 of 19 checks failed; first failing hop: config"


def test_the_gateway_down_then_up_again(gateway):
    home = gateway.developer("carol")
    gateway.signed_in(home, "00u-carol", "carol@example.com", ["engineering"])
    assert gateway.run("gateway/run-local.sh", "stop").returncode == 0
    try:
        code, lines = check_status(gateway, home)
    finally:
        started = gateway.run("gateway/run-local.sh", "start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert code == 1
    assert lines_of(lines, "gateway")[0].startswith(f"FAIL  gateway: {gateway.url} did not answer")
    assert lines[-1].endswith("first failing hop: gateway")
    assert check_status(gateway, home)[0] == 0


def test_a_new_certificate_after_a_restart_is_the_pin_hop(gateway):
    """Last in the module: the gateway keeps the new certificate."""
    home = gateway.developer("dave")
    gateway.signed_in(home, "00u-dave", "dave@example.com", ["engineering"])
    leaf = gateway.test_ca.issue(gateway.project.parent / "tls-rotated", names=("localhost", "127.0.0.1"), chain=True)
    env_file = gateway.project / "gateway" / ".env"
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    text = env_file.read_text().replace(f"GATEWAY_TLS_CERT={values['GATEWAY_TLS_CERT']}",
                                        f"GATEWAY_TLS_CERT={leaf.cert_path}")
    env_file.write_text(text.replace(f"GATEWAY_TLS_KEY={values['GATEWAY_TLS_KEY']}", f"GATEWAY_TLS_KEY={leaf.key_path}"))
    assert gateway.run("gateway/run-local.sh", "stop").returncode == 0
    started = gateway.run("gateway/run-local.sh", "start")
    assert started.returncode == 0, started.stdout + started.stderr
    code, lines = check_status(gateway, home)
    assert code == 1
    target = gateway.url.split("//")[1]
    assert lines_of(lines, "pin") == [(f"FAIL  pin: the certificate changed: {target} serves another certificate than "
                                       "the one this machine trusted at sign-in (the gateway got a new one); run "
                                       "claude, then /login")]
    assert lines_of(lines, "tls") == [(f"ok    tls: {target} presents a certificate from your corporate CA "
                                       f"({gateway.ca_path})")]
    assert lines[-1] == "1 of 22 checks failed; first failing hop: pin"
    refused = gateway.claude(home)  # what the developer sees: the CLI refuses the gateway until /login
    assert refused.returncode != 0 and "/login" in refused.stdout + refused.stderr
