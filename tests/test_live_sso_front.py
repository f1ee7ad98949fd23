"""SSO in front, LiteLLM behind, live (issue 36): Pattern C with gateway_engine=claude_apps_gateway_with_litellm,
started by its own scripts (init-secrets.sh, gateway/run-local.sh, which starts gateway/run-litellm.sh first,
sync-access.sh), the front over https with a test CA against the test OIDC issuer, LiteLLM behind it in database
mode on its own Postgres database, two providers with the primary (Bedrock) down, the mock as the other.

- a signed-in developer's real `claude -p` gets the mock's reply; the mock saw LiteLLM's provider key (not the
  front's key, not a session);
- LiteLLM recorded the spend for the signed-in email as its end user (spend database, and the end-user label of its
  Prometheus metrics), and scripts/usage-report.sh shows the developer by that email;
- a client sending `x-litellm-end-user-id`, `x-litellm-customer-id` or a body `user` for someone else is recorded
  as itself;
- LiteLLM refuses a request without the front's key, and the front's key cannot call LiteLLM's admin API;
- Pattern D: LiteLLM reaches the provider (https, the corporate CA) only through the proxy (a real tinyproxy), the
  front reaches LiteLLM on loopback and developers reach the front directly, never through it;
- scripts/health-check.sh (the gateway host) and scripts/check-status.sh (a signed-in developer machine, one model
  call with its session) pass, and name the LiteLLM hop when LiteLLM is down or refuses the front's key."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from apps_gateway import mint_session
from environment import DB_INSTALL_HINT, DB_VENV, ENGINE_DIR, REPO_ROOT, clean_env, free_port, require_tool
from gateways import post_messages
from generated_apps_gateway import HANG_GUARD, TEST_GATEWAY_ENV, UPSTREAM_KEY, started_apps_gateway
from mock_provider import DEFAULT_REPLY, RunningMock
from oidc_issuer import RunningIssuer, TestUser
from proxies import PROXIED_HOST, Tinyproxy

pytestmark = pytest.mark.live

ENGINE = "claude_apps_gateway_with_litellm"
ALICE = TestUser(sub="00u-alice", email="alice@example.com", groups=["engineering"])
BOB = "bob@example.com"
MALLORY = "mallory@example.com"  # whom a client claims to be: never LiteLLM's end user
ACCESS = f"""\
users:
  {ALICE.email}:
    budget: {{usd: 50, period: monthly}}
  {BOB}:
    budget: {{usd: 20, period: monthly}}
"""
SPEND_WAIT = 60  # seconds: LiteLLM writes spend in batches (every second here, PROXY_BATCH_WRITE_AT)
HOLD_SEEN = 5  # seconds without message_start that count as a hold (the front alone relays it at once)
STREAM_GUARD = 60  # hang guard for one streamed call


def port_pair() -> int:
    """A free port whose next one is free too: the front's and LiteLLM's (bounded tries)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free adjacent ports on 127.0.0.1")


@pytest.fixture(scope="module")
def issuer():
    with RunningIssuer(user=ALICE) as running:
        yield running


@pytest.fixture(scope="module")
def front(copie_module, template_repo, claude_bin, issuer, database, gateway_ca, module_mock):
    litellm = require_tool(DB_VENV / "bin" / "litellm", "LiteLLM (database venv)", DB_INSTALL_HINT)
    require_tool(ENGINE_DIR / "node_modules" / ".installed", "the prisma-engine stand-in", DB_INSTALL_HINT)
    dead_bedrock = f"http://127.0.0.1:{free_port()}"  # the primary provider: nothing listens there
    # What the platform team fills in for LiteLLM: its database (here the test Postgres with LiteLLM's schema),
    # provider credentials; then test support only: the Prisma engine stand-in, an already migrated schema, and
    # spend written every second instead of every 10.
    env = {"DATABASE_URL": database.url, "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "fake-secret", "DISABLE_SCHEMA_UPDATE": "true",
           "PRISMA_QUERY_ENGINE_BINARY": str(ENGINE_DIR / "query-engine"),
           "PRISMA_SCHEMA_ENGINE_BINARY": str(ENGINE_DIR / "schema-engine"),
           "PRISMA_HOME_DIR": str(REPO_ROOT / ".cache" / "prisma-home"), "PROXY_BATCH_WRITE_AT": "1"}
    with started_apps_gateway(copie_module, template_repo, claude_bin, issuer, database, gateway_ca, module_mock.url,
                              env=env, run_env={"LITELLM_BIN": litellm}, port=port_pair(),
                              gateway_engine=ENGINE, spend_database=True, providers=["anthropic", "bedrock"],
                              primary_provider="bedrock", bedrock_base_url=dead_bedrock) as gw:
        (gw.project / "gateway" / "access.yaml").write_text(ACCESS)
        synced = gw.run("scripts/sync-access.sh")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert "LiteLLM: register the front's key" in synced.stdout, synced.stdout
        again = gw.run("scripts/sync-access.sh")
        assert again.returncode == 0 and "LiteLLM: in sync" in again.stdout, again.stdout + again.stderr
        gw.litellm_url = f"http://127.0.0.1:{int(gw.url.rsplit(':', 1)[1]) + 1}"
        yield gw


