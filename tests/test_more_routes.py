"""Three more routes to Claude, added through the provider registry: Claude Platform on AWS (anthropic_aws), Amazon
Bedrock Mantle (mantle) and Claude on Google Cloud, Anthropic-managed (anthropic_google_cloud). The exact client
variables, what must stay unset, the doctor's credential check, both gateway engines' upstreams, and live: the real
Claude Code CLI reaching the loopback mock at the route's path with the route's headers, directly (Pattern A) and
through tinyproxy with the corporate CA (Pattern B)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from answers import copier_environment, questions
from claude_gateway_template.providers import REGISTRY
from environment import clean_env
from gateways import post_messages, started_gateway
from generated import added_vars, check_status, read_ps1, read_unsets, rejected, write_user_settings
from generated_apps_gateway import started_apps_gateway
from mock_provider import DEFAULT_REPLY, RunningMock
from oidc_issuer import RunningIssuer, TestUser
from proxies import PROXIED_HOST

CLI_TIMEOUT = 120  # hang guard only
GC_PREFIX = "/v1/projects/my-team-prod/locations/global/workspaces/wrkspc_gc1/invoke"

ROUTES = {
    "anthropic_aws": {"providers": ["anthropic_aws"], "anthropic_aws_workspace_id": "wrkspc_aws1"},
    "mantle": {"providers": ["mantle"]},
    "anthropic_google_cloud": {"providers": ["anthropic_google_cloud"], "anthropic_google_cloud_project": "my-team-prod",
                               "anthropic_google_cloud_workspace_id": "wrkspc_gc1"},
}
EXPECTED = {
    "anthropic_aws": {"CLAUDE_CODE_USE_ANTHROPIC_AWS": "1", "AWS_REGION": "us-east-1",
                      "ANTHROPIC_AWS_WORKSPACE_ID": "wrkspc_aws1",
                      "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5",
                      "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-4-6",
                      "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5-20251001"},
    "mantle": {"CLAUDE_CODE_USE_MANTLE": "1", "AWS_REGION": "us-east-1",
               "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic.claude-opus-5-5",
               "ANTHROPIC_DEFAULT_SONNET_MODEL": "anthropic.claude-sonnet-5",
               "ANTHROPIC_DEFAULT_HAIKU_MODEL": "anthropic.claude-haiku-4-5"},
    "anthropic_google_cloud": {"CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD": "1",
                               "ANTHROPIC_GOOGLE_CLOUD_PROJECT": "my-team-prod",
                               "ANTHROPIC_GOOGLE_CLOUD_LOCATION": "global",
                               "ANTHROPIC_GOOGLE_CLOUD_WORKSPACE_ID": "wrkspc_gc1",
                               "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-5-5",
                               "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-5-5",
                               "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5-20251001"},
}
# The credential each live run gives Claude Code (from the environment, as a developer would), the header it must
# arrive in, and the base-URL answer that points the route at the mock (`{}` = the mock's URL).
LIVE = {
    "anthropic_aws": ({"ANTHROPIC_AWS_API_KEY": "aws-workspace-key"}, ("x-api-key", "aws-workspace-key"),
                      "anthropic_aws_base_url", "{}"),
    "mantle": ({"AWS_BEARER_TOKEN_BEDROCK": "mantle-bearer"}, ("authorization", "Bearer mantle-bearer"),
               "mantle_base_url", "{}/anthropic"),
    # No Google login here: skip the client's token fetch in the test only; it then sends ANTHROPIC_AUTH_TOKEN.
    "anthropic_google_cloud": ({"CLAUDE_CODE_SKIP_ANTHROPIC_GOOGLE_CLOUD_AUTH": "1", "ANTHROPIC_AUTH_TOKEN": "gc-token"},
                               ("authorization", "Bearer gc-token"), "anthropic_google_cloud_base_url",
                               "{}" + GC_PREFIX),
}
BASE_URL_VAR = {key: REGISTRY[key].base_url_var for key in ROUTES}


# -------------------------------------------------------------------------------------------------------
# The generated client (Patterns A/B)
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ROUTES)
def test_exact_variables_everywhere(generate, tmp_path, key):
    project = generate(**ROUTES[key])
    assert added_vars(project, tmp_path) == EXPECTED[key]
    assert json.loads((project / "client" / "settings.json").read_text())["env"] == EXPECTED[key]
    assert read_ps1(project / "client" / "env.ps1")[0] == EXPECTED[key]


@pytest.mark.parametrize("key", ROUTES)
def test_other_switches_the_base_url_and_skip_auth_are_unset(generate, key):
    unset = set(read_unsets(generate(**ROUTES[key]) / "client" / "env.sh"))
    others = {p.use_flag for p in REGISTRY.values() if p.use_flag and p.key != key}
    assert others | {BASE_URL_VAR[key], REGISTRY[key].skip_auth_var} <= unset


@pytest.mark.parametrize("key", ROUTES)
def test_no_credential_in_any_generated_file(generate, key):
    project = generate(**ROUTES[key])
    text = "".join(p.read_text(errors="replace") for p in project.rglob("*") if p.is_file() and
                   p.name in ("settings.json", ".copier-answers.yml", "env.sh", "env.ps1"))
    for name, _ in REGISTRY[key].key_headers:
        assert f"{name}=" not in text and f'"{name}"' not in text


def test_the_google_cloud_base_url_keeps_the_whole_prefix(generate, tmp_path):
    url = "https://psc.example.com" + GC_PREFIX
    project = generate(**ROUTES["anthropic_google_cloud"], anthropic_google_cloud_base_url=url + "/")
    assert added_vars(project, tmp_path)["ANTHROPIC_GOOGLE_CLOUD_BASE_URL"] == url


@pytest.mark.parametrize(("data", "message"), [
    ({**ROUTES["anthropic_google_cloud"], "anthropic_google_cloud_base_url": "https://psc.example.com/v1/projects/"
      "other/locations/global/workspaces/wrkspc_gc1/invoke"},
     "anthropic_google_cloud_base_url: 'https://psc.example.com/v1/projects/other/locations/global/workspaces/"
     "wrkspc_gc1/invoke' does not end in " + GC_PREFIX),
    ({**ROUTES["anthropic_google_cloud"], "cost_tracking": True},
     ("gateway_engine: 'litellm' cannot call Claude on Google Cloud: the pinned LiteLLM (1.108) has no Claude on "
      "Google Cloud provider (it comes in 1.114); expected claude_apps_gateway")),
    ({"providers": ["anthropic_aws"]}, "anthropic_aws_workspace_id: empty; Claude Platform on AWS needs"),
    ({**ROUTES["anthropic_google_cloud"], "customize_models": True,
      "anthropic_google_cloud_haiku_model": "claude-haiku-4-5@20251001"},
     ("anthropic_google_cloud_haiku_model: 'claude-haiku-4-5@20251001' is refused by Claude Code on Claude on "
      "Google Cloud; expected letters, digits, - and _ only")),
    ({"providers": ["mantle"], "aws_region": "mars-1"},
     "aws_region: 'mars-1' is not a region where Amazon Bedrock Mantle serves Claude"),
    ({"providers": ["anthropic_aws", "mantle"], "cost_tracking": True, "anthropic_aws_workspace_id": "wrkspc_aws1",
      "aws_region": "mars-1"},
     "aws_region: 'mars-1' is not a region where Claude Platform on AWS or Amazon Bedrock Mantle serves Claude"),
    ({"providers": ["mantle"], "mantle_base_url": "https://m.example.com/v1"},
     "mantle_base_url: 'https://m.example.com/v1' does not end in /anthropic"),
], ids=["gc-prefix-mismatch", "gc-with-litellm", "aws-no-workspace", "gc-model-id", "mantle-region",
        "aws-routes-region", "mantle-url"])
def test_bad_input_is_one_line(template_repo, tmp_path, data, message):
    assert message in rejected(template_repo, tmp_path, **data)


@pytest.mark.parametrize(("providers", "prompt"), [
    (["mantle"], "AWS region for Mantle (AWS_REGION)"),
    (["anthropic_aws", "mantle"], "AWS region for Claude Platform on AWS and Mantle (AWS_REGION)"),
    (["bedrock"], "AWS region for Bedrock (AWS_REGION; Bedrock's inference-profile prefix follows it)"),
    (["anthropic_google_cloud"], None),
])
def test_the_region_question_names_the_chosen_aws_routes(providers, prompt):
    """copier.yml renders the shared aws_region question's `when` and help from the records that ask it."""
    spec = questions()["aws_region"]
    environment = copier_environment()
    assert (environment.from_string(spec["when"]).render(providers=providers) == "True") is (prompt is not None)
    if prompt:
        assert " ".join(environment.from_string(spec["help"]).render(providers=providers).split()) == prompt


