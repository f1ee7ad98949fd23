"""High availability of the shared gateway, live on loopback: the generated Kubernetes runtime's LiteLLM config,
run as two replicas the way its Deployment runs them (same arguments and environment, secrets from gateway/.env),
sharing a real Redis (Debian redis-server) and a real Postgres (conftest.database), behind a real HAProxy that
stands in for the Service and its readiness probe (tests/support/services.py). The mock provider behind.

- Replica loss, as Kubernetes stops a pod of the generated Deployment: under a bounded request loop (no client
  retries), streams held in flight and the real Claude Code CLI, the replica leaves the load balancer first (the
  endpoints controller), then the generated preStop pause passes, then it gets SIGTERM and drains the streams it is
  serving before it exits; a new one joins once the generated readiness probe passes, and serves. The design needs
  no help from the load balancer: HAProxy's log shows 0 retries and no failed request, and no connection reached
  the replica while it was out.
- The load balancer retries only failed connections: a refused connection is retried once on the other replica (the
  log's retry count says so), a request that was answered (an error included) is never sent again.
- Shared limits: a key's rpm_limit holds across replicas; a control pair without Redis lets twice as much through.
- Shared spend: requests served by both replicas add up in one report (scripts/usage-report.sh).

Components start once for the module and stop by PID."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from environment import DB_VENV, ENGINE_DIR, REPO_ROOT, clean_env, read_env_file, require_tool
from gateways import HANG_GUARD, UPSTREAM_KEY, fill_in_env, post_messages
from mock_provider import DEFAULT_REPLY, RunningMock
from services import STALE, HAProxy, Probe, Redis, Replica, wait_http

pytestmark = pytest.mark.live

REPLICAS = ("r1", "r2")
ANSWERS = {"cost_tracking": True, "gateway_runtime": "kubernetes", "gateway_url": "https://llm.example.com",
           "spend_database": True, "kubernetes_redis": "external", "disable_nonessential_traffic": True,
           "budget_contact": "#llm-gateway"}
RATE_LIMIT = 4  # requests per minute of the rate-limited developer
# The generated probe periods and preStop pause, scaled down to keep the drill short (15 s of preStop → 1.5 s, a
# 10 s readiness period → 1 s). Only the order of events matters to the drill: the replica is out of the load
# balancer before the pause, the pause is over before SIGTERM, SIGTERM comes before the streams it serves end.
TIME_SCALE = 0.1


class Cluster:
    """The generated project, its replicas, Redis, Postgres and the load balancer."""

    def __init__(self, project, home, mock, replicas, haproxy, args, env, workdir):
        self.project, self.home, self.mock, self.replicas = project, home, mock, replicas
        self.haproxy, self.args, self.env, self.workdir = haproxy, args, env, workdir

    @property
    def master_key(self) -> str:
        return read_env_file(self.project / "gateway" / ".env")["LITELLM_MASTER_KEY"]

    def run(self, *cmd: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), cwd=self.project, capture_output=True, text=True, timeout=HANG_GUARD,
                              env=clean_env(self.home, GATEWAY_URL=self.haproxy.url, **env), check=False)


def deployment_container(project) -> dict:
    docs = [d for d in yaml.safe_load_all((project / "gateway" / "kubernetes" / "deployment.yaml").read_text()) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def termination(project) -> tuple[float, Probe]:
    """The generated preStop pause (seconds) and readiness probe, from the Deployment, scaled by TIME_SCALE."""
    container = deployment_container(project)
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and len(command) == 2, command
    readiness = container["readinessProbe"]
    probe = Probe(path=readiness["httpGet"]["path"], period=readiness.get("periodSeconds", 10) * TIME_SCALE,
                  fall=readiness.get("failureThreshold", 3), rise=readiness.get("successThreshold", 1))
    return float(command[1]) * TIME_SCALE, probe


def replica_environment(project, database_env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The container's arguments and environment as the Deployment gives them: its `env` values and the Secret made
    from gateway/.env (envFrom), plus test support (the Prisma engine stand-in)."""
    container = deployment_container(project)
    args = [a.replace("/etc/litellm/litellm_config.yaml", str(project / "gateway" / "litellm_config.yaml"))
            for a in container["args"]]
    env = {"PATH": f"{DB_VENV / 'bin'}:/usr/bin:/bin", "HOME": str(project.parent), "LANG": "C.UTF-8"}
    env.update({item["name"]: item["value"] for item in container.get("env", []) if "value" in item})
    assert all("secretRef" in source or "configMapRef" in source for source in container.get("envFrom", []))
    env.update(read_env_file(project / "gateway" / ".env"))
    env.update(database_env)
    return args, env


