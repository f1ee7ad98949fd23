"""The generated Claude apps gateway, live (issue 31): Pattern C with gateway_engine=claude_apps_gateway, started by
its own scripts (init-secrets.sh, run-local.sh with the pinned CLI) over https with a test CA, against the test OIDC
issuer, a throwaway Postgres and the mock provider; developers are throwaway HOMEs where client/install.sh ran.

- a signed-in developer's `claude -p` prints the mock's reply; the mock saw the gateway's provider key and the model
  id the gateway's managed policy pinned (an id the CLI would not send by itself);
- a model outside the catalog is refused; a user outside oidc_allowed_groups cannot sign in;
- failover: with the first upstream down, requests succeed on the second;
- streaming: message_start reaches the client before the provider's second event, with one upstream and with two;
- the systemd unit's command reads the gateway/.env init-secrets.sh wrote (run without systemd: its ExecStartPre and
  ExecStart command lines, with its Environment=, as systemd would run them);
- no secret in a generated file, the answers file, the gateway's log or a process's command line."""

from __future__ import annotations

import http.client
import json
import re
import shlex
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from apps_gateway import device_login, mint_session
from environment import clean_env
from generated_apps_gateway import HANG_GUARD, TEST_GATEWAY_ENV, UPSTREAM_KEY, started_apps_gateway
from mock_provider import DEFAULT_REPLY
from oidc_issuer import RunningIssuer, TestUser

pytestmark = pytest.mark.live

OPUS = "claude-opus-gateway-pinned"  # not an id the CLI sends by itself: only the managed policy can deliver it
ALICE = TestUser(sub="00u-alice", email="alice@example.com", groups=["engineering"])


@pytest.fixture(scope="module")
def issuer():
    with RunningIssuer(user=ALICE) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, gateway_ca, module_mock):
    with started_apps_gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, gateway_ca, module_mock.url,
                              customize_models=True, anthropic_opus_model=OPUS,
                              oidc_allowed_groups="engineering", budget_contact="#llm-gateway") as gw:
        yield gw


@pytest.fixture(scope="module")
def failover_gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, gateway_ca, module_mock):
    """Anthropic first (down: nothing listens on port 9), then Foundry at the mock's /anthropic route."""
    with started_apps_gateway(copie_module, template_repo, claude_bin, issuer, gateway_db, gateway_ca, "http://127.0.0.1:9",
                              providers=["anthropic", "foundry"], primary_provider="anthropic",
                              foundry_base_url=f"{module_mock.url}/anthropic", foundry_resource="",
                              env={"AZURE_AI_API_KEY": "foundry-upstream-test-key"}) as gw:
        yield gw


def test_a_signed_in_developer_gets_the_providers_reply(gateway, module_mock):
    home = gateway.developer("alice")
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    assert settings["forceLoginMethod"] == "gateway" and settings["forceLoginGatewayUrl"] == gateway.url
    gateway.signed_in(home, ALICE.sub, ALICE.email, ALICE.groups)
    before = len(module_mock.messages_requests())
    result = gateway.claude(home)
    assert result.returncode == 0, result.stdout + result.stderr + gateway.log[-3000:]
    assert DEFAULT_REPLY in result.stdout
    sent = module_mock.messages_requests()[before:]
    assert sent and {r.headers.get("x-api-key") for r in sent} == {UPSTREAM_KEY}
    assert OPUS in {r.body.get("model") for r in sent}  # the managed policy's pin reached the CLI


def test_a_developer_who_is_not_signed_in_is_told_to_log_in(gateway):
    result = gateway.claude(gateway.developer("nobody"))
    assert result.returncode != 0
    assert "/login" in result.stdout + result.stderr


def test_a_model_outside_the_catalog_is_refused(gateway):
    home = gateway.developer("bob")
    gateway.signed_in(home, "00u-bob", "bob@example.com", ["engineering"])
    result = gateway.claude(home, "--model", "claude-unlisted-model")
    assert result.returncode != 0
    assert "not in the operator's model allowlist" in result.stdout + result.stderr


def test_only_the_allowed_groups_can_sign_in(gateway, issuer):
    assert device_login(gateway.url, str(gateway.ca_path))[0] == 200
    issuer.user = TestUser(sub="00u-sales", email="sam@example.com", groups=["sales"])
    try:
        status, _ = device_login(gateway.url, str(gateway.ca_path))
    finally:
        issuer.user = ALICE
    assert status != 200
    assert ["openid", "email", "profile", "offline_access"] in [sorted(s, key=["openid", "email", "profile",
                                                                             "offline_access"].index)
                                                                for s in issuer.scopes_asked()]


def test_failover_serves_from_the_second_upstream(failover_gateway, module_mock):
    home = failover_gateway.developer("carol")
    failover_gateway.signed_in(home, "00u-carol", "carol@example.com", ["engineering"])
    before = len(module_mock.requests)
    result = failover_gateway.claude(home)
    assert result.returncode == 0, result.stdout + result.stderr + failover_gateway.log[-3000:]
    assert DEFAULT_REPLY in result.stdout
    sent = [r for r in module_mock.requests[before:] if r.path.split("?")[0] == "/anthropic/v1/messages"]
    assert sent and "upstream failed, trying next" in failover_gateway.log
    assert {r.headers.get("x-api-key") for r in sent} == {"foundry-upstream-test-key"}