# -------------------------------------------------------------------------------------------------------
# The doctor's credential check (offline: it never calls aws or gcloud)
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "env", "line"), [
    ("anthropic_aws", {"ANTHROPIC_AWS_API_KEY": "k"}, "ok    credential: ANTHROPIC_AWS_API_KEY is set (from your shell)"),
    ("anthropic_aws", {}, "FAIL  credential: no ANTHROPIC_AWS_API_KEY and no AWS credentials for profile 'default'"),
    ("mantle", {"AWS_BEARER_TOKEN_BEDROCK": "k"}, "ok    credential: AWS_BEARER_TOKEN_BEDROCK is set (from your shell)"),
    ("mantle", {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s"},
     "ok    credential: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set"),
    ("mantle", {}, "FAIL  credential: no AWS_BEARER_TOKEN_BEDROCK and no AWS credentials"),
    ("anthropic_google_cloud", {}, "FAIL  credential: no Google application default credentials"),
])
def test_doctor_checks_the_route_credential(generate, tmp_path, key, env, line):
    project = generate(**ROUTES[key])
    write_user_settings(tmp_path, json.loads((project / "client" / "settings.json").read_text()))
    result = check_status(project, tmp_path, "--offline", **env)
    assert line in result.stdout, result.stdout
    assert (result.returncode == 0) == line.startswith("ok"), result.stdout