def spend_rows(database) -> dict[str, int]:
    """LiteLLM's spend log rows per end user (what its spend database recorded)."""
    out = database.psql(database.url.rsplit("/", 1)[1],
                        'SELECT "end_user", count(*) FROM "LiteLLM_SpendLogs" GROUP BY "end_user"')
    return {user: int(count) for user, count in (line.split("|") for line in out.splitlines() if line)}


def wait_for(check, what: str):
    deadline = time.monotonic() + SPEND_WAIT
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(1)
    assert result, f"not within {SPEND_WAIT}s: {what}"
    return result


def test_signed_in_cli_reaches_the_provider_through_both_hops(front, module_mock, database):
    home = front.developer("alice")
    front.signed_in_as(home, ALICE.email, ALICE.groups)
    before = len(module_mock.messages_requests())
    result = front.claude(home)
    assert result.returncode == 0 and DEFAULT_REPLY in result.stdout, result.stdout + result.stderr + front.log
    served = module_mock.messages_requests()[before:]
    assert served, "the mock saw no request"
    # LiteLLM's provider key reached the provider, after the primary (Bedrock, down) failed over to Anthropic.
    assert {r.headers.get("x-api-key") for r in served} == {UPSTREAM_KEY}, [r.headers for r in served]
    assert not any(p.startswith("/model/") for p in module_mock.paths())  # nothing reached a Bedrock route
    # LiteLLM recorded it for the signed-in email, as its end user.
    wait_for(lambda: spend_rows(database).get(ALICE.email), f"a spend row for {ALICE.email}")


def test_usage_report_and_metrics_show_the_developer_by_email(front):
    report = wait_for(lambda: [row for row in json.loads(front.run("scripts/usage-report.sh", "--format", "json").stdout)
                               if row["developer"] == ALICE.email and row["spend_usd"] > 0],
                      "alice in scripts/usage-report.sh")
    assert report[0]["requests"] >= 1, report
    metrics = front.run("scripts/usage-report.sh", "--source", "metrics", "--by", "developer", "--format", "json")
    assert metrics.returncode == 0, metrics.stdout + metrics.stderr
    assert any(row["developer"] == ALICE.email and row["requests"] >= 1 for row in json.loads(metrics.stdout)), \
        metrics.stdout


def test_a_client_claiming_another_identity_is_recorded_as_itself(front, database):
    token = mint_session(front.secrets["GATEWAY_SESSION_SECRET"], front.url, BOB, BOB, ["engineering"])
    status, answer = front.request("POST", "/v1/messages", {
        "model": "claude-haiku-5-5", "max_tokens": 16, "user": MALLORY,
        "messages": [{"role": "user", "content": "hi"}]}, {
        "authorization": f"Bearer {token}", "anthropic-version": "2023-06-01",
        "x-litellm-end-user-id": MALLORY, "x-litellm-customer-id": MALLORY})
    assert status == 200, answer
    rows = wait_for(lambda: (rows := spend_rows(database)).get(BOB) and rows, f"a spend row for {BOB}")
    assert MALLORY not in rows, rows