def stream_events(gateway, token: str, model: str, received: threading.Event) -> list[str]:
    url = urlsplit(gateway.url)
    context = ssl.create_default_context(cafile=str(gateway.ca_path))
    connection = http.client.HTTPSConnection(url.hostname, url.port, timeout=HANG_GUARD, context=context)
    try:
        connection.request("POST", "/v1/messages", body=json.dumps({
            "model": model, "max_tokens": 16, "stream": True, "messages": [{"role": "user", "content": "hi"}]}),
            headers={"Authorization": f"Bearer {token}", "content-type": "application/json",
                     "anthropic-version": "2023-06-01"})
        response = connection.getresponse()
        assert response.status == 200, response.read().decode()
        events = []
        while line := response.readline():
            if line.startswith(b"event:"):
                events.append(line.split(b":", 1)[1].strip().decode())
                if events[-1] == "message_start":
                    received.set()
        return events
    finally:
        connection.close()


@pytest.mark.parametrize("which", ["gateway", "failover_gateway"])
def test_message_start_reaches_the_client_before_the_providers_second_event(which, request, module_mock):
    """With one upstream and with two: the mock holds its stream after message_start (stream_gate) until the client
    has it. An order, not a number of milliseconds."""
    gw = request.getfixturevalue(which)
    token = mint_session(gw.secrets["GATEWAY_SESSION_SECRET"], gw.url, "00u-dave", "dave@example.com",
                         ["engineering"])
    model = OPUS if which == "gateway" else "claude-opus-5-5"
    gate, received = threading.Event(), threading.Event()
    module_mock.event_times.clear()
    module_mock.stream_gate = gate
    try:
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(stream_events, gw, token, model, received)
            relayed = received.wait(HANG_GUARD)
            written_while_held = len(module_mock.event_times)
            gate.set()
            events = call.result(timeout=HANG_GUARD)
    finally:
        gate.set()
        module_mock.stream_gate = None
    # The mock writes nothing after message_start until the gate opens: at most that one event was written (its
    # time may be recorded a moment after the client read it).
    assert relayed and written_while_held <= 1, written_while_held
    assert events[0] == "message_start" and events[-1] == "message_stop", events


def unit_commands(unit: str, project: Path) -> tuple[dict[str, str], list[list[str]]]:
    """The unit's Environment= values and its ExecStartPre/ExecStart command lines, with the install directory
    replaced by the test's project (as systemd reads them: one assignment per Environment= line here)."""
    environment, commands = {}, []
    for line in unit.splitlines():
        key, _, value = line.partition("=")
        if key == "Environment":
            name, _, val = value.partition("=")
            environment[name] = val
        elif key in ("ExecStartPre", "ExecStart"):
            commands.append(shlex.split(value.replace("/opt/claude-apps-gateway", str(project))))
        elif key == "WorkingDirectory":
            assert value == "/opt/claude-apps-gateway"
    return environment, commands


def test_the_systemd_units_commands_read_what_init_secrets_wrote(gateway, claude_bin):
    """Without systemd: the unit's own command lines and Environment=, run as systemd would (stop timeout and drain
    are checked on the text). The running module gateway is stopped first: same port, same .env."""
    unit = (gateway.project / "gateway" / "claude-apps-gateway.service").read_text()
    assert "TimeoutStopSec=40" in unit and "Restart=on-failure" in unit and "User=claude-gateway" in unit
    environment, (check, start) = unit_commands(unit, gateway.project)
    assert environment["DISABLE_AUTOUPDATER"] == "1"
    env = clean_env(gateway.project.parent, **{**environment, "CLAUDE_BIN": claude_bin,
                                               "HOME": str(gateway.project.parent), **TEST_GATEWAY_ENV})
    checked = subprocess.run(check, cwd=gateway.project, env=env, capture_output=True, text=True, timeout=60,
                             check=False)
    assert checked.returncode == 0 and "2.1.332" in checked.stdout, checked.stdout + checked.stderr
    assert gateway.run("gateway/run-local.sh", "stop").returncode == 0
    process = subprocess.Popen(start, cwd=gateway.project, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if gateway.run("gateway/run-local.sh", "status").returncode == 0 or _ready(gateway):
                break
            time.sleep(0.5)
        assert process.poll() is None and _ready(gateway), process.stdout.read().decode() if process.stdout else ""
    finally:
        process.terminate()
        process.wait(timeout=30)
    restarted = gateway.run("gateway/run-local.sh", "start")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr


def _ready(gateway) -> bool:
    context = ssl.create_default_context(cafile=str(gateway.ca_path))
    url = urlsplit(gateway.url)
    try:
        connection = http.client.HTTPSConnection(url.hostname, url.port, timeout=3, context=context)
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def command_lines() -> list[str]:
    """Every process's command line on this machine (a process that ends meanwhile is skipped)."""
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes().decode(errors="replace").replace("\0", " "))
            except OSError:
                continue
    return lines


def test_no_secret_in_a_generated_file_the_answers_a_log_line_or_a_command_line(gateway):
    secrets = {name: value for name, value in gateway.secrets.items()
               if name.startswith(("GATEWAY_SESSION", "GATEWAY_ADMIN", "OIDC_CLIENT", "ANTHROPIC_API"))}
    assert len(secrets) == 5, secrets
    files = [p for p in gateway.project.rglob("*") if p.is_file() and ".git" not in p.parts
             and p.name != ".env" and not p.name.startswith(".env.bak")]
    texts = {str(p): p.read_text(errors="replace") for p in files}
    texts["gateway log"] = gateway.log
    texts["command lines"] = "\n".join(command_lines())
    for where, text in texts.items():
        for name, value in secrets.items():
            assert value not in text, f"{name} found in {where}"
    assert re.search(r"\$\{GATEWAY_SESSION_SECRET\}", texts[str(gateway.project / "gateway" /
                                                               "claude-apps-gateway.yaml")])
