"""The real Claude Code CLI (pinned, tests/claude-cli) runs with the generated client files against a loopback
mock of the Anthropic Messages API and prints the mock's reply."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from environment import clean_env
from mock_provider import DEFAULT_REPLY

pytestmark = pytest.mark.live

CLI_TIMEOUT = 120  # hang guard only; a healthy run takes about a second


def run_claude(claude_bin, project, home, prelude: str, **env) -> subprocess.CompletedProcess:
    script = f'{prelude}exec "$CLAUDE_BIN" -p "say hi"'
    return subprocess.run(["sh", "-c", script], cwd=project, env=clean_env(home, CLAUDE_BIN=claude_bin, **env),
                          capture_output=True, text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL, check=False)


def test_cli_with_sourced_env_sh_prints_the_mock_reply(generate, claude_bin, mock_provider, tmp_path):
    project = generate(anthropic_base_url=mock_provider.url, disable_nonessential_traffic=True)
    home = tmp_path / "home"
    home.mkdir()
    # The harness sets no ANTHROPIC_BASE_URL and no model: both come from the generated client/env.sh alone.
    result = run_claude(claude_bin, project, home, ". ./client/env.sh && ", ANTHROPIC_API_KEY="sk-ant-test")
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    sent = mock_provider.messages_requests()
    assert sent, "the CLI never reached the mock"
    assert sent[-1].headers.get("x-api-key") == "sk-ant-test"
    assert "authorization" not in sent[-1].headers
    assert {r.body["model"] for r in sent} <= {"claude-opus-5-5", "claude-haiku-5-5"}  # only pinned ids


def test_cli_with_settings_json_as_user_settings_prints_the_mock_reply(generate, claude_bin, mock_provider, tmp_path):
    project = generate(anthropic_base_url=mock_provider.url, disable_nonessential_traffic=True,
                       customize_models=True, anthropic_opus_model="claude-opus-custom-pin")
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    shutil.copy(project / "client" / "settings.json", home / ".claude" / "settings.json")
    result = run_claude(claude_bin, project, home, "", ANTHROPIC_API_KEY="sk-ant-test")
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    assert "claude-opus-custom-pin" in {r.body["model"] for r in mock_provider.messages_requests()}
    # and the doctor agrees with what just worked
    doctor = subprocess.run(["scripts/check-status.sh"], cwd=project, capture_output=True, text=True, timeout=60,
                            env=clean_env(home, ANTHROPIC_API_KEY="sk-ant-test"), check=False)
    assert doctor.returncode == 0, doctor.stdout
    assert json.loads((home / ".claude" / "settings.json").read_text())["env"]["ANTHROPIC_BASE_URL"] == mock_provider.url



def test_cli_bedrock_sends_the_region_prefixed_model_id(generate, claude_bin, mock_provider, tmp_path):
    project = generate(providers=["bedrock"], aws_region="eu-west-1", bedrock_base_url=mock_provider.url,
                       disable_nonessential_traffic=True)
    home = tmp_path / "home"
    home.mkdir()
    # Fake keys: the CLI signs with SigV4 as it would for real; the mock does not check signatures.
    result = run_claude(claude_bin, project, home, ". ./client/env.sh && ",
                        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY="test-secret")
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    assert "/model/eu.anthropic.claude-opus-5-5/invoke-with-response-stream" in mock_provider.paths()
    assert "/inference-profiles" in mock_provider.paths("GET")
    signed = [r for r in mock_provider.requests if r.path.startswith("/model/")]
    assert signed[0].headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/")
    assert "/eu-west-1/bedrock/aws4_request" in signed[0].headers["authorization"]


def test_cli_vertex_posts_to_the_project_region_and_model_path(generate, claude_bin, mock_provider, tmp_path):
    project = generate(providers=["vertex"], gcp_project_id="my-team-prod", gcp_region="us-east5",
                       vertex_base_url=mock_provider.url, disable_nonessential_traffic=True)
    home = tmp_path / "home"
    home.mkdir()
    # No Google login here: skip the client's own token fetch, in the test only (env.sh unsets the flag).
    result = run_claude(claude_bin, project, home, ". ./client/env.sh && CLAUDE_CODE_SKIP_VERTEX_AUTH=1 && "
                        "export CLAUDE_CODE_SKIP_VERTEX_AUTH && ")
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    assert ("/v1/projects/my-team-prod/locations/us-east5/publishers/anthropic/models/claude-opus-5-5:streamRawPredict"
            in mock_provider.paths())