def test_litellm_refuses_anyone_but_the_front(front):
    assert post_messages(front.litellm_url, "sk-not-the-front-key")[0] == 401
    assert post_messages(front.litellm_url, "")[0] == 401
    # The front's own key calls inference only: LiteLLM's admin API refuses it.
    listed = front.run("sh", "-c", 'curl -s -o /dev/null -w "%{http_code}" --max-time 10 '
                       '-H "Authorization: Bearer $KEY" "$URL/key/list"',
                       KEY=front.secrets["LITELLM_FRONT_KEY"], URL=front.litellm_url)
    assert listed.stdout in ("401", "403"), listed.stdout


def stream_through_front(front, token: str, received: threading.Event) -> list[tuple[str, float]]:
    """One streamed Messages call through the front, as a signed-in Claude Code makes it: (event, arrival time) in
    order; `received` is set when message_start arrives."""
    url = urlsplit(front.url)
    connection = http.client.HTTPSConnection(url.hostname, url.port, timeout=STREAM_GUARD,
                                             context=ssl.create_default_context(cafile=str(front.ca_path)))
    try:
        connection.request("POST", "/v1/messages?beta=true", body=json.dumps({
            "model": "claude-opus-5-5", "max_tokens": 16, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}), headers={
            "authorization": f"Bearer {token}", "content-type": "application/json",
            "anthropic-version": "2023-06-01"})
        response = connection.getresponse()
        assert response.status == 200, response.read().decode(errors="replace")
        events = []
        while line := response.readline():
            if line.startswith(b"event:"):
                events.append((line.split(b":", 1)[1].strip().decode(), time.monotonic()))
                if events[-1][0] == "message_start":
                    received.set()
        return events
    finally:
        connection.close()


def test_streaming_through_both_hops_waits_for_litellms_failover_hold(front, module_mock):
    """The ordering a developer gets, measured: the front relays each event as it comes, but LiteLLM, with two
    providers (a failover possible), holds message_start until the provider's first content
    (BerriAI/litellm#39431). While the provider has sent only message_start, the developer gets nothing; once it
    goes on, every event arrives in order. This test fails the day an upgrade relays at once: then drop the hold
    from docs/claude-apps-gateway.md."""
    token = mint_session(front.secrets["GATEWAY_SESSION_SECRET"], front.url, ALICE.email, ALICE.email,
                         ALICE.groups)
    assert front.inference(ALICE.email, ALICE.groups, "claude-opus-5-5")[0] == 200  # warm-up: not a hold
    gate, received = threading.Event(), threading.Event()
    module_mock.stream_gate = gate
    try:
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(stream_through_front, front, token, received)
            relayed = received.wait(HOLD_SEEN)
            written_while_held = len(module_mock.event_times)
            released = time.monotonic()
            gate.set()
            events = call.result(timeout=STREAM_GUARD)
    finally:
        gate.set()
        module_mock.stream_gate = None
    assert written_while_held == 1, written_while_held  # the provider had sent message_start only
    assert not relayed, "message_start reached the developer before the provider's second event: no hold any more"
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "content_block_start"] and names[-1] == "message_stop", names
    first = (events[0][1] - released) * 1000
    print(f"\nmessage_start reached the developer {first:.0f} ms after the provider went on "
          f"(held {HOLD_SEEN} s while it waited); all {len(names)} events in order")