@pytest.fixture(scope="module")
def cluster(copie_module, template_repo, database, tmp_path_factory):
    require_tool(DB_VENV / "bin" / "litellm", "LiteLLM (database venv)", "run `make tools`")
    require_tool(shutil.which("redis-server"), "redis-server", "apt-get install redis-server")
    require_tool(shutil.which("haproxy"), "HAProxy", "apt-get install haproxy")
    workdir = tmp_path_factory.mktemp("ha")
    with RunningMock() as mock, Redis(workdir, "redis-test-password") as redis:
        result = copie_module.copy(template_dir=template_repo,
                                   extra_answers={**ANSWERS, "anthropic_base_url": mock.url})
        assert result.exception is None, result.exception
        project = result.project_dir
        home = workdir / "home"
        home.mkdir()
        init = subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(home), capture_output=True,
                              text=True, timeout=60, check=False)
        assert init.returncode == 0, init.stderr
        password = "ha-test-db-password"
        database.psql("postgres", f"ALTER ROLE litellm PASSWORD '{password}'")
        fill_in_env(project / "gateway" / ".env", ANTHROPIC_API_KEY=UPSTREAM_KEY, REDIS_URL=redis.url,
                    DATABASE_URL=f"postgresql://litellm:{password}@127.0.0.1:{database.port}/litellm")
        args, env = replica_environment(project, {
            # Test support only: the engine stand-in; the schema is migrated already (the migration Job's work).
            "PRISMA_QUERY_ENGINE_BINARY": str(ENGINE_DIR / "query-engine"),
            "PRISMA_SCHEMA_ENGINE_BINARY": str(ENGINE_DIR / "schema-engine"),
            "PRISMA_HOME_DIR": str(REPO_ROOT / ".cache" / "prisma-home")})
        assert env["DISABLE_SCHEMA_UPDATE"] == "true" and "--num_workers" in args
        replicas = {name: Replica(name, str(DB_VENV / "bin" / "litellm"), args, env, workdir) for name in REPLICAS}
        try:
            for replica in replicas.values():
                replica.start()
            for replica in replicas.values():
                replica.wait_ready()
            _, probe = termination(project)
            with HAProxy(workdir, {name: r.port for name, r in replicas.items()}, probe) as haproxy:
                wait_until(lambda: [haproxy.server_state()[name] for name in REPLICAS] == ["UP", "UP"], 30)
                yield Cluster(project, home, mock, replicas, haproxy, args, env, workdir)
        finally:
            for replica in replicas.values():
                replica.stop()


