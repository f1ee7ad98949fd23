"""Microsoft Foundry, added through the provider registry: the exact client variables, bad input, the doctor's
credential check, the real Claude Code CLI on Foundry's path, and the generated gateway calling Foundry (also as
the failover target, with a deployment name without "claude")."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from claude_gateway_template.providers import REGISTRY
from environment import clean_env, free_port
from gateways import HANG_GUARD, post_messages, started_gateway
from generated import added_vars, check_status, read_ps1, read_unsets, rejected, write_user_settings
from mock_provider import DEFAULT_REPLY, RunningMock

FOUNDRY = {"providers": ["foundry"], "foundry_resource": "my-foundry"}
DEFAULT_PINS = {"ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5", "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-5-5",
                "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5"}
CLI_TIMEOUT = 120  # hang guard only
FOUNDRY_PATH = REGISTRY["foundry"].request_path({}, "any")  # where Claude Code and the gateway post: the mock serves it


# -------------------------------------------------------------------------------------------------------
# The generated client (Patterns A/B)
# -------------------------------------------------------------------------------------------------------
def test_resource_gives_the_switch_the_resource_and_the_pins(generate, tmp_path):
    project = generate(**FOUNDRY)
    expected = {"CLAUDE_CODE_USE_FOUNDRY": "1", "ANTHROPIC_FOUNDRY_RESOURCE": "my-foundry", **DEFAULT_PINS}
    assert added_vars(project, tmp_path) == expected
    assert json.loads((project / "client" / "settings.json").read_text())["env"] == expected
    assert read_ps1(project / "client" / "env.ps1")[0] == expected
    # Claude Code refuses a resource and a base URL at once; another provider's switch would take over.
    unset = read_unsets(project / "client" / "env.sh")
    assert {"ANTHROPIC_FOUNDRY_BASE_URL", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX",
            "CLAUDE_CODE_SKIP_FOUNDRY_AUTH"} <= set(unset)
    assert "FOUNDRY_API_KEY" not in (project / "client" / "settings.json").read_text()


def test_base_url_replaces_the_resource(generate, tmp_path):
    project = generate(providers=["foundry"], foundry_base_url="https://apim.example.com/foundry/anthropic/",
                       customize_models=True, foundry_sonnet_model="sonnet-prod")
    assert added_vars(project, tmp_path) == {
        "CLAUDE_CODE_USE_FOUNDRY": "1", "ANTHROPIC_FOUNDRY_BASE_URL": "https://apim.example.com/foundry/anthropic",
        **DEFAULT_PINS, "ANTHROPIC_DEFAULT_SONNET_MODEL": "sonnet-prod"}
    assert "ANTHROPIC_FOUNDRY_RESOURCE" in read_unsets(project / "client" / "env.sh")


def test_other_providers_forbid_the_foundry_switch(generate):
    assert "CLAUDE_CODE_USE_FOUNDRY" in read_unsets(generate() / "client" / "env.sh")


def test_proxy_allowlist_names_the_foundry_host(generate):
    project = generate(**FOUNDRY, corporate_proxy=True, proxy_url="http://proxy.example.com:8080")
    allowlist = (project / "docs" / "egress-allowlist.md").read_text()
    assert "my-foundry.services.ai.azure.com" in allowlist and "login.microsoftonline.com" in allowlist


# -------------------------------------------------------------------------------------------------------
# Bad input: one line naming the question, the value and what is expected
# -------------------------------------------------------------------------------------------------------
BAD_FOUNDRY_INPUTS = [
    ({"providers": ["foundry"]}, "foundry_base_url: empty, and foundry_resource is empty too"),
    ({**FOUNDRY, "foundry_resource": "my foundry"}, "foundry_resource: 'my foundry' is not an Azure resource name"),
    ({**FOUNDRY, "foundry_resource": "https://x.services.ai.azure.com"},
     "foundry_resource: 'https://x.services.ai.azure.com' is not an Azure resource name"),
    ({**FOUNDRY, "foundry_resource": "$(id)"}, "foundry_resource: '$(id)' is not an Azure resource name"),
    ({**FOUNDRY, "foundry_base_url": "https://x.example.com/anthropic"},
     "foundry_base_url: 'https://x.example.com/anthropic' is given together with foundry_resource 'my-foundry'"),
    ({"providers": ["foundry"], "foundry_base_url": "https://x.example.com"},
     "foundry_base_url: 'https://x.example.com' does not end in /anthropic; expected a https:// URL ending in"),
    ({"providers": ["foundry"], "foundry_base_url": "http://x.example.com/anthropic"},
     "foundry_base_url: 'http://x.example.com/anthropic' uses plain http:// to a non-loopback host"),
    ({"providers": ["foundry"], "foundry_base_url": "https://x.example.com/anthropic\n"},
     "foundry_base_url: 'https://x.example.com/anthropic\\n' contains a control character (U+000A)"),
    ({**FOUNDRY, "customize_models": True, "foundry_opus_model": "opus prod"},
     "foundry_opus_model: 'opus prod' is not a model id"),
    ({**FOUNDRY, "providers": ["anthropic", "foundry"]}, "providers: ['anthropic', 'foundry'] selects 2 providers"),
    ({**FOUNDRY, "cost_tracking": True, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
      "deploy_gateway": False}, "gateway_url: empty, but this repository does not deploy the gateway"),
]


@pytest.mark.parametrize(("data", "message"), BAD_FOUNDRY_INPUTS,
                         ids=[f"{i}-{m.split(':')[0]}" for i, (_, m) in enumerate(BAD_FOUNDRY_INPUTS)])
def test_bad_foundry_input(template_repo, tmp_path, data, message):
    assert message in rejected(template_repo, tmp_path, **data)


# -------------------------------------------------------------------------------------------------------
# The doctor's credential check (offline: it never calls az)
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("env", "azure_login", "line"), [
    ({"ANTHROPIC_FOUNDRY_API_KEY": "k"}, False, "ok    credential: ANTHROPIC_FOUNDRY_API_KEY is set (from your shell)"),
    ({}, True, "ok    credential: an Azure CLI sign-in is cached in"),
    ({}, False, "FAIL  credential: no ANTHROPIC_FOUNDRY_API_KEY and no Entra ID sign-in"),
])
def test_doctor_checks_the_foundry_credential(generate, tmp_path, env, azure_login, line):
    project = generate(**FOUNDRY)
    write_user_settings(tmp_path, json.loads((project / "client" / "settings.json").read_text()))
    if azure_login:
        (tmp_path / ".azure").mkdir()
        (tmp_path / ".azure" / "msal_token_cache.json").write_text("{}")
    result = check_status(project, tmp_path, "--offline", **env)
    assert line in result.stdout, result.stdout
    assert (result.returncode == 0) == line.startswith("ok"), result.stdout


# -------------------------------------------------------------------------------------------------------
# Live: the real Claude Code CLI on Foundry's path, with the generated deployment name
# -------------------------------------------------------------------------------------------------------
@pytest.mark.live
def test_cli_posts_to_the_foundry_path_with_the_deployment_name(generate, claude_bin, mock_provider, tmp_path):
    # `claude -p` uses the sonnet tier in Foundry mode: its deployment name must be what arrives.
    project = generate(providers=["foundry"], foundry_base_url=f"{mock_provider.url}/anthropic",
                       customize_models=True, foundry_sonnet_model="sonnet-prod", disable_nonessential_traffic=True)
    result = subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'], cwd=project,
                            env=clean_env(tmp_path, CLAUDE_BIN=claude_bin, ANTHROPIC_FOUNDRY_API_KEY="foundry-key"),
                            capture_output=True, text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    sent = [r for r in mock_provider.requests if r.path.split("?")[0] == FOUNDRY_PATH]
    assert sent, mock_provider.paths()
    assert sent[-1].body["model"] == "sonnet-prod"
    assert sent[-1].headers.get("x-api-key") == "foundry-key"


# -------------------------------------------------------------------------------------------------------
# Live: the generated gateway with Foundry as the failover target, deployment "opus-prod" (no "claude" in it)
# -------------------------------------------------------------------------------------------------------
FOUNDRY_KEY = "foundry-upstream-key"


@pytest.fixture(scope="module")
def gateway(copie_module, template_repo, litellm_bin):
    dead_anthropic = f"http://127.0.0.1:{free_port()}"  # the primary: nothing listens there
    with RunningMock() as mock, started_gateway(
            copie_module, template_repo, litellm_bin, mock, gateway_env={"AZURE_AI_API_KEY": FOUNDRY_KEY},
            providers=["anthropic", "foundry"], primary_provider="anthropic", anthropic_base_url=dead_anthropic,
            foundry_base_url=f"{mock.url}/anthropic", customize_models=True, foundry_opus_model="opus-prod",
            foundry_sonnet_model="sonnet-prod", foundry_haiku_model="haiku-prod") as gw:
        yield gw


@pytest.mark.live
def test_gateway_config_has_a_foundry_deployment_per_group(gateway):
    config = yaml.safe_load((gateway.project / "gateway" / "litellm_config.yaml").read_text())
    foundry = [d for d in config["model_list"] if d["litellm_params"].get("api_key") == "os.environ/AZURE_AI_API_KEY"]
    assert [d["model_name"] for d in foundry] == ["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]
    assert {d["litellm_params"]["order"] for d in foundry} == {2}


@pytest.mark.live
def test_requests_fail_over_to_foundry_with_the_deployment_name(gateway):
    for _ in range(5):
        status, body = post_messages(gateway.url, gateway.master_key, "claude-opus-5-5")
        assert status == 200 and DEFAULT_REPLY in body, body
    sent = [r for r in gateway.mock.requests if r.path.split("?")[0] == FOUNDRY_PATH]
    assert len(sent) == 5, gateway.mock.paths()
    assert {r.body["model"] for r in sent} == {"opus-prod"}
    assert {r.headers.get("x-api-key") for r in sent} == {FOUNDRY_KEY}
    assert gateway.master_key not in json.dumps([r.headers for r in sent])  # the gateway key stays at the gateway


@pytest.mark.live
def test_real_cli_through_the_gateway_reaches_foundry(gateway, claude_bin):
    result = subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'], cwd=gateway.project,
                            env=clean_env(gateway.home, CLAUDE_BIN=claude_bin, ANTHROPIC_AUTH_TOKEN=gateway.master_key),
                            capture_output=True, text=True, timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stderr
    assert DEFAULT_REPLY in result.stdout
    assert "opus-prod" in {r.body.get("model") for r in gateway.mock.requests}