def conformance(front, *args: str, stdin: str = "") -> tuple[int, dict]:
    result = subprocess.run(["scripts/conformance.sh", "--json", *args], cwd=front.project, input=stdin,
                            env=clean_env(front.project.parent, NODE_EXTRA_CA_CERTS=str(front.ca_path)),
                            capture_output=True, text=True, timeout=HANG_GUARD, check=False)
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_conformance_checks_both_hops_and_names_the_failing_one(front, module_mock):
    """Through both hops with a session (a developer machine or CI's minted service session), and LiteLLM alone with
    the front's key (the gateway host). LiteLLM down: the run through both fails and points at the next hop; the run
    at LiteLLM alone fails with nothing answering, so LiteLLM is the failing hop."""
    token = mint_session(front.secrets["GATEWAY_SESSION_SECRET"], front.url, "ci@example.com", "ci@example.com",
                         ["engineering"])
    module_mock.agentic, module_mock.text_deltas, module_mock.event_delay = True, 20, 0.02
    try:
        code, both = conformance(front, "--session-token-stdin", stdin=token + "\n")
        assert code == 0 and both["hop"] == "the front and LiteLLM behind it", json.dumps(both, indent=1)
        code, alone = conformance(front, "--hop", "litellm")
        assert code == 0 and alone["hop"] == "LiteLLM behind the front", json.dumps(alone, indent=1)
        assert alone["endpoint"] == front.litellm_url
        assert {c["status"] for c in alone["checks"]} == {"PASS"}, alone["checks"]
        assert front.secrets["LITELLM_FRONT_KEY"] not in json.dumps(alone) and token not in json.dumps(both)
        assert front.run("gateway/run-litellm.sh", "stop").returncode == 0
        try:
            code, both = conformance(front, "--session-token-stdin", "--total-timeout", "30", stdin=token + "\n")
            assert code == 1 and "--hop litellm" in both["first_failure"]["next_hop"], json.dumps(both, indent=1)
            code, alone = conformance(front, "--hop", "litellm", "--total-timeout", "30")
            assert code == 1 and "no answer from" in alone["first_failure"]["detail"], json.dumps(alone, indent=1)
        finally:
            restarted = front.run("gateway/run-litellm.sh", "start")
            assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    finally:
        module_mock.agentic, module_mock.text_deltas, module_mock.event_delay = False, 1, 0.0


