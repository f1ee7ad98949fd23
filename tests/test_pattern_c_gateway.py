"""Pattern C, static: what the gateway files and the gateway-side client files say, checked without starting
anything (the live module starts LiteLLM)."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from claude_gateway_template import versions
from environment import REPO_ROOT, clean_env
from generated import added_vars, check_status, install, rejected
from generated import user_settings as settings
from template_clone import run_copier_cli

C = {"cost_tracking": True}
PINS = {"ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5", "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-5-5",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-5-5"}
VARIANTS = [
    pytest.param(C, id="defaults"),
    pytest.param({**C, "spend_database": True}, id="database"),
    pytest.param({**C, "providers": ["bedrock"], "aws_profile": "gw"}, id="bedrock-profile"),
    pytest.param({**C, "providers": ["vertex"], "gcp_project_id": "my-team-prod", "gateway_runtime": "process"},
                 id="vertex-process"),
    pytest.param({**C, "gateway_bind": "0.0.0.0", "gateway_url": "https://llm-gateway.example.com"}, id="shared"),
]


def config(project: Path) -> dict:
    return yaml.safe_load((project / "gateway" / "litellm_config.yaml").read_text())


def compose(project: Path) -> dict:
    return yaml.safe_load((project / "gateway" / "docker-compose.yml").read_text())


# -------------------------------------------------------------------------------------------------------
# gateway/litellm_config.yaml
# -------------------------------------------------------------------------------------------------------
def test_model_groups_are_the_ids_the_client_pins(generate, tmp_path):
    project = generate(**C, anthropic_base_url="http://127.0.0.1:8080")
    models = config(project)["model_list"]
    assert [m["model_name"] for m in models] == list(PINS.values())
    assert [m["litellm_params"] for m in models] == [
        {"model": f"anthropic/{name}", "api_key": "os.environ/ANTHROPIC_API_KEY", "api_base": "http://127.0.0.1:8080"}
        for name in PINS.values()]
    client = added_vars(project, tmp_path)
    assert {client[k] for k in PINS} == {m["model_name"] for m in models}


def test_bedrock_and_vertex_deployments_map_the_gateway_names_to_provider_ids(generate):
    bedrock = config(generate(**C, providers=["bedrock"], aws_region="eu-west-1", aws_profile="gw",
                              bedrock_base_url="https://vpce.example.com"))["model_list"]
    assert bedrock[0] == {"model_name": "claude-opus-5-5", "litellm_params": {
        "model": "bedrock/eu.anthropic.claude-opus-5-5", "aws_region_name": "eu-west-1", "aws_profile_name": "gw",
        "aws_bedrock_runtime_endpoint": "https://vpce.example.com"}}
    vertex = config(generate(**C, providers=["vertex"], gcp_project_id="my-team-prod", gcp_region="us-east5"))
    assert vertex["model_list"][2] == {"model_name": "claude-haiku-5-5", "litellm_params": {
        "model": "vertex_ai/claude-haiku-4-5@20251001", "vertex_project": "my-team-prod", "vertex_location": "us-east5"}}


@pytest.mark.parametrize("answers", VARIANTS)
def test_settings_secrets_and_timeouts(generate, answers):
    project = generate(**answers)
    cfg = config(project)
    assert cfg["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert "master_key" not in cfg.get("litellm_settings", {})  # the classic misplacement
    assert cfg["router_settings"]["timeout"] >= 600 and cfg["router_settings"]["stream_timeout"] >= 600
    # One provider (every variant here): no router retries, so LiteLLM streams each event as it comes
    # (tests/test_live_streaming.py); several keep retries for failover (test_several_providers_keep_retries).
    assert cfg["router_settings"]["num_retries"] == 0
    assert cfg["litellm_settings"]["turn_off_message_logging"] is True
    if answers.get("spend_database"):
        assert cfg["general_settings"]["database_url"] == "os.environ/DATABASE_URL"
    else:
        assert "database_url" not in cfg["general_settings"]

    def walk(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for item in node:
                yield from walk(item, path)
        else:
            yield path, node

    for path, value in walk(cfg):
        if any(word in path for word in ("key", "secret", "password", "token", "database_url")):
            assert str(value).startswith("os.environ/"), (path, value)


# -------------------------------------------------------------------------------------------------------
# gateway/docker-compose.yml
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("answers", VARIANTS)
def test_compose_validates_against_the_compose_spec(generate, answers):
    project = generate(**answers)
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec",
                             str(project / "gateway" / "docker-compose.yml")], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("answers", VARIANTS)
def test_compose_pins_images_and_probes_liveliness(generate, answers):
    project = generate(**answers)
    text = (project / "gateway" / "docker-compose.yml").read_text()
    services = compose(project)["services"]
    for service in services.values():  # every image pinned to a version tag
        name, _, tag = service["image"].rpartition(":")
        assert name and tag and "latest" not in tag, service["image"]
    # The 1.108.x tag scheme: v<version>, no -stable; the database variant when there is a spend database.
    variant = "litellm-database" if answers.get("spend_database") else "litellm"
    assert services["litellm"]["image"] == f"ghcr.io/berriai/{variant}:v{versions.LITELLM_VERSION}"
    assert "/health/liveliness" in " ".join(services["litellm"]["healthcheck"]["test"])
    assert services["litellm"]["env_file"] == ".env" and services["litellm"]["restart"] == "unless-stopped"
    assert services["litellm"]["environment"]["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert "ANTHROPIC_BASE_URL" not in text
    if answers.get("spend_database"):
        assert services["postgres"]["image"] == versions.POSTGRES_IMAGE
        assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
        assert services["litellm"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    else:
        assert "postgres" not in services


def test_compose_port_is_loopback_by_default_and_shared_when_asked(generate):
    assert compose(generate(**C))["services"]["litellm"]["ports"] == ["127.0.0.1:4000:4000"]
    shared = generate(**C, gateway_bind="0.0.0.0", gateway_port=8443, gateway_url="https://llm.example.com")
    assert compose(shared)["services"]["litellm"]["ports"] == ["0.0.0.0:8443:4000"]


def test_compose_passes_provider_credentials(generate):
    bedrock = compose(generate(**C, providers=["bedrock"], aws_profile="gw"))["services"]["litellm"]
    assert "${HOME}/.aws:/root/.aws:ro" in bedrock["volumes"]
    vertex = compose(generate(**C, providers=["vertex"], gcp_project_id="my-team-prod"))["services"]["litellm"]
    assert vertex["environment"]["GOOGLE_APPLICATION_CREDENTIALS"] == "/run/secrets/gcp-credentials.json"
    assert any(v.endswith(":/run/secrets/gcp-credentials.json:ro") for v in vertex["volumes"])


# -------------------------------------------------------------------------------------------------------
# The other gateway files
# -------------------------------------------------------------------------------------------------------
def pins(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_gateway_requirements_match_the_tested_pins(generate):
    tested = pins(REPO_ROOT / "requirements-gateway.txt")
    generated = pins(generate(**C) / "gateway" / "requirements.txt")
    assert generated == tested
    assert f"litellm=={versions.LITELLM_VERSION}" in generated
    assert [pin.requirement for pin in versions.GATEWAY_RUNTIME_PINS] == generated[-len(versions.GATEWAY_RUNTIME_PINS):]
    # The database mode adds what the live database tests install (tests/support/requirements-database.txt).
    with_database = pins(generate(**C, spend_database=True) / "gateway" / "requirements.txt")
    assert with_database == tested + pins(REPO_ROOT / "tests" / "support" / "requirements-database.txt")


@pytest.mark.parametrize("answers", VARIANTS)
def test_env_example_documents_every_variable_and_holds_no_secret(generate, answers):
    project = generate(**answers)
    example = (project / "gateway" / ".env.example").read_text()
    names = [line.split("=")[0] for line in example.splitlines() if line and not line.startswith("#")]
    assert {"LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"} <= set(names)
    for line in example.splitlines():
        if line.startswith(("LITELLM_", "POSTGRES_PASSWORD")):
            assert line.endswith("="), line
    init = (project / "scripts" / "init-secrets.sh").read_text()
    for name in names:
        assert name in init  # init-secrets.sh generates it or lists it for the user


def test_gateway_files_are_not_in_pattern_a(generate):
    project = generate()
    assert not (project / "gateway").exists()
    assert not (project / "scripts" / "health-check.sh").exists()
    assert not (project / "scripts" / "init-secrets.sh").exists()


@pytest.mark.parametrize("answers", VARIANTS)
def test_gateway_scripts_pass_shellcheck(generate, shellcheck, answers):
    assert len(shellcheck(generate(**answers))) >= 10  # client 2, gateway 1, scripts 5 (+ new-key.sh), lib 2


def test_init_secrets_database_values(generate, tmp_path):
    project = generate(**C, spend_database=True)
    result = subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(tmp_path), capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    env = dict(line.split("=", 1) for line in (project / "gateway" / ".env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert env["DATABASE_URL"] == f"postgresql://litellm:{env['POSTGRES_PASSWORD']}@127.0.0.1:5432/litellm"
    assert "fill in gateway/.env: ANTHROPIC_API_KEY" in result.stdout


# -------------------------------------------------------------------------------------------------------
# The client side of Pattern C
# -------------------------------------------------------------------------------------------------------
def test_client_points_at_the_gateway(generate, tmp_path):
    # The developer's name for the usage report: the login name (USER, else `id -un`), unless CLAUDE_GATEWAY_USER
    # says otherwise. clean_env sets no USER.
    user = pwd.getpwuid(os.getuid()).pw_name
    assert added_vars(generate(**C), tmp_path) == {"ANTHROPIC_BASE_URL": "http://127.0.0.1:4000",
                                                   "ANTHROPIC_API_KEY": "", **PINS,
                                                   "ANTHROPIC_CUSTOM_HEADERS": f"x-litellm-end-user-id: {user}",
                                                   "DISABLE_AUTOUPDATER": "1"}
    bridged = added_vars(generate(**C, providers=["bedrock"], gateway_port=4100), tmp_path)
    assert bridged["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:4100"
    assert bridged["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"] == "1"
    assert bridged["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "claude-opus-5-5"  # the gateway's name, not the Bedrock id
    assert "CLAUDE_CODE_USE_BEDROCK" not in bridged


def test_api_key_helper_is_installed_and_undone(generate, tmp_path):
    helper = "vault kv get -field=key secret/claude/gateway"
    project = generate(**C, client_auth="api_key_helper", api_key_helper=helper)
    assert json.loads((project / "client" / "settings.json").read_text())["apiKeyHelper"] == helper
    assert install(project, tmp_path).returncode == 0
    assert settings(tmp_path)["apiKeyHelper"] == helper
    doctor = check_status(project, tmp_path, "--offline")
    assert "ok    credential: apiKeyHelper is configured" in doctor.stdout
    assert doctor.returncode == 0, doctor.stdout
    assert install(project, tmp_path, "--undo").returncode == 0
    assert not (tmp_path / ".claude" / "settings.json").exists()


@pytest.mark.parametrize(("env", "line"), [
    ({"ANTHROPIC_AUTH_TOKEN": "sk-gateway-token"}, "ok    credential: ANTHROPIC_AUTH_TOKEN is set"),
    ({}, "FAIL  credential: ANTHROPIC_AUTH_TOKEN is not set"),
    ({"ANTHROPIC_AUTH_TOKEN": "sk-gateway-token", "ANTHROPIC_API_KEY": "sk-ant-personal-secret"},
     "FAIL  config: ANTHROPIC_API_KEY is set (from your shell) but must be empty"),
])
def test_check_status_for_the_gateway_client(generate, tmp_path, env, line):
    project = generate(**C)
    result = check_status(project, tmp_path, "--offline", ANTHROPIC_BASE_URL="http://127.0.0.1:4000", **PINS,
                          DISABLE_AUTOUPDATER="1", **env)
    assert line in result.stdout
    assert result.returncode == (0 if line.startswith("ok") else 1), result.stdout
    assert "sk-ant-personal-secret" not in result.stdout and "sk-gateway-token" not in result.stdout


def test_generated_docs_explain_both_runtimes_and_the_master_key(generate):
    project = generate(**C)
    readme = "".join((project / "docs" / page).read_text() for page in ("gateway.md", "keys-and-budgets.md"))
    for text in ("docker compose -f gateway/docker-compose.yml up -d", "gateway/run-local.sh start",
                 "scripts/health-check.sh", "gateway/run-local.sh stop", "logs", "admin credential",
                 "spend_database"):
        assert text in readme, text


# -------------------------------------------------------------------------------------------------------
# Gateway answers: bad input
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "message"), [
    ({**C, "gateway_port": 70000}, "gateway_port: '70000' is not a TCP port; expected a whole number from 1 to 65535"),
    ({**C, "gateway_bind": "localhost; id"}, "gateway_bind: 'localhost; id' is not an IP address to listen on"),
    ({**C, "gateway_bind": "0.0.0.0"}, "gateway_url: empty, but the gateway listens on 0.0.0.0 (shared)"),
    ({**C, "gateway_url": "http://llm.example.com"}, "gateway_url: 'http://llm.example.com' uses plain http://"),
    ({**C, "gateway_url": "https://llm.example.com/v1"}, "gateway_url: 'https://llm.example.com/v1' ends in /v1"),
    ({**C, "gateway_runtime": "swarm"}, "gateway_runtime: 'swarm' is not one of the choices; expected docker or process or kubernetes"),
    ({**C, "client_auth": "api_key_helper", "api_key_helper": "vault\nrm -rf /"},
     "api_key_helper: 'vault\\nrm -rf /' contains a control character (U+000A)"),
])
def test_bad_gateway_input(template_repo, tmp_path, data, message):
    assert message in rejected(template_repo, tmp_path, **data)


# -------------------------------------------------------------------------------------------------------
# Several providers, cost tracking, keys, workers (issue: Pattern C part 2)
# -------------------------------------------------------------------------------------------------------
MULTI = {**C, "providers": ["anthropic", "bedrock", "vertex"], "gcp_project_id": "my-team-prod"}


def test_each_group_has_one_deployment_per_provider_in_priority_order(generate):
    models = config(generate(**MULTI, primary_provider="vertex"))["model_list"]
    assert [m["model_name"] for m in models] == ["claude-opus-5-5"] * 3 + ["claude-sonnet-5-5"] * 3 + \
        ["claude-haiku-5-5"] * 3
    opus = [m["litellm_params"] for m in models[:3]]
    assert [(p["model"].split("/")[0], p["order"]) for p in opus] == [("vertex_ai", 1), ("anthropic", 2),
                                                                      ("bedrock", 3)]


def test_primary_defaults_to_the_first_listed_and_single_provider_has_no_order(generate):
    models = config(generate(**MULTI))["model_list"]
    assert models[0]["litellm_params"]["model"].startswith("anthropic/")
    assert all("order" not in m["litellm_params"] for m in config(generate(**C))["model_list"])


def test_several_providers_keep_retries(generate):
    several = config(generate(**C, providers=["anthropic", "bedrock"], aws_profile="gw"))
    assert several["router_settings"]["num_retries"] == 2
    assert {m["litellm_params"]["order"] for m in several["model_list"]} == {1, 2}


def test_prometheus_callback_is_on(generate):
    assert config(generate(**C))["litellm_settings"]["callbacks"] == ["prometheus"]


def test_redis_only_with_several_workers(generate):
    single = generate(**C)
    assert "redis_host" not in config(single)["router_settings"] and "redis" not in compose(single)["services"]
    multi = generate(**C, gateway_workers=4)
    router = config(multi)["router_settings"]
    assert router["redis_host"] == "os.environ/REDIS_HOST" and router["redis_password"] == "os.environ/REDIS_PASSWORD"
    services = compose(multi)["services"]
    assert services["litellm"]["command"][-2:] == ["--num_workers", "4"]
    assert services["litellm"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "--num_workers 4" in (multi / "gateway" / "run-local.sh").read_text()
    assert "# 4 workers: without a shared Redis" in (multi / "gateway" / "litellm_config.yaml").read_text()


def test_new_key_script_only_with_the_database(generate, tmp_path):
    assert not (generate(**C) / "scripts" / "new-key.sh").exists()
    project = generate(**C, spend_database=True)
    script = project / "scripts" / "new-key.sh"
    assert "lib/access.py\" new-key" in script.read_text()  # the code sync-access.sh uses too
    shared = (project / "scripts" / "lib" / "access.py").read_text()
    assert "/key/generate" in shared and '"key_alias"' in shared and "max_budget" in shared
    usage = subprocess.run([str(script)], cwd=project, env=clean_env(tmp_path), capture_output=True, text=True,
                           timeout=30, check=False)
    assert usage.returncode == 2 and "usage:" in usage.stderr
    bad = subprocess.run([str(script), "alice", "--budget", "lots"], cwd=project, env=clean_env(tmp_path),
                         capture_output=True, text=True, timeout=30, check=False)
    assert bad.returncode == 2 and "--budget 'lots' must be a number" in bad.stderr
    no_key = subprocess.run([str(script), "alice"], cwd=project, env=clean_env(tmp_path), capture_output=True,
                            text=True, timeout=30, check=False)
    assert no_key.returncode == 1 and "no master key" in no_key.stderr


def test_several_providers_are_fine_with_cost_tracking(template_repo, tmp_path):
    result = run_copier_cli(template_repo, tmp_path / "p", data={**MULTI})
    assert result.returncode == 0, result.stderr


def test_primary_provider_must_be_selected(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, **C, providers=["anthropic", "bedrock"], primary_provider="vertex")
    assert "primary_provider: 'vertex' is not one of the selected providers; expected one of anthropic, bedrock" in last


def test_workers_must_be_a_small_count(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, **C, gateway_workers=0)
    assert "gateway_workers: '0' is not a worker count; expected a whole number from 1 to 32" in last


@pytest.mark.parametrize(("script", "missing"), [("scripts/health-check.sh", "curl"), ("scripts/usage-report.sh", "python3"),
                                                  ("gateway/run-local.sh", "curl")])
def test_a_missing_tool_is_one_line_and_exit_1(generate, tmp_path, script, missing):
    """Every command the scripts use except `missing`, so the script gets as far as its own check."""
    project = generate(cost_tracking=True, gateway_runtime="process")
    tools = tmp_path / "bin"
    tools.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(folder).iterdir():
            if tool.name != missing and tool.is_file() and not (tools / tool.name).is_symlink():
                (tools / tool.name).symlink_to(tool)
    args = ["status"] if script.endswith("run-local.sh") else []
    result = subprocess.run([str(tools / "bash"), script, *args], cwd=project, capture_output=True, text=True,
                            env={**clean_env(tmp_path), "PATH": str(tools)}, timeout=60, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == f"{Path(script).name}: needs {missing}, which is not in PATH; install it\n"
