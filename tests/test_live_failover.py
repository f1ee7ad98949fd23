"""Pattern C failover, live, with the product's own output: Bedrock is the primary provider but its endpoint
refuses connections; every request must still succeed, served by the Anthropic deployment of the same group."""

from __future__ import annotations

import subprocess

import pytest
from environment import clean_env, free_port
from gateways import HANG_GUARD, post_messages, started_failover_gateway
from mock_provider import DEFAULT_REPLY, RunningMock

pytestmark = pytest.mark.live

REQUESTS = 20


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, litellm_bin):
    dead_bedrock = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    with RunningMock() as mock, started_failover_gateway(copie_module, template_repo, litellm_bin, mock, "bedrock",
                                                         bedrock_base_url=dead_bedrock) as gw:
        yield gw


def test_every_request_succeeds_while_the_primary_is_down(gateway):
    statuses = []
    for model in ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"] * (REQUESTS // 3 + 1):
        status, body = post_messages(gateway.url, gateway.master_key, model)
        statuses.append(status)
        assert status == 200 and DEFAULT_REPLY in body, body
        if len(statuses) == REQUESTS:
            break
    assert statuses == [200] * REQUESTS
    served = gateway.mock.messages_requests()
    assert len(served) >= REQUESTS  # the Anthropic deployment served all of them


def test_real_cli_succeeds_while_the_primary_is_down(gateway, claude_bin):
    result = subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'], cwd=gateway.project,
                            env=clean_env(gateway.home, CLAUDE_BIN=claude_bin, ANTHROPIC_AUTH_TOKEN=gateway.master_key),
                            capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout


def test_client_env_disables_experimental_betas_for_the_bridged_provider(gateway):
    assert "export CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS=1" in (gateway.project / "client" / "env.sh").read_text()


@pytest.fixture(scope="module")
def healthy_gateway(copie_module, template_repo, litellm_bin):
    """The control: the same answers with a Bedrock endpoint that works (the mock speaks Bedrock's paths too)."""
    with RunningMock() as mock, started_failover_gateway(copie_module, template_repo, litellm_bin, mock,
                                                         "bedrock") as gw:
        yield gw


def test_a_healthy_primary_serves_first(healthy_gateway):
    for _ in range(3):
        status, body = post_messages(healthy_gateway.url, healthy_gateway.master_key)
        assert status == 200, body
    bedrock_calls = [p for p in healthy_gateway.mock.paths() if p.startswith("/model/us.anthropic.claude-opus-5-5/")]
    assert len(bedrock_calls) == 3, healthy_gateway.mock.paths()
    assert not healthy_gateway.mock.messages_requests()  # the Anthropic deployment was not needed