def check_status(front, home):
    """scripts/check-status.sh on a developer machine whose PATH has the pinned CLI (its version hop asks it)."""
    cli = front.project.parent / "cli"
    cli.mkdir(exist_ok=True)
    if not (cli / "claude").exists():
        (cli / "claude").symlink_to(front.claude_bin)
    result = front.run("scripts/check-status.sh", home=home, PATH=f"{cli}:/usr/bin:/bin")
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_health_check_and_check_status_name_the_failing_hop(front):
    home = front.developer("carol")
    front.signed_in_as(home, "carol@example.com", ["engineering"])
    healthy = front.run("scripts/health-check.sh", NODE_EXTRA_CA_CERTS=str(front.ca_path))
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "litellm:" in healthy.stdout and "front key:" in healthy.stdout, healthy.stdout
    developer = check_status(front, home)
    assert developer.returncode == 0 and "litellm: a model call went through" in developer.stdout, developer.stdout
    stopped = front.run("gateway/run-litellm.sh", "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    try:
        down = front.run("scripts/health-check.sh", NODE_EXTRA_CA_CERTS=str(front.ca_path))
        assert down.returncode == 1 and "health check failed at step 6 (litellm)" in down.stdout, down.stdout
        developer = check_status(front, home)
        assert developer.returncode == 1, developer.stdout
        assert developer.stdout.splitlines()[-1].endswith("first failing hop: litellm"), developer.stdout
        assert "LiteLLM behind it did not answer (HTTP 502" in developer.stdout, developer.stdout
    finally:
        restarted = front.run("gateway/run-litellm.sh", "start")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    # The front's key no longer registered at LiteLLM (revoked): both scripts name it; the sync puts it back.
    revoked = front.run("sh", "-c", 'curl -s -o /dev/null -w "%{http_code}" --max-time 10 -X POST '
                        '-H "Authorization: Bearer $KEY" -H "content-type: application/json" '
                        '-d \'{"key_aliases": ["claude-apps-gateway-front"]}\' "$URL/key/delete"',
                        KEY=front.secrets["LITELLM_MASTER_KEY"], URL=front.litellm_url)
    assert revoked.stdout == "200", revoked.stdout
    refused = front.run("scripts/health-check.sh", NODE_EXTRA_CA_CERTS=str(front.ca_path))
    assert "health check failed at step 7 (front key)" in refused.stdout, refused.stdout
    developer = check_status(front, home)
    assert "refused the gateway's own key" in developer.stdout, developer.stdout
    assert developer.stdout.splitlines()[-1].endswith("first failing hop: litellm"), developer.stdout
    synced = front.run("scripts/sync-access.sh")
    assert synced.returncode == 0 and "register the front's key" in synced.stdout, synced.stdout + synced.stderr
    assert check_status(front, home).returncode == 0


def test_litellm_in_the_foreground_as_its_systemd_unit_runs_it(front, tmp_path):
    """gateway/claude-apps-gateway-litellm.service runs `run-litellm.sh run` (foreground, no pid file) and the
    front's unit `run-local.sh run` waits for it: `wait` sees it, the front goes through it, and a `start` meanwhile
    does not start a second LiteLLM on the same port."""
    assert front.run("gateway/run-litellm.sh", "stop").returncode == 0
    log = (tmp_path / "litellm-foreground.log").open("w")
    env = clean_env(front.project.parent, CLAUDE_BIN=front.claude_bin, **TEST_GATEWAY_ENV, **front.run_env)
    foreground = subprocess.Popen(["gateway/run-litellm.sh", "run"], cwd=front.project, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        waited = front.run("gateway/run-litellm.sh", "wait")
        assert waited.returncode == 0 and "LiteLLM answers on" in waited.stdout, waited.stdout + waited.stderr
        assert front.inference(ALICE.email, ALICE.groups, "claude-haiku-5-5")[0] == 200
        again = front.run("gateway/run-litellm.sh", "start")
        assert again.returncode == 0 and "already answering" in again.stdout, again.stdout + again.stderr
        assert foreground.poll() is None
    finally:
        foreground.terminate()
        foreground.wait(timeout=30)
        log.close()
    assert not (front.project / "gateway" / "litellm.pid").exists()
    gone = front.run("gateway/run-litellm.sh", "wait", START_TIMEOUT="2")
    assert gone.returncode == 1 and "does not answer" in gone.stderr, gone.stdout + gone.stderr
    restarted = front.run("gateway/run-litellm.sh", "start")
    assert restarted.returncode == 0 and "started" in restarted.stdout, restarted.stdout + restarted.stderr


@pytest.fixture(scope="module")
def front_d(copie_module, template_repo, claude_bin, litellm_bin, issuer, database, gateway_ca, tmp_path_factory):
    """Pattern D, no spend database (the front sends the master key): the provider (the mock, https on PROXIED_HOST
    with a certificate from the corporate CA) only through tinyproxy."""
    binary = require_tool(shutil.which("tinyproxy") or "/usr/bin/tinyproxy", "tinyproxy",
                          "apt-get install tinyproxy-bin")
    workdir = tmp_path_factory.mktemp("sso-front-d")
    leaf = gateway_ca.issue(workdir / "provider-tls", names=(PROXIED_HOST,))
    proxy = Tinyproxy(binary, workdir)

    def ca_bundle(gw) -> None:  # what the platform team runs once behind a TLS-inspecting proxy
        built = gw.run("gateway/build-ca-bundle.sh")
        assert built.returncode == 0, built.stdout + built.stderr

    try:
        with RunningMock(host=PROXIED_HOST, tls=(str(leaf.cert_path), str(leaf.key_path))) as mock, \
                started_apps_gateway(copie_module, template_repo, claude_bin, issuer, database, gateway_ca, mock.url,
                                     run_env={"LITELLM_BIN": litellm_bin}, port=port_pair(), prepare=ca_bundle,
                                     gateway_engine=ENGINE, spend_database=False, corporate_proxy=True,
                                     proxy_url=proxy.url) as gw:
            yield gw, proxy, mock
    finally:
        proxy.stop()


def test_pattern_d_litellm_reaches_the_provider_only_through_the_proxy(front_d):
    gw, proxy, mock = front_d
    home = gw.developer("dana")
    gw.signed_in_as(home, "dana@example.com", ["engineering"])
    result = gw.claude(home)
    assert result.returncode == 0 and DEFAULT_REPLY in result.stdout, result.stdout + result.stderr + gw.log[-2000:]
    assert {r.headers.get("x-api-key") for r in mock.messages_requests()} == {UPSTREAM_KEY}
    tunnels = re.findall(r"(?:CONNECT|GET|POST) (?:https?://)?([^/ ]+)", proxy.log_text())
    front_port = int(gw.url.rsplit(":", 1)[1])
    assert f"{PROXIED_HOST}:{mock.port}" in tunnels, proxy.log_text()[-2000:]  # LiteLLM -> provider: the proxy
    assert not [t for t in tunnels if t.endswith((f":{front_port}", f":{front_port + 1}"))], tunnels