# -------------------------------------------------------------------------------------------------------
# The gateways' upstreams
# -------------------------------------------------------------------------------------------------------
APPS = {"cost_tracking": True, "gateway_engine": "claude_apps_gateway", "gateway_runtime": "process",
        "oidc_issuer": "https://login.example.com"}


def test_apps_gateway_has_an_upstream_per_route_in_failover_order(generate):
    project = generate(**APPS, providers=list(ROUTES), primary_provider="mantle",
                       anthropic_aws_workspace_id="wrkspc_aws1", anthropic_google_cloud_project="my-team-prod",
                       anthropic_google_cloud_workspace_id="wrkspc_gc1")
    config = yaml.safe_load((project / "gateway" / "claude-apps-gateway.yaml").read_text())
    upstreams = config["upstreams"]
    assert [u["provider"] for u in upstreams] == ["mantle", "anthropicAws", "anthropicGoogleCloud"]
    mantle, aws, gc = upstreams
    assert mantle["models"] == [m["id"] for m in config["models"]]  # the gateway requires the list for mantle
    assert mantle["auth"] == {"aws_bearer_token": "${AWS_BEARER_TOKEN_BEDROCK}"}
    assert aws["workspace_id"] == "wrkspc_aws1" and aws["auth"] == {"api_key": "${ANTHROPIC_AWS_API_KEY}"}
    assert (gc["project_id"], gc["workspace_id"], gc["location"]) == ("my-team-prod", "wrkspc_gc1", "global")
    opus = config["models"][0]["upstream_model"]
    assert opus == {"mantle": "anthropic.claude-opus-5-5", "anthropic_aws": "claude-opus-5-5",
                    "anthropic_google_cloud": "claude-opus-5-5"}


