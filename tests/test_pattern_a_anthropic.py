"""Pattern A with the Anthropic API: the exact client variables, valid settings, clean shell, a working doctor."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from environment import clean_env
from generated import added_vars, check_status, sourced_env, write_user_settings

DEFAULT_PINS = {
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-5-5",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-5-5",
}


# -------------------------------------------------------------------------------------------------------
# The generated variables
# -------------------------------------------------------------------------------------------------------
def test_defaults_export_exactly_the_model_pins(generate, tmp_path):
    project = generate()
    assert added_vars(project, tmp_path) == DEFAULT_PINS


def test_base_url_and_nonessential_traffic_are_added_when_answered(generate, tmp_path):
    project = generate(anthropic_base_url="https://llm.example.com/anthropic/", disable_nonessential_traffic=True)
    assert added_vars(project, tmp_path) == {
        **DEFAULT_PINS,
        "ANTHROPIC_BASE_URL": "https://llm.example.com/anthropic",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def test_custom_model_pins(generate, tmp_path):
    project = generate(customize_models=True, anthropic_opus_model="claude-opus-4-1-20250805",
                       anthropic_sonnet_model="claude-sonnet-4-5", anthropic_haiku_model="claude-3-5-haiku@x")
    assert added_vars(project, tmp_path) == {
        "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-4-1-20250805",
        "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-4-5",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-3-5-haiku@x",
    }


def test_env_sh_unsets_variables_that_would_send_traffic_elsewhere(generate, tmp_path):
    project = generate()
    env = sourced_env(project, tmp_path, CLAUDE_CODE_USE_BEDROCK="1", CLAUDE_CODE_USE_VERTEX="1",
                      ANTHROPIC_BASE_URL="http://somewhere-else.invalid")
    assert not {"CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "ANTHROPIC_BASE_URL"} & env.keys()


def test_env_sh_keeps_the_users_credential_and_writes_none(generate, tmp_path):
    project = generate()
    env = sourced_env(project, tmp_path, ANTHROPIC_API_KEY="sk-ant-users-own-key")
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-users-own-key"
    assert "ANTHROPIC_API_KEY=" not in (project / "client" / "env.sh").read_text()


@pytest.mark.parametrize("answers", [{}, {"anthropic_base_url": "http://127.0.0.1:8080",
                                          "disable_nonessential_traffic": True}])
def test_settings_json_env_matches_env_sh(generate, tmp_path, answers):
    project = generate(**answers)
    settings = json.loads((project / "client" / "settings.json").read_text())
    assert isinstance(settings["env"], dict)
    assert settings["env"] == added_vars(project, tmp_path)


@pytest.mark.parametrize("answers", [{}, {"anthropic_base_url": "https://llm.example.com",
                                          "disable_nonessential_traffic": True}])
def test_generated_shell_scripts_pass_shellcheck(generate, shellcheck, answers):
    scripts = shellcheck(generate(**answers))
    assert {Path(s).name for s in scripts} >= {"env.sh", "check-status.sh", "install.sh", "migrate.sh"}


def test_check_status_is_executable(generate):
    project = generate()
    assert (project / "scripts" / "check-status.sh").stat().st_mode & 0o111


# -------------------------------------------------------------------------------------------------------
# scripts/check-status.sh
# -------------------------------------------------------------------------------------------------------
def matching_env(**extra: str) -> dict[str, str]:
    return {**DEFAULT_PINS, "ANTHROPIC_API_KEY": "sk-ant-test-secret", **extra}


def test_check_status_passes_with_env_sh_sourced(generate, tmp_path):
    project = generate()
    result = subprocess.run(["sh", "-c", ". ./client/env.sh && scripts/check-status.sh --offline"], cwd=project,
                            env=clean_env(tmp_path, ANTHROPIC_API_KEY="sk-ant-test-secret"),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    config: ANTHROPIC_DEFAULT_OPUS_MODEL=claude-opus-5-5" in result.stdout
    assert "skip  network: not contacted (--offline)" in result.stdout
    assert "sk-ant-test-secret" not in result.stdout + result.stderr


def test_check_status_without_home_names_it_in_one_line(generate, tmp_path):
    """`set -u` used to stop the script on "HOME: unbound variable" before its first check."""
    project = generate()
    env = {k: v for k, v in clean_env(tmp_path, **matching_env()).items() if k != "HOME"}
    result = subprocess.run(["scripts/check-status.sh", "--offline"], cwd=project, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "unbound variable" not in result.stderr
    assert result.stdout.startswith("FAIL  config: HOME is not set (nor CLAUDE_CONFIG_DIR)")
    assert "first failing hop: config" in result.stdout


def test_check_status_passes_with_settings_json_installed(generate, tmp_path):
    project = generate()
    write_user_settings(tmp_path, json.loads((project / "client" / "settings.json").read_text()))
    result = check_status(project, tmp_path, "--offline", ANTHROPIC_API_KEY="sk-ant-test-secret")
    assert result.returncode == 0, result.stdout
    assert "ok    credential: ANTHROPIC_API_KEY is set (from your shell)" in result.stdout


@pytest.mark.parametrize(("env", "settings", "failing_line"), [
    pytest.param({k: v for k, v in matching_env().items() if k != "ANTHROPIC_DEFAULT_HAIKU_MODEL"}, None,
                 "FAIL  config: ANTHROPIC_DEFAULT_HAIKU_MODEL is not set, expected 'claude-haiku-5-5'",
                 id="missing-pin"),
    pytest.param(matching_env(), {"env": {"ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-4-1"}},
                 "FAIL  config: ANTHROPIC_DEFAULT_OPUS_MODEL is 'claude-opus-4-1' (from", id="settings-win-over-shell"),
    pytest.param(matching_env(CLAUDE_CODE_USE_BEDROCK="1"), None,
                 "FAIL  conflicts: CLAUDE_CODE_USE_BEDROCK is set (from your shell)", id="bedrock-flag"),
    pytest.param(matching_env(), {"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}},
                 "FAIL  conflicts: ANTHROPIC_BASE_URL is set (from", id="stray-base-url-in-settings"),
    pytest.param(matching_env(ANTHROPIC_AUTH_TOKEN="tok"), None,
                 "FAIL  credential: both ANTHROPIC_API_KEY (from your shell) and ANTHROPIC_AUTH_TOKEN",
                 id="two-credentials"),
    pytest.param({**DEFAULT_PINS}, None, "FAIL  credential: no ANTHROPIC_API_KEY", id="no-credential"),
    pytest.param(matching_env(), "{not json", "FAIL  settings:", id="broken-settings-file"),
])
def test_check_status_fails_naming_the_check(generate, tmp_path, env, settings, failing_line):
    project = generate()
    if isinstance(settings, dict):
        write_user_settings(tmp_path, settings)
    elif isinstance(settings, str):
        (tmp_path / ".claude").mkdir()
        (tmp_path / ".claude" / "settings.json").write_text(settings)
    result = check_status(project, tmp_path, "--offline", **env)
    assert result.returncode == 1, result.stdout
    assert failing_line in result.stdout
    hop = failing_line.split()[1].rstrip(":")
    assert result.stdout.rstrip().splitlines()[-1].endswith(f"checks failed; first failing hop: {hop}")
    assert "sk-ant-test-secret" not in result.stdout + result.stderr


def test_check_status_api_key_helper_counts_as_credential(generate, tmp_path):
    project = generate()
    write_user_settings(tmp_path, {"apiKeyHelper": "vault read -field=key secret/anthropic"})
    result = check_status(project, tmp_path, "--offline", **DEFAULT_PINS)
    assert result.returncode == 0, result.stdout
    assert "ok    credential: apiKeyHelper is configured" in result.stdout


def test_check_status_endpoint_answers(generate, tmp_path, mock_provider):
    project = generate(anthropic_base_url=mock_provider.url)
    result = check_status(project, tmp_path, **matching_env(ANTHROPIC_BASE_URL=mock_provider.url))
    assert result.returncode == 0, result.stdout
    assert f"ok    provider: {mock_provider.url} answered HTTP 200" in result.stdout
    # The reachability probe sends no credential.
    probe = [r for r in mock_provider.requests if r.path == "/v1/models"]
    assert probe and "x-api-key" not in probe[0].headers and "authorization" not in probe[0].headers


def test_check_status_endpoint_down_fails_and_names_it(generate, tmp_path, mock_provider):
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    project = generate(anthropic_base_url=dead)
    result = check_status(project, tmp_path, **matching_env(ANTHROPIC_BASE_URL=dead))
    assert result.returncode == 1
    assert f"FAIL  provider: {dead} did not answer" in result.stdout
    assert result.stdout.rstrip().endswith("first failing hop: provider")


def test_check_status_usage_error(generate, tmp_path):
    result = check_status(generate(), tmp_path, "--bogus")
    assert result.returncode == 2 and "usage:" in result.stderr
