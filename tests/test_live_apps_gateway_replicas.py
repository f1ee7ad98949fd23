"""Several replicas of the generated Claude apps gateway, live on loopback (issue 34): two `claude gateway` processes
on the generated config (only the listen port differs, as two pods of the Deployment differ only in their address)
and one real Postgres, behind a real HAProxy that stands in for the Service and its readiness probe on /readyz
(tests/support/services.py). The gateway's public URL is the load balancer's, as it is the Ingress's on Kubernetes.
The test OIDC issuer and the mock provider behind.

- a sign-in through the load balancer (its steps land on both replicas) gives a session both replicas accept;
- a spend limit holds across both: what one replica metered counts on the other, which refuses past the limit
  without having served the developer once;
- SIGTERM to one replica under load costs no request: the streams it serves finish during its drain, the requests
  that arrive meanwhile are served by the other (HAProxy retries only connections that failed).

Components start once for the module and stop by PID."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import yaml
from apps_gateway import AppsGateway, device_login, mint_session
from environment import clean_env, free_port, read_env_file
from generated_apps_gateway import UPSTREAM_KEY, fill_in
from mock_provider import DEFAULT_REPLY
from oidc_issuer import RunningIssuer, TestUser
from services import HAProxy, Probe

pytestmark = pytest.mark.live

ALICE = TestUser(sub="00u-alice", email="alice@example.com", groups=["engineering"])
MODEL = "claude-sonnet-5-5"
DRAIN_MS = "15000"  # long enough for the streams in flight when a replica gets SIGTERM (the default is 25 s)
# Probes at the pace of the generated readiness probe, scaled down (5 s there); a replica is out after one failure.
PROBE = Probe(path="/readyz", period=0.5, fall=1, rise=2, http11=True)


class Replicas:
    def __init__(self, project, env, replicas: dict[str, AppsGateway], haproxy: HAProxy):
        self.project, self.env, self.replicas, self.haproxy = project, env, replicas, haproxy

    def token(self, email: str, groups: list[str]) -> str:
        return mint_session(self.env["GATEWAY_SESSION_SECRET"], self.haproxy.url, email, email, groups)


def post(url: str, path: str, body: dict | None, headers: dict[str, str], method: str = "POST",
         timeout: float = 60) -> tuple[int, str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={"content-type": "application/json", **headers})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def message(url: str, token: str, stream: bool = False) -> tuple[int, str]:
    return post(url, "/v1/messages", {"model": MODEL, "max_tokens": 16, "stream": stream,
                                      "messages": [{"role": "user", "content": "hi"}]},
                {"authorization": f"Bearer {token}", "anthropic-version": "2023-06-01"})


@pytest.fixture(scope="module")
def replicas(copie_module, template_repo, claude_bin, gateway_db, module_mock, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("apps-replicas")
    ports = {"r1": free_port(), "r2": free_port()}
    haproxy = HAProxy(workdir, ports, PROBE)  # its port is chosen now: it is the gateway's public URL
    with RunningIssuer(user=ALICE) as issuer:
        result = copie_module.copy(template_dir=template_repo, extra_answers={
            "cost_tracking": True, "gateway_engine": "claude_apps_gateway", "gateway_runtime": "process",
            "gateway_bind": "127.0.0.1", "gateway_port": ports["r1"], "gateway_url": haproxy.url,
            "oidc_issuer": issuer.url, "oidc_client_id": issuer.client_id, "anthropic_base_url": module_mock.url})
        assert result.exception is None, result.exception
        project = result.project_dir
        init = subprocess.run(["scripts/init-secrets.sh"], cwd=project, capture_output=True, text=True, timeout=60,
                              env=clean_env(project.parent), check=False)
        assert init.returncode == 0, init.stdout + init.stderr
        fill_in(project / "gateway" / ".env", OIDC_CLIENT_SECRET=issuer.client_secret, ANTHROPIC_API_KEY=UPSTREAM_KEY,
                APPS_GATEWAY_DATABASE_URL=gateway_db.create_database("gateway_replicas"))
        env = read_env_file(project / "gateway" / ".env")
        config = yaml.safe_load((project / "gateway" / "claude-apps-gateway.yaml").read_text())
        running: dict[str, AppsGateway] = {}
        try:
            for name, port in ports.items():
                config["listen"]["port"] = port
                path = workdir / f"{name}.yaml"
                path.write_text(json.dumps(config))
                running[name] = AppsGateway(claude_bin, path, f"http://127.0.0.1:{port}",
                                            env={**env, "CLAUDE_GATEWAY_DRAIN_TIMEOUT_MS": DRAIN_MS},
                                            workdir=workdir / name).start()
            with haproxy:
                deadline = time.monotonic() + 20
                while {haproxy.server_state().get(n, "") for n in ports} != {"UP"}:
                    assert time.monotonic() < deadline, haproxy.server_state()
                    time.sleep(0.2)
                yield Replicas(project, env, running, haproxy)
        finally:
            for gateway in running.values():
                gateway.stop()


def test_a_session_signed_in_through_the_load_balancer_works_on_both_replicas(replicas):
    status, answer = device_login(replicas.haproxy.url)
    assert status == 200, answer
    served = {name: len(r.lines) for name, r in replicas.replicas.items()}
    assert all(served.values())
    for name, gateway in replicas.replicas.items():
        status, body = message(gateway.url, answer["access_token"])
        assert status == 200 and DEFAULT_REPLY in body, (name, status, body)
    # The sign-in's steps were served by both replicas (round robin): its state lives in Postgres.
    steps = [line for line in replicas.haproxy.log_lines() if "/oauth/" in line or "/device" in line]
    assert {"replicas/r1", "replicas/r2"} <= {word for line in steps for word in line.split()}


def test_a_spend_limit_holds_across_both_replicas(replicas, module_mock):
    r1, r2 = replicas.replicas["r1"], replicas.replicas["r2"]
    admin = {"x-api-key": replicas.env["GATEWAY_ADMIN_WRITE_KEY"]}
    email = "bob@example.com"
    status, body = post(r1.url, "/v1/organizations/spend_limits",
                        {"scope": {"type": "user", "user_id": email}, "amount": "100", "period": "daily"}, admin)
    assert status == 200, body
    token = replicas.token(email, ["engineering"])
    # A million input tokens a request: dollars (the gateway's price for the model), far past the $1 limit at once.
    module_mock.extra_usage = {"input_tokens": 1_000_000}
    try:
        assert message(r1.url, token)[0] == 200  # under the limit before it: served, and metered by r1
        refused = [message(gateway.url, token) for gateway in (r2, r1)]
        other = message(r2.url, replicas.token("carol@example.com", ["engineering"]))
    finally:
        module_mock.extra_usage = {}
    # r2 metered nothing itself: it refuses on what r1 metered (Postgres), as r1 does.
    for status, body in refused:
        assert status == 429 and "spend limit reached" in body, (status, body)
    assert other[0] == 200  # someone else is not limited


def test_sigterm_to_one_replica_under_load_costs_no_request(replicas, module_mock):
    lb, r1 = replicas.haproxy, replicas.replicas["r1"]
    token = replicas.token("dana@example.com", ["engineering"])
    before = len(lb.log_lines())
    results: list[tuple[int, str]] = []
    stop = threading.Event()

    def loop() -> None:
        for _ in range(400):  # bounded; ends when told
            if stop.is_set():
                return
            results.append(message(lb.url, token))

    module_mock.event_delay = 0.4  # each stream lasts a few seconds
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            streams = [pool.submit(message, lb.url, token, True) for _ in range(4)]  # two land on each replica
            looping = [pool.submit(loop) for _ in range(2)]
            time.sleep(1.0)
            os.kill(r1.process.pid, signal.SIGTERM)  # as the kubelet does after the preStop pause
            sigterm_at = time.monotonic()
            exit_code = r1.process.wait(timeout=30)
            drained = time.monotonic() - sigterm_at
            time.sleep(1.0)
            stop.set()
            finished = [future.result(timeout=60) for future in streams]
            for future in looping:
                future.result(timeout=60)
    finally:
        module_mock.event_delay = 0.0
    assert exit_code == 0, r1.output()
    assert drained > 0.5, f"r1 exited {drained:.1f} s after SIGTERM: it had no stream in flight to drain"
    for status, body in finished:  # the streams r1 was serving finished during its drain
        assert status == 200 and "message_stop" in body, (status, body[-500:])
    assert len(results) > 10 and {status for status, _ in results} == {200}, {s for s, _ in results}
    logged = lb.requests(since=before, expect=len(results) + len(finished))
    assert {r.status for r in logged} == {200}
    assert not [r for r in logged if r.termination != "----" and not r.termination.startswith("--")]
    assert {"r1", "r2"} <= {r.server for r in logged}