def test_litellm_calls_claude_platform_on_aws_and_mantle(generate):
    project = generate(cost_tracking=True, providers=["anthropic_aws", "mantle"],
                       anthropic_aws_workspace_id="wrkspc_aws1")
    config = yaml.safe_load((project / "gateway" / "litellm_config.yaml").read_text())
    params = [d["litellm_params"] for d in config["model_list"]]
    aws = [p for p in params if p["model"].startswith("bedrock/claude_platform/")]
    mantle = [p for p in params if p["model"].startswith("bedrock_mantle/")]
    assert [p["model"] for p in aws] == ["bedrock/claude_platform/claude-opus-5-5",
                                         "bedrock/claude_platform/claude-sonnet-4-6",
                                         "bedrock/claude_platform/claude-haiku-4-5-20251001"]
    assert {p["workspace_id"] for p in aws} == {"wrkspc_aws1"}
    assert {p["api_key"] for p in aws} == {"os.environ/ANTHROPIC_AWS_API_KEY"}
    assert {p["api_key"] for p in mantle} == {"os.environ/AWS_BEARER_TOKEN_BEDROCK"}  # bearer: SigV4 unverified
    assert "wrkspc" not in (project / "gateway" / ".env.example").read_text()


# -------------------------------------------------------------------------------------------------------
# Live: the real Claude Code CLI, Pattern A (direct) and B (through tinyproxy with the corporate CA)
# -------------------------------------------------------------------------------------------------------
def run_cli(claude_bin, project, home, credential):
    exports = "".join(f"{name}={value!r} && export {name} && " for name, value in credential.items())
    return subprocess.run(["sh", "-c", f'. ./client/env.sh && {exports}exec "$CLAUDE_BIN" -p "say hi"'],
                          cwd=project, env=clean_env(home, CLAUDE_BIN=claude_bin), capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL, check=False)


def assert_route_request(key, answers, mock):
    _, (header, value), _, _ = LIVE[key]
    path = REGISTRY[key].request_path(answers, "any")
    sent = [r for r in mock.requests if r.method == "POST" and r.path.split("?")[0] == path]
    assert sent, mock.paths()
    assert {r.headers.get(header) for r in sent} == {value}
    assert sent[-1].body["model"] == EXPECTED[key]["ANTHROPIC_DEFAULT_OPUS_MODEL"]  # the pinned id of `claude -p`
    if key == "anthropic_aws":
        assert {r.headers.get("anthropic-workspace-id") for r in sent} == {"wrkspc_aws1"}


@pytest.mark.live
@pytest.mark.parametrize("key", ROUTES)
def test_pattern_a_cli_reaches_the_route(generate, claude_bin, mock_provider, tmp_path, key):
    credential, _, question, url = LIVE[key]
    answers = {**ROUTES[key], question: url.format(mock_provider.url), "disable_nonessential_traffic": True}
    project = generate(**answers)
    result = run_cli(claude_bin, project, tmp_path, credential)
    assert result.returncode == 0, result.stdout + result.stderr
    assert DEFAULT_REPLY in result.stdout
    assert_route_request(key, answers, mock_provider)


@pytest.mark.live
@pytest.mark.parametrize("key", ROUTES)
def test_pattern_b_cli_reaches_the_route_through_the_proxy(generate, claude_bin, tls_provider, tinyproxy, test_ca,
                                                           tmp_path, key):
    proxy = tinyproxy()
    credential, _, question, url = LIVE[key]
    answers = {**ROUTES[key], question: url.format(tls_provider.url), "corporate_proxy": True,
               "proxy_url": proxy.url, "corporate_ca_cert": test_ca["ca"]}
    project = generate(**answers)
    result = run_cli(claude_bin, project, tmp_path, credential)
    assert result.returncode == 0, result.stdout + result.stderr
    assert DEFAULT_REPLY in result.stdout
    assert f"CONNECT {PROXIED_HOST}:{tls_provider.port}" in proxy.log_text()
    assert_route_request(key, answers, tls_provider)


