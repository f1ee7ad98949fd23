"""Pattern A with AWS Bedrock and Google Vertex AI: exact variables, base URLs only with their USE flag,
PowerShell parity, and the doctor's credential checks (which never call a cloud CLI)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from environment import clean_env
from generated import added_vars, check_status, read_ps1, read_unsets

BEDROCK_US = {
    "CLAUDE_CODE_USE_BEDROCK": "1",
    "AWS_REGION": "us-east-1",
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "us.anthropic.claude-opus-5-5",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
}
VERTEX_GLOBAL = {
    "CLAUDE_CODE_USE_VERTEX": "1",
    "CLOUD_ML_REGION": "global",
    "ANTHROPIC_VERTEX_PROJECT_ID": "my-team-prod",
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-5-5",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5@20251001",
}
BEDROCK = {"providers": ["bedrock"]}
VERTEX = {"providers": ["vertex"], "gcp_project_id": "my-team-prod"}


# -------------------------------------------------------------------------------------------------------
# Exact variables per provider
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("answers", "expected"), [
    pytest.param(BEDROCK, BEDROCK_US, id="bedrock-defaults"),
    pytest.param({**BEDROCK, "aws_region": "eu-central-1", "aws_profile": "dev-sso",
                  "bedrock_base_url": "https://vpce-0a1b.bedrock-runtime.eu-central-1.vpce.amazonaws.com/"},
                 {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "eu-central-1", "AWS_PROFILE": "dev-sso",
                  "ANTHROPIC_BEDROCK_BASE_URL": "https://vpce-0a1b.bedrock-runtime.eu-central-1.vpce.amazonaws.com",
                  "ANTHROPIC_DEFAULT_OPUS_MODEL": "eu.anthropic.claude-opus-5-5",
                  "ANTHROPIC_DEFAULT_SONNET_MODEL": "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
                  "ANTHROPIC_DEFAULT_HAIKU_MODEL": "eu.anthropic.claude-haiku-4-5-20251001-v1:0"},
                 id="bedrock-eu-profile-vpc-endpoint"),
    pytest.param({**BEDROCK, "aws_region": "ap-northeast-1"},
                 {**BEDROCK_US, "AWS_REGION": "ap-northeast-1",
                  **{k: v.replace("us.", "apac.", 1) for k, v in BEDROCK_US.items() if "MODEL" in k}},
                 id="bedrock-apac-prefix"),
    pytest.param(VERTEX, VERTEX_GLOBAL, id="vertex-defaults"),
    pytest.param({**VERTEX, "gcp_region": "us-east5", "vertex_base_url": "https://psc.example.com"},
                 {**VERTEX_GLOBAL, "CLOUD_ML_REGION": "us-east5",
                  "ANTHROPIC_VERTEX_BASE_URL": "https://psc.example.com/v1"}, id="vertex-psc-v1-added"),
    pytest.param({**VERTEX, "vertex_base_url": "https://psc.example.com/v1"},
                 {**VERTEX_GLOBAL, "ANTHROPIC_VERTEX_BASE_URL": "https://psc.example.com/v1"}, id="vertex-v1-kept"),
    pytest.param({**VERTEX, "customize_models": True, "vertex_opus_model": "claude-opus-4-1@20250805"},
                 {**VERTEX_GLOBAL, "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-4-1@20250805"}, id="vertex-pin"),
])
def test_exact_variables(generate, tmp_path, answers, expected):
    project = generate(**answers)
    assert added_vars(project, tmp_path) == expected
    assert json.loads((project / "client" / "settings.json").read_text())["env"] == expected


ANSWER_SETS = [{}, {"anthropic_base_url": "https://llm.example.com"}, BEDROCK,
               {**BEDROCK, "aws_profile": "p", "bedrock_base_url": "https://b.example.com"}, VERTEX,
               {**VERTEX, "vertex_base_url": "https://v.example.com"}]


@pytest.mark.parametrize("answers", ANSWER_SETS)
def test_a_base_url_never_appears_without_its_use_flag(generate, tmp_path, answers):
    project = generate(**answers)
    sources = {"env.sh": added_vars(project, tmp_path), "env.ps1": read_ps1(project / "client" / "env.ps1")[0],
               "settings.json": json.loads((project / "client" / "settings.json").read_text())["env"]}
    for name, env in sources.items():
        if "ANTHROPIC_BEDROCK_BASE_URL" in env:
            assert env.get("CLAUDE_CODE_USE_BEDROCK") == "1", name
        if "ANTHROPIC_VERTEX_BASE_URL" in env:
            assert env.get("CLAUDE_CODE_USE_VERTEX") == "1", name
        assert not ("CLAUDE_CODE_USE_BEDROCK" in env and "CLAUDE_CODE_USE_VERTEX" in env), name


@pytest.mark.parametrize("answers", ANSWER_SETS)
def test_env_ps1_sets_and_removes_what_env_sh_does(generate, tmp_path, answers):
    project = generate(**answers)
    assigned, removed = read_ps1(project / "client" / "env.ps1")
    assert assigned == added_vars(project, tmp_path)
    assert removed == read_unsets(project / "client" / "env.sh")


def test_env_ps1_quotes_single_quotes_the_powershell_way():
    import sys

    from environment import REPO_ROOT
    sys.path.insert(0, str(REPO_ROOT))
    from claude_gateway_template.common import ps_quote
    assert ps_quote("it's $(x) `n") == "'it''s $(x) `n'"
    assert ps_quote("a\u2019b") == "'a\u2019\u2019b'"  # PowerShell also ends strings at typographic quotes


@pytest.mark.parametrize("answers", [BEDROCK, VERTEX])
def test_shellcheck_clean(generate, shellcheck, answers):
    shellcheck(generate(**answers))


# -------------------------------------------------------------------------------------------------------
# check-status.sh: provider credentials, looked up without calling aws or gcloud
# -------------------------------------------------------------------------------------------------------
def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(("setup", "extra_env", "expected"), [
    pytest.param(None, {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-value"},
                 "ok    credential: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set", id="keys"),
    pytest.param(None, {"AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key"},
                 "ok    credential: AWS_BEARER_TOKEN_BEDROCK is set", id="bedrock-api-key"),
    pytest.param((".aws/credentials", "[default]\naws_access_key_id = AKIAEXAMPLE\n"), {},
                 "ok    credential: profile 'default' has keys in", id="default-profile-keys"),
    pytest.param(None, {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"},
                 "FAIL  credential: only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set", id="half-keys"),
    pytest.param(None, {}, "FAIL  credential: no AWS credentials for profile 'default'", id="nothing"),
])
def test_bedrock_credentials(generate, tmp_path, setup, extra_env, expected):
    project = generate(**BEDROCK)
    if setup:
        write(tmp_path / setup[0], setup[1])
    result = check_status(project, tmp_path, "--offline", **BEDROCK_US, **extra_env)
    assert expected in result.stdout
    assert result.returncode == (1 if expected.startswith("FAIL") else 0), result.stdout
    assert "secret-value" not in result.stdout and "bedrock-api-key" not in result.stdout


def test_bedrock_sso_profile_without_login_names_the_login_command(generate, tmp_path):
    project = generate(**BEDROCK, aws_profile="dev-sso")
    write(tmp_path / ".aws" / "config", "[default]\nregion = us-east-1\n\n[profile dev-sso]\n"
                                        "sso_session = corp\nsso_account_id = 123456789012\n")
    env = {**BEDROCK_US, "AWS_PROFILE": "dev-sso"}
    result = check_status(project, tmp_path, "--offline", **env)
    assert result.returncode == 1
    assert ("FAIL  credential: profile 'dev-sso' uses AWS SSO but no SSO login is cached; "
            "run: aws sso login --profile dev-sso") in result.stdout
    write(tmp_path / ".aws" / "sso" / "cache" / "0123.json", "{}")  # what `aws sso login` leaves behind
    result = check_status(project, tmp_path, "--offline", **env)
    assert result.returncode == 0, result.stdout
    assert "ok    credential: profile 'dev-sso' is configured" in result.stdout


def test_bedrock_missing_use_flag_fails(generate, tmp_path):
    project = generate(**BEDROCK)
    env = {k: v for k, v in BEDROCK_US.items() if k != "CLAUDE_CODE_USE_BEDROCK"}
    result = check_status(project, tmp_path, "--offline", **env, AWS_BEARER_TOKEN_BEDROCK="x")
    assert result.returncode == 1
    assert "FAIL  config: CLAUDE_CODE_USE_BEDROCK is not set, expected '1'" in result.stdout


def test_bedrock_endpoint_check_uses_the_base_url(generate, tmp_path, mock_provider):
    project = generate(**BEDROCK, bedrock_base_url=mock_provider.url)
    env = {**BEDROCK_US, "ANTHROPIC_BEDROCK_BASE_URL": mock_provider.url, "AWS_BEARER_TOKEN_BEDROCK": "x"}
    result = check_status(project, tmp_path, **env)
    assert result.returncode == 0, result.stdout
    assert f"ok    provider: {mock_provider.url} answered HTTP 404" in result.stdout


@pytest.mark.parametrize(("adc", "gac", "expected"), [
    pytest.param(True, None, "ok    credential: application default credentials found in", id="adc-file"),
    pytest.param(False, "key.json", "ok    credential: GOOGLE_APPLICATION_CREDENTIALS points at an existing file",
                 id="service-account-file"),
    pytest.param(False, "missing.json", "FAIL  credential: GOOGLE_APPLICATION_CREDENTIALS (from your shell) points at",
                 id="service-account-file-missing"),
    pytest.param(False, None, "run: gcloud auth application-default login", id="nothing"),
])
def test_vertex_credentials(generate, tmp_path, adc, gac, expected):
    project = generate(**VERTEX)
    if adc:
        write(tmp_path / ".config" / "gcloud" / "application_default_credentials.json", "{}")
    extra = {}
    if gac:
        if gac == "key.json":
            write(tmp_path / gac, "{}")
        extra["GOOGLE_APPLICATION_CREDENTIALS"] = str(tmp_path / gac)
    result = check_status(project, tmp_path, "--offline", **VERTEX_GLOBAL, **extra)
    assert expected in result.stdout
    assert result.returncode == (0 if expected.startswith("ok") else 1), result.stdout


def test_vertex_stray_skip_auth_flag_fails(generate, tmp_path):
    project = generate(**VERTEX)
    write(tmp_path / ".config" / "gcloud" / "application_default_credentials.json", "{}")
    result = check_status(project, tmp_path, "--offline", **VERTEX_GLOBAL, CLAUDE_CODE_SKIP_VERTEX_AUTH="1")
    assert result.returncode == 1
    assert "FAIL  conflicts: CLAUDE_CODE_SKIP_VERTEX_AUTH is set (from your shell)" in result.stdout


def test_check_status_never_runs_cloud_clis(generate, tmp_path):
    """aws and gcloud may be absent: put failing stand-ins first on PATH; the doctor must not call them."""
    bin_dir = tmp_path / "bin"
    for tool in ("aws", "gcloud"):
        write(bin_dir / tool, f"#!/bin/sh\necho called >> {tmp_path}/cloud-cli-called\nexit 99\n")
        (bin_dir / tool).chmod(0o755)
    for answers, env, provider in ((BEDROCK, BEDROCK_US, "bedrock"), (VERTEX, VERTEX_GLOBAL, "vertex")):
        project = generate(**answers)
        result = subprocess.run(["scripts/check-status.sh", "--offline"], cwd=project, capture_output=True,
                                text=True, timeout=60, check=False,
                                env={**clean_env(tmp_path, **env), "PATH": f"{bin_dir}:/usr/bin:/bin"})
        # The doctor ran to its end and checked the credentials (a crash before them would call no CLI either).
        assert "Traceback" not in result.stderr and "syntax error" not in result.stderr, result.stderr
        assert any(line[6:].startswith("credential: ") for line in result.stdout.splitlines()), result.stdout
        assert result.returncode in (0, 1), (provider, result.returncode, result.stdout)
    assert not (tmp_path / "cloud-cli-called").exists()


@pytest.mark.parametrize("answers", [{}, BEDROCK, VERTEX])
def test_generated_setup_page_documents_managed_settings_and_locked_down_variables(generate, answers):
    readme = (generate(**answers) / "docs" / "setup.md").read_text()
    for path in ("/etc/claude-code/managed-settings.json",
                 "/Library/Application Support/ClaudeCode/managed-settings.json",
                 "C:\\Program Files\\ClaudeCode\\managed-settings.json",
                 "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "DISABLE_AUTOUPDATER", "client/install.sh --undo"):
        assert path in readme
