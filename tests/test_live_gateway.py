"""Pattern C, live: the pinned LiteLLM started by the generated gateway/run-local.sh from the generated config and a
gateway/.env made by scripts/init-secrets.sh, the real Claude Code CLI in front, the mock provider behind.
One gateway for the whole module (LiteLLM takes several seconds to boot)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from environment import clean_env, read_env_file
from gateways import HANG_GUARD, UPSTREAM_KEY, post_messages, started_gateway
from mock_provider import DEFAULT_REPLY, RunningMock
from template_clone import git

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, litellm_bin):
    with RunningMock() as mock, started_gateway(copie_module, template_repo, litellm_bin, mock,
                                                anthropic_base_url=mock.url) as gw:
        yield gw


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
                            capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False)
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
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout
    assert f"ok    gateway: {gateway.url} answered HTTP 200" in result.stdout
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


def test_usage_report_shows_spend_and_tokens_for_the_model_used(gateway):
    assert post_messages(gateway.url, gateway.master_key)[0] == 200  # at least one priced request
    result = gateway.run("scripts/usage-report.sh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "per model, since the gateway started" in result.stdout
    assert "per key (hashed, developer)" in result.stdout  # every request so far used the master key
    table = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.startswith("claude-")}
    requests, spend = int(table["claude-opus-5-5"][0]), float(table["claude-opus-5-5"][1])
    as_json = gateway.run("scripts/usage-report.sh", "--by", "model", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    row = next(r for r in json.loads(as_json.stdout) if r["model"] == "claude-opus-5-5")
    assert row["requests"] == requests >= 1 and row["spend_usd"] == spend > 0, row
    assert row["input_tokens"] >= 12 and row["output_tokens"] >= 6, row
    assert gateway.master_key not in result.stdout + result.stderr + as_json.stdout


def test_usage_report_refuses_without_the_master_key(gateway, tmp_path):
    result = subprocess.run(["scripts/usage-report.sh"], cwd=gateway.project, capture_output=True, text=True,
                            timeout=60, env=clean_env(gateway.home, LITELLM_MASTER_KEY="sk-wrong-key"), check=False)
    assert result.returncode == 1
    assert "/metrics/ answered HTTP" in result.stderr


def test_stopped_gateway_fails_the_health_check_naming_the_step(gateway):
    """Last in the module: it stops the shared gateway."""
    assert gateway.run("gateway/run-local.sh", "stop").returncode == 0
    result = gateway.run("scripts/health-check.sh")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith(f"FAIL  liveliness: {gateway.url}/health/liveliness answered 000")
    assert "health check failed at step 1 (liveliness)" in result.stdout
    assert gateway.run("gateway/run-local.sh", "status").returncode == 1