# -------------------------------------------------------------------------------------------------------
# Live: the generated Claude apps gateway failing over from a dead Anthropic upstream to Claude Platform on AWS
# -------------------------------------------------------------------------------------------------------
CAROL = TestUser(sub="00u-carol", email="carol@example.com", groups=["engineering"])
AWS_UPSTREAM_KEY = "aws-workspace-upstream-key"


@pytest.fixture(scope="module")
def route_issuer():
    with RunningIssuer(user=CAROL) as running:
        yield running


@pytest.fixture(scope="module")
def aws_failover_gateway(copie_module, template_repo, claude_bin, route_issuer, gateway_db, gateway_ca, module_mock):
    """Anthropic first (down: nothing listens on port 9), then Claude Platform on AWS at the mock."""
    with started_apps_gateway(copie_module, template_repo, claude_bin, route_issuer, gateway_db, gateway_ca,
                              "http://127.0.0.1:9", providers=["anthropic", "anthropic_aws"],
                              primary_provider="anthropic", anthropic_aws_workspace_id="wrkspc_aws1",
                              anthropic_aws_base_url=module_mock.url,
                              env={"ANTHROPIC_AWS_API_KEY": AWS_UPSTREAM_KEY}) as gw:
        yield gw


@pytest.mark.live
def test_apps_gateway_fails_over_to_claude_platform_on_aws(aws_failover_gateway, module_mock):
    gateway = aws_failover_gateway
    home = gateway.developer("carol")
    gateway.signed_in(home, CAROL.sub, CAROL.email, CAROL.groups)
    before = len(module_mock.requests)
    result = gateway.claude(home)
    assert result.returncode == 0, result.stdout + result.stderr + gateway.log[-3000:]
    assert DEFAULT_REPLY in result.stdout
    sent = [r for r in module_mock.requests[before:] if r.path.split("?")[0] == "/v1/messages"]
    assert sent and "upstream failed, trying next" in gateway.log
    assert {r.headers.get("x-api-key") for r in sent} == {AWS_UPSTREAM_KEY}
    assert {r.headers.get("anthropic-workspace-id") for r in sent} == {"wrkspc_aws1"}


# -------------------------------------------------------------------------------------------------------
# Live: the generated LiteLLM gateway calling Claude Platform on AWS and Mantle (the primary each time)
# -------------------------------------------------------------------------------------------------------
LITELLM_ROUTES = {
    "anthropic_aws": ({"anthropic_aws_workspace_id": "wrkspc_aws1", "anthropic_aws_base_url": "{}"},
                      {"ANTHROPIC_AWS_API_KEY": AWS_UPSTREAM_KEY}, "/v1/messages", ("x-api-key", AWS_UPSTREAM_KEY)),
    "mantle": ({"mantle_base_url": "{}/anthropic"}, {"AWS_BEARER_TOKEN_BEDROCK": "mantle-upstream-bearer"},
               "/anthropic/v1/messages", ("authorization", "Bearer mantle-upstream-bearer")),
}


@pytest.mark.live
@pytest.mark.parametrize("key", LITELLM_ROUTES)
def test_litellm_gateway_reaches_the_route(copie, template_repo, litellm_bin, key):
    answers, env, path, (header, value) = LITELLM_ROUTES[key]
    with RunningMock() as mock, started_gateway(
            copie, template_repo, litellm_bin, mock, gateway_env=env, providers=[key],
            **{q: v.format(mock.url) for q, v in answers.items()}) as gw:
        status, body = post_messages(gw.url, gw.master_key, "claude-opus-5-5")
        assert status == 200 and DEFAULT_REPLY in body, body
        sent = [r for r in mock.requests if r.path.split("?")[0] == path]
        assert sent, mock.paths()
        assert {r.headers.get(header) for r in sent} == {value}
        assert sent[-1].body["model"] == REGISTRY[key].default_models["opus"]
        if key == "anthropic_aws":
            assert {r.headers.get("anthropic-workspace-id") for r in sent} == {"wrkspc_aws1"}
