"""Pattern C, live: the pinned LiteLLM started by the generated gateway/run-local.sh from the generated config and a
gateway/.env made by scripts/init-secrets.sh, the real Claude Code CLI in front, the mock provider behind.
One gateway for the whole module (LiteLLM takes several seconds to boot)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import clean_env, free_port, git
from mock_provider import DEFAULT_REPLY, RunningMock

pytestmark = pytest.mark.live

UPSTREAM_KEY = "sk-ant-upstream-test-key"
HANG_GUARD = 180  # seconds; LiteLLM boots in ~5-15 s here


def read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def fill_provider_key(env_file: Path) -> None:
    """What the user does after init-secrets.sh: put the provider key into gateway/.env."""
    text = env_file.read_text()
    assert "# ANTHROPIC_API_KEY=\n" in text
    env_file.write_text(text.replace("# ANTHROPIC_API_KEY=\n", f"ANTHROPIC_API_KEY={UPSTREAM_KEY}\n"))


class Gateway:
    def __init__(self, project: Path, mock, url: str, home: Path, litellm_bin: str):
        self.project, self.mock, self.url, self.home, self.litellm_bin = project, mock, url, home, litellm_bin

    @property
    def master_key(self) -> str:
        return read_env_file(self.project / "gateway" / ".env")["LITELLM_MASTER_KEY"]

    def run(self, *cmd: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), cwd=self.project, capture_output=True, text=True, timeout=HANG_GUARD,
                              env=clean_env(self.home, LITELLM_BIN=self.litellm_bin, **env))


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, litellm_bin, tmp_path_factory):
    with RunningMock() as mock:
        port = free_port()
        result = copie_module.copy(template_dir=template_repo, extra_answers={
            "cost_tracking": True, "gateway_runtime": "process", "gateway_port": port,
            "anthropic_base_url": mock.url, "disable_nonessential_traffic": True})
        assert result.exception is None, result.exception
        project = result.project_dir
        home = tmp_path_factory.mktemp("home")
        gw = Gateway(project, mock, f"http://127.0.0.1:{port}", home, litellm_bin)
        init = gw.run("scripts/init-secrets.sh")
        assert init.returncode == 0, init.stderr
        fill_provider_key(project / "gateway" / ".env")
        started = gw.run("gateway/run-local.sh", "start", ANTHROPIC_BASE_URL="http://127.0.0.1:9")
        try:
            assert started.returncode == 0, started.stdout + started.stderr + (project / "gateway/litellm.log").read_text()
            yield gw
        finally:
            gw.run("gateway/run-local.sh", "stop")
            pidfile = project / "gateway" / "litellm.pid"
            if pidfile.exists():  # stop failed: do not leave a process behind
                os.kill(int(pidfile.read_text()), signal.SIGKILL)


@pytest.fixture(scope="module")
def copie_module(request, tmp_path_factory, _copier_config_file):
    from pytest_copie.plugin import Copie

    return Copie(Path("."), tmp_path_factory.mktemp("copie"), _copier_config_file)


def post_messages(url: str, key: str) -> tuple[int, str]:
    body = json.dumps({"model": "claude-opus-5-5", "max_tokens": 16,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(f"{url}/v1/messages", data=body, method="POST", headers={
        "Authorization": f"Bearer {key}", "content-type": "application/json", "anthropic-version": "2023-06-01"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_health_check_passes_and_never_prints_the_key(gateway):
    result = gateway.run("scripts/health-check.sh")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == ["ok    liveliness", "ok    readiness", "ok    models",
                                                           "ok    round-trip"]
    assert "ok    models: claude-haiku-5-5 claude-opus-5-5 claude-sonnet-5-5" in result.stdout
    assert DEFAULT_REPLY in result.stdout
    assert gateway.master_key not in result.stdout + result.stderr


def test_real_claude_cli_through_the_gateway(gateway, claude_bin):
    requests_before = len(gateway.mock.requests)
    result = subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'], cwd=gateway.project,
                            env=clean_env(gateway.home, CLAUDE_BIN=claude_bin, ANTHROPIC_AUTH_TOKEN=gateway.master_key),
                            capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    upstream = gateway.mock.messages_requests()
    assert len(gateway.mock.requests) > requests_before and upstream
    assert {r.headers.get("x-api-key") for r in upstream} == {UPSTREAM_KEY}


def test_the_provider_never_sees_the_master_key(gateway):
    key = gateway.master_key
    assert gateway.mock.requests, "run after traffic went through"
    for recorded in gateway.mock.requests:
        assert key not in json.dumps(recorded.headers) and key not in json.dumps(recorded.body)


def test_a_wrong_key_is_refused(gateway):
    status, body = post_messages(gateway.url, "sk-not-the-key")
    assert status in (400, 401, 403), body  # without a database LiteLLM answers 400 "No connected db."
    assert DEFAULT_REPLY not in body
    assert post_messages(gateway.url, gateway.master_key)[0] == 200  # the control


def test_check_status_passes_for_the_client(gateway):
    result = subprocess.run(["sh", "-c", ". ./client/env.sh && scripts/check-status.sh"], cwd=gateway.project,
                            env=clean_env(gateway.home, ANTHROPIC_AUTH_TOKEN=gateway.master_key),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
    assert f"ok    endpoint: {gateway.url} answered HTTP 200" in result.stdout
    assert gateway.master_key not in result.stdout


def test_run_local_status(gateway):
    result = gateway.run("gateway/run-local.sh", "status")
    assert result.returncode == 0 and "running (pid" in result.stdout


def test_no_secret_lands_in_a_tracked_file(gateway):
    env_file = gateway.project / "gateway" / ".env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    secrets = {k: v for k, v in read_env_file(env_file).items() if v}
    assert {"LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "ANTHROPIC_API_KEY"} <= secrets.keys()
    assert re.fullmatch(r"sk-[0-9a-f]{48}", secrets["LITELLM_MASTER_KEY"])
    repo = gateway.project
    if not (repo / ".git").exists():
        git(repo, "init", "-q")
    git(repo, "add", "-A")
    tracked = git(repo, "ls-files").split()
    assert "gateway/.env" not in tracked and "gateway/litellm.log" not in tracked
    assert ".copier-answers.yml" in tracked and "gateway/.env.example" in tracked
    for rel in tracked:
        text = (repo / rel).read_text(errors="replace")
        for name, value in secrets.items():
            assert value not in text, f"{name} found in {rel}"


def test_init_secrets_again_keeps_every_value(gateway):
    before = (gateway.project / "gateway" / ".env").read_text()
    result = gateway.run("scripts/init-secrets.sh")
    assert result.returncode == 0
    assert "nothing changed" in result.stdout
    assert (gateway.project / "gateway" / ".env").read_text() == before


def test_stopped_gateway_fails_the_health_check_naming_the_step(gateway):
    """Last in the module: it stops the shared gateway."""
    assert gateway.run("gateway/run-local.sh", "stop").returncode == 0
    result = gateway.run("scripts/health-check.sh")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith(f"FAIL  liveliness: {gateway.url}/health/liveliness answered 000")
    assert "health check failed at step 1 (liveliness)" in result.stdout
    assert gateway.run("gateway/run-local.sh", "status").returncode == 1