def wait_until(check, timeout: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")


def call(url: str, key: str, stream: bool = False) -> tuple[int, str]:
    return post_messages(url, key, "claude-sonnet-5-5", stream=stream)


def developer_keys(cluster, access: dict) -> dict[str, str]:
    """Keys from the generated scripts/sync-access.sh, through the load balancer."""
    (cluster.project / "gateway" / "access.yaml").write_text(yaml.safe_dump(access))
    result = cluster.run("scripts/sync-access.sh", "--print-keys")
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(line.split("\t") for line in result.stdout.splitlines() if "\t" in line)


def served_by(cluster, since: int, expect: int | None = None) -> list[tuple[str, int]]:
    """(replica, HTTP status) of each request HAProxy logged after the first `since` lines (`expect` of them)."""
    return [(r.server, r.status) for r in cluster.haproxy.requests(since, expect)]


def test_both_replicas_serve_through_the_load_balancer(cluster):
    before = len(cluster.haproxy.log_lines())
    for _ in range(6):
        status, body = call(cluster.haproxy.url, cluster.master_key)
        assert status == 200 and DEFAULT_REPLY in body
    assert {name for name, _ in served_by(cluster, before, 6)} == set(REPLICAS)


def test_a_replica_stopping_as_kubernetes_stops_a_pod_costs_no_request(cluster, claude_bin):
    """r1 is stopped the way the generated Deployment is: out of the endpoints, the preStop pause, SIGTERM, a drain;
    then a new r1 joins once its readiness probe passes. A request loop, streams and Claude Code run throughout."""
    key, haproxy, r1 = cluster.master_key, cluster.haproxy, cluster.replicas["r1"]
    pause, probe = termination(cluster.project)
    gate = threading.Event()
    cluster.mock.stream_gate = gate  # every stream stays in flight until the test opens the gate
    before = len(haproxy.log_lines())
    mock_before = len(cluster.mock.messages_requests())
    results: list[tuple[str, int, str]] = []
    stop_loop = threading.Event()

    def loop():
        for _ in range(2000):  # bounded; ends once the new r1 has served
            if stop_loop.is_set():
                return
            status, body = call(haproxy.url, key)
            results.append(("plain", status, body))

    def stream(_):
        status, body = call(haproxy.url, key, stream=True)
        results.append(("stream", status, body))

    def streams_at_the_mock() -> int:  # the test's own streams (max_tokens 16: not Claude Code's)
        return sum(bool((r.body or {}).get("stream")) and (r.body or {}).get("max_tokens") == 16
                   for r in cluster.mock.messages_requests()[mock_before:])

    try:
        with ThreadPoolExecutor(12) as pool:
            looping = pool.submit(loop)
            streams = [pool.submit(stream, n) for n in range(6)]  # round robin: on both replicas
            cli = pool.submit(subprocess.run, [claude_bin, "-p", "say hi"], cwd=cluster.project, capture_output=True,
                              text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False,
                              env=clean_env(cluster.home, ANTHROPIC_BASE_URL=haproxy.url, ANTHROPIC_AUTH_TOKEN=key,
                                            ANTHROPIC_MODEL="claude-sonnet-5-5", DISABLE_NONESSENTIAL_TRAFFIC="1"))
            # Two streams on r1 itself (haiku, so that the mock can tell them apart).
            on_r1 = [pool.submit(post_messages, r1.url, key, "claude-haiku-5-5", True) for _ in range(2)]
            wait_until(lambda: streams_at_the_mock() == 8, 60)  # all in flight, held at the mock
            # 1. The endpoints controller takes the terminating pod out: no new connection goes to it.
            haproxy.command("set server replicas/r1 state maint")
            assert haproxy.server_state()["r1"] == "MAINT"
            connections_at_removal = int(haproxy.stats()["r1"]["stot"])
            # 2. The kubelet runs the generated preStop hook (`sleep`), then 3. sends SIGTERM.
            time.sleep(pause)
            r1.signal(signal.SIGTERM)
            wait_until(lambda: "Waiting for connections to close" in r1.log.read_text(errors="replace"), 60)
            # 4. r1 drains: it is still running while the streams it serves are held, and exits once they end.
            assert r1.process.poll() is None, "r1 exited with streams in flight"
            gate.set()
            exit_code = r1.process.wait(timeout=HANG_GUARD)
            assert int(haproxy.stats()["r1"]["stot"]) == connections_at_removal  # nothing reached it while out
            for future in streams:
                future.result(timeout=HANG_GUARD)
            drained_streams = [future.result(timeout=HANG_GUARD) for future in on_r1]
            claude = cli.result(timeout=HANG_GUARD)
            # 5. A new r1 starts; the endpoints take it once its readiness probe (the generated path) passes.
            r1.start()
            wait_http(f"{r1.url}{probe.path}", 150, r1.process, r1.log)
            haproxy.command("set server replicas/r1 state ready")
            rejoined = len(haproxy.log_lines())
            wait_until(lambda: ("r1", 200) in served_by(cluster, rejoined), 60)  # it serves again
            stop_loop.set()
            looping.result(timeout=HANG_GUARD)
    finally:
        gate.set()
        cluster.mock.stream_gate = None
        stop_loop.set()

    failed = [(kind, status, body[:200]) for kind, status, body in results if status != 200]
    assert not failed, failed
    assert sum(kind == "plain" for kind, _, _ in results) >= 20
    streams_done = [body for kind, _, body in results if kind == "stream"]
    assert len(streams_done) == 6 and all("message_stop" in body and DEFAULT_REPLY in body for body in streams_done)
    # The streams r1 was serving when it got SIGTERM finished whole.
    assert all(status == 200 and "message_stop" in body and DEFAULT_REPLY in body
               for status, body in drained_streams), drained_streams
    assert claude.returncode == 0 and DEFAULT_REPLY in claude.stdout, claude.stdout + claude.stderr
    # A graceful stop, not a kill: uvicorn stopped accepting, waited for its connections, then exited by re-raising
    # the SIGTERM it caught.
    assert exit_code == -signal.SIGTERM, exit_code
    logged = haproxy.requests(before)
    # No request failed at the load balancer (a 5xx: no replica, a broken connection, a timeout), and none needed a
    # retry: the replica was out of the load balancer before it stopped accepting. Claude Code also asks for a path
    # or two LiteLLM does not serve (404), with or without a replica stopping.
    assert logged and all(r.status < 500 for r in logged), [r for r in logged if r.status >= 500]
    assert [r for r in logged if r.retries or r.redispatched] == []
    assert [r for r in logged if r.termination[0] in "S"] == []  # no request ended by a server-side abort
    # r1 served before it was stopped (streams through the load balancer included) and after it rejoined.
    assert ("r1", 200) in served_by(cluster, before)[:rejoined - before]
    assert ("r1", 200) in served_by(cluster, rejoined)


def test_the_load_balancer_retries_only_failed_connections(cluster):
    """A request that was answered (an upstream error included) is never sent again; a refused connection is
    retried once, on another replica, and the log counts it."""
    key, haproxy = cluster.master_key, cluster.haproxy
    before, mock_before = len(haproxy.log_lines()), len(cluster.mock.messages_requests())
    cluster.mock.failures = ["http"]  # the provider answers the next call with HTTP 529
    try:
        status, _ = call(haproxy.url, key)
    finally:
        cluster.mock.failures = []
    assert status != 200
    assert len(cluster.mock.messages_requests()) == mock_before + 1  # sent once: not by LiteLLM, not by HAProxy
    [answered] = haproxy.requests(before, expect=1)
    assert (answered.status, answered.retries, answered.redispatched) == (status, 0, False), answered
    # A stale endpoint in rotation (a replica gone without the load balancer knowing): each connection to it is
    # refused.
    haproxy.command(f"set server replicas/{STALE} state ready")
    try:
        before, mock_before = len(haproxy.log_lines()), len(cluster.mock.messages_requests())
        redispatched_before = int(haproxy.stats()[STALE]["wredis"])
        statuses = [call(haproxy.url, key)[0] for _ in range(9)]
        logged = haproxy.requests(before, expect=9)
        redispatched = int(haproxy.stats()[STALE]["wredis"]) - redispatched_before
    finally:
        haproxy.command(f"set server replicas/{STALE} state maint")
    assert statuses == [200] * 9
    assert len(cluster.mock.messages_requests()) == mock_before + 9  # no request reached the provider twice
    assert {r.server for r in logged} <= set(REPLICAS) and len(logged) == 9, logged
    retried = [r for r in logged if r.retries]
    # Each request that first went to the stale endpoint was retried exactly once, on a replica; HAProxy's counter
    # agrees with its log.
    assert retried and all(r.retries == 1 and r.redispatched for r in retried), logged
    assert len(retried) == redispatched, (retried, redispatched)


def test_a_rate_limit_holds_across_replicas(cluster):
    keys = developer_keys(cluster, {"developers": {"limited": {"rpm_limit": RATE_LIMIT}}})
    before = len(cluster.haproxy.log_lines())
    statuses = [call(cluster.haproxy.url, keys["limited"])[0] for _ in range(2 * RATE_LIMIT)]
    assert {name for name, _ in served_by(cluster, before, 2 * RATE_LIMIT)} == set(REPLICAS)  # both replicas answered
    assert statuses.count(200) == RATE_LIMIT and statuses.count(429) == RATE_LIMIT, statuses


def test_spend_from_both_replicas_adds_up_in_one_report(cluster):
    keys = developer_keys(cluster, {"developers": {"limited": {"rpm_limit": RATE_LIMIT}, "spender": {}}})
    before = len(cluster.haproxy.log_lines())
    for _ in range(6):
        assert call(cluster.haproxy.url, keys["spender"])[0] == 200
    assert {name for name, _ in served_by(cluster, before, 6)} == set(REPLICAS)

    def reported() -> dict:
        result = cluster.run("scripts/usage-report.sh", "--format", "json")
        assert result.returncode == 0, result.stderr
        return {row["developer"]: row for row in json.loads(result.stdout)}

    wait_until(lambda: reported().get("spender", {}).get("requests") == 6, 90, step=2)
    spender = reported()["spender"]
    assert spender["spend_usd"] > 0 and spender["input_tokens"] == 6 * 12, spender


def test_without_redis_the_same_limit_is_counted_per_replica(cluster):
    """The control: two replicas of the same config without its Redis settings (and no REDIS_URL) let each count
    the key's requests on its own."""
    config = cluster.project / "gateway" / "litellm_config.yaml"
    lone = cluster.workdir / "litellm_config.no-redis.yaml"
    text = config.read_text()
    text = re.sub(r"\n  redis_url: .*", "", text)
    text = re.sub(r"\n  coordination_redis:\n(    .*\n)+", "\n", text)
    assert "redis" not in text.replace("Redis", "")
    lone.write_text(text.replace("- litellm_config.local.yaml", f"- {config.parent / 'litellm_config.local.yaml'}"))
    env = {k: v for k, v in cluster.env.items() if not k.startswith("REDIS")}
    args = [str(lone) if a.endswith("litellm_config.yaml") else a for a in cluster.args]
    pair = [Replica(f"control{n}", str(DB_VENV / "bin" / "litellm"), args, env, cluster.workdir) for n in (1, 2)]
    try:
        for replica in pair:
            replica.start()
        for replica in pair:
            replica.wait_ready()
        keys = developer_keys(cluster, {"developers": {"control": {"rpm_limit": RATE_LIMIT}}})
        statuses = [call(pair[n % 2].url, keys["control"])[0] for n in range(2 * RATE_LIMIT)]
    finally:
        for replica in pair:
            replica.stop()
    assert statuses.count(200) == 2 * RATE_LIMIT, statuses  # each replica let RATE_LIMIT through


def test_health_endpoints_answer_without_a_key(cluster):
    for replica in cluster.replicas.values():
        wait_http(f"{replica.url}/health/liveliness", 10)
