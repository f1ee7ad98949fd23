"""Amazon Bedrock Mantle: the Anthropic Messages API on Bedrock's infrastructure, at
https://bedrock-mantle.<region>.api.aws/anthropic.

Measured with Claude Code 2.1.332 against a loopback mock: with CLAUDE_CODE_USE_MANTLE=1 it posts to
<base>/v1/messages?beta=true (the base URL ends in /anthropic) with `Authorization: Bearer` from
AWS_BEARER_TOKEN_BEDROCK, else an AWS SigV4 signature (service bedrock-mantle). Six betas; ids `anthropic.`-prefixed
without a region prefix.

The gateway: LiteLLM 1.108 has `bedrock_mantle/` (bearer from api_key / AWS_BEARER_TOKEN_BEDROCK; its SigV4 uses
service `bedrock` where the CLI uses `bedrock-mantle`: one of them is wrong against AWS, a mock cannot tell, so the
generated config uses the bearer token and SigV4 through LiteLLM is unverified). The Claude apps gateway: upstream
`mantle`, which requires the list of client model ids it serves (`models`).
"""

from __future__ import annotations

from ..checks import base_url_error
from ..common import host_port, shown
from ..records import EgressHost, Endpoint, EnvVar, GatewayVar, Rule
from .base import TIERS, Provider

_EXPECTED_URL = "a https:// URL ending in /anthropic, e.g. https://bedrock-mantle.us-east-1.api.aws/anthropic"


def endpoint_url(answers) -> str:
    return (answers.get("mantle_base_url") or
            f"https://bedrock-mantle.{answers['aws_region']}.api.aws/anthropic").rstrip("/")


def mantle_base_url_error(value, answers):
    error = base_url_error(value, "mantle_base_url", forbid_v1=False)
    if error or value in (None, ""):
        return error
    if not value.rstrip("/").endswith("/anthropic"):
        return f"mantle_base_url: {shown(value)} does not end in /anthropic; expected {_EXPECTED_URL}."
    return ""


def client_env(answers):
    env = [EnvVar("CLAUDE_CODE_USE_MANTLE", "1", "Send requests to Amazon Bedrock Mantle."),
           EnvVar("AWS_REGION", answers["aws_region"], "AWS region of the Mantle endpoint (and of the signature).")]
    if answers.get("mantle_base_url"):
        env.append(EnvVar("ANTHROPIC_BEDROCK_MANTLE_BASE_URL", endpoint_url(answers), "Mantle endpoint ending in "
                          "/anthropic (e.g. a VPC endpoint); needs CLAUDE_CODE_USE_MANTLE=1."))
    return env


def litellm_params(answers, model):
    # The bearer token, not SigV4: LiteLLM signs Mantle with service `bedrock`, unverified against AWS.
    params = {"model": f"bedrock_mantle/{model}", "aws_region_name": answers["aws_region"],
              "api_key": "os.environ/AWS_BEARER_TOKEN_BEDROCK"}
    if answers.get("mantle_base_url"):
        # LiteLLM appends /anthropic/v1/messages itself (checked against the mock): the host part only.
        params["api_base"] = endpoint_url(answers).removesuffix("/anthropic")
    return params


def apps_gateway_upstream(answers):
    # `models` is required for mantle: the client ids (the catalog's ids) this upstream serves.
    upstream = {"name": "mantle", "provider": "mantle", "region": answers["aws_region"],
                "models": [answers[f"anthropic_{tier}_model"] for tier in TIERS]}
    if answers.get("mantle_base_url"):
        upstream["base_url"] = endpoint_url(answers)
    return {**upstream, "auth": {"aws_bearer_token": "${AWS_BEARER_TOKEN_BEDROCK}"}}


def egress(answers):
    region = answers["aws_region"]
    return [EgressHost(*host_port(endpoint_url(answers)), "Amazon Bedrock Mantle: every model request", True),
            EgressHost(f"sts.{region}.amazonaws.com", 443, "AWS STS: role and SSO credentials (SigV4 only)", False),
            EgressHost(f"oidc.{region}.amazonaws.com", 443, "AWS SSO login (SigV4 only)", False)]


def _in_providers(answers):
    return "mantle" in (answers.get("providers") or [])


PROVIDER = Provider(
    key="mantle",
    name="Amazon Bedrock Mantle",
    short_name="Mantle",
    # Claude Code 2.1.332 with CLAUDE_CODE_USE_MANTLE=1 and nothing pinned (`claude -p --model <tier>`).
    default_models={"opus": "anthropic.claude-opus-5-5", "sonnet": "anthropic.claude-sonnet-5",
                    "haiku": "anthropic.claude-haiku-4-5"},
    questions=("aws_region", "mantle_base_url"),
    client_env=client_env,
    endpoint=lambda answers: Endpoint("ANTHROPIC_BEDROCK_MANTLE_BASE_URL", endpoint_url(answers), "/"),
    litellm_params=litellm_params,
    apps_gateway_upstream=apps_gateway_upstream,
    gateway_env=lambda answers: [GatewayVar("AWS_BEARER_TOKEN_BEDROCK", "Bedrock API key the gateway calls Mantle "
                                            "with (Authorization: Bearer).", example="...", required=True)],
    egress=egress,
    rules=(Rule("mantle_base_url", mantle_base_url_error, _in_providers),),
    use_flag="CLAUDE_CODE_USE_MANTLE",
    base_url_var="ANTHROPIC_BEDROCK_MANTLE_BASE_URL",
    skip_auth_var="CLAUDE_CODE_SKIP_MANTLE_AUTH",
    credential_hint="Claude Code reads a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) from your own environment, or "
                    "signs with your AWS credentials (aws sso login --profile NAME).",
    login_step="aws sso login --profile NAME  (or export AWS_BEARER_TOKEN_BEDROCK=...; never written here)",
    ci_credential="export AWS_BEARER_TOKEN_BEDROCK=ci-placeholder",
    doctor_check="includes/providers/mantle/doctor-credential.sh.jinja",
    login_doc="includes/providers/mantle/login.md.jinja",
    credential_doc="| `AWS_BEARER_TOKEN_BEDROCK` | *(yours, from your environment; or your AWS login)* | A Bedrock "
                   "API key, sent as `Authorization: Bearer`. Never written by this template. |",
    gateway_credential_doc=lambda answers: " (`AWS_BEARER_TOKEN_BEDROCK`, a Bedrock API key)",
    request_path=lambda answers, model: "/anthropic/v1/messages",
    key_headers=(("AWS_BEARER_TOKEN_BEDROCK", "authorization"),),
    signs_requests=True,  # SigV4 without the bearer token: the kit checks Mantle direct only with --replay
    mock_answers=lambda url: {"mantle_base_url": f"{url}/anthropic"},
    mock_credential={"AWS_BEARER_TOKEN_BEDROCK": "mock-credential"},
)
