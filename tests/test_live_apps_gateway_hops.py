"""scripts/check-status.sh names each broken hop of the Claude apps gateway, live (issue 32): the generated gateway
(Pattern C, https with a test CA, started by its own run-local.sh with the pinned CLI, the test issuer, a throwaway
Postgres, the mock provider) and developer machines (throwaway HOMEs where client/install.sh ran):

- everything in order: url, dns (localhost: loopback only), tls, pin, /readyz, the discovery document;
- not signed in: the credential hop (no pinned certificate to compare);
- an untrusted certificate: NODE_EXTRA_CA_CERTS names another CA;
- the gateway down (stopped by its pidfile), then up again;
- scripts/conformance.sh through the gateway with the stored sign-in passes every check; with a session on stdin it
  fails the buffering check alone when a hop holds the stream;
- a changed certificate after a restart with a new leaf from the same CA: the pin hop ("the certificate changed:
  ... /login"), and the real CLI refuses the gateway until /login.
Pattern D's missing proxy bypass is in test_live_apps_gateway_proxy.py (with its tinyproxy)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import postgres
import pytest
from apps_gateway import mint_session
from environment import clean_env, require_tool
from generated import failure_summary
from generated_apps_gateway import HANG_GUARD, UPSTREAM_KEY, started_apps_gateway
from mock_provider import RunningMock
from oidc_issuer import RunningIssuer, TestUser
from tls_ca import TestCA

pytestmark = pytest.mark.live

CHECKS = ("stream", "tool_use", "thinking", "count_tokens", "betas")
PINS = ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5")  # the managed policy's pins (the defaults)
ALICE = TestUser(sub="00u-alice", email="alice@example.com", groups=["engineering"])


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, claude_bin, tmp_path_factory):
    require_tool(postgres.PG_BIN / "initdb", "PostgreSQL 15", "apt-get install postgresql")
    ca = TestCA.create(tmp_path_factory.mktemp("ca"))
    with postgres.Postgres() as db, RunningIssuer(user=ALICE) as issuer, RunningMock() as mock, \
            started_apps_gateway(copie_module, template_repo, claude_bin, issuer, db, ca, mock.url) as gw:
        gw.test_ca, gw.mock = ca, mock
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
    assert failure_summary("\n".join(lines)) == (1, "credential")
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
    assert failure_summary("\n".join(lines)) == (2, "config")


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


def conformance(gateway, home: Path, *args: str, stdin: str = "") -> tuple[int, dict]:
    result = subprocess.run(["scripts/conformance.sh", "--json", *args], cwd=gateway.project, input=stdin,
                            env=clean_env(home), capture_output=True, text=True, timeout=HANG_GUARD, check=False)
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.fixture
def agentic_mock(gateway):
    """The mock as the kit needs it (signed thinking, tool_use, replies long enough to judge buffering), reset after."""
    mock = gateway.mock
    mock.agentic, mock.text_deltas, mock.event_delay = True, 20, 0.02
    mock.requests.clear()
    yield mock
    mock.agentic, mock.text_deltas, mock.event_delay, mock.hold_stream = False, 1, 0.0, False


def test_conformance_passes_through_the_gateway_with_the_stored_sign_in(gateway, agentic_mock):
    home = gateway.developer("erin")
    gateway.signed_in(home, "00u-erin", "erin@example.com", ["engineering"])
    session = json.loads((home / ".claude" / ".credentials.json").read_text())["enterpriseGateway"]["jwt"]
    code, report = conformance(gateway, home)
    assert code == 0, json.dumps(report, indent=1)
    got = {(c["name"], c["model"]): c["status"] for c in report["checks"]}
    assert {got[(check, model)] for check in CHECKS for model in PINS} == {"PASS"}, got
    assert got[("buffering", "claude-haiku-5-5")] == "PASS"
    assert session not in json.dumps(report)
    # The gateway served them as erin (metered as her spend), with its own provider key upstream.
    assert {r.headers.get("x-api-key") for r in agentic_mock.messages_requests()} == {UPSTREAM_KEY}
    assert '"email":"erin@example.com"' in gateway.log.replace(" ", "")


def test_conformance_fails_on_a_held_stream_with_a_session_on_stdin(gateway, agentic_mock):
    """A hop before the gateway that holds the stream until it is complete (the mock's hold_stream): buffering fails,
    every other check passes. The session comes on stdin (a minted service session, as in CI)."""
    agentic_mock.hold_stream = True
    token = mint_session(gateway.secrets["GATEWAY_SESSION_SECRET"], gateway.url, "00u-ci", "ci@example.com",
                         ["engineering"])
    code, report = conformance(gateway, gateway.developer("ci"), "--session-token-stdin", stdin=token + "\n")
    assert code == 1
    failed = {(c["name"], c["model"]) for c in report["checks"] if c["status"] == "FAIL"}
    assert failed == {("buffering", "claude-haiku-5-5")}, report
    assert report["first_failure"]["name"] == "buffering"
    assert token not in json.dumps(report)


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
    assert failure_summary("\n".join(lines)) == (1, "pin")
    refused = gateway.claude(home)  # what the developer sees: the CLI refuses the gateway until /login
    assert refused.returncode != 0 and "/login" in refused.stdout + refused.stderr
