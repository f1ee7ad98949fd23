"""AWS Bedrock."""

from __future__ import annotations

import json
import re

from ..checks import base_url_error, region_error
from ..common import host_port, shown
from ..records import EgressHost, Endpoint, EnvVar, GatewayVar, RegionList, Rule
from .base import Provider, askers, asks, named

# Where the Bedrock runtime serves Anthropic's models (in-region or as the source of a cross-region profile).
REGIONS = RegionList(
    codes=("us-east-1", "us-east-2", "us-west-1", "us-west-2", "us-gov-east-1", "us-gov-west-1", "ca-central-1",
           "ca-west-1", "mx-central-1", "sa-east-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
           "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
           "af-south-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
           "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
           "ap-southeast-7"),
    source="AWS docs 'Amazon Bedrock endpoints and quotas' and 'Supported Regions and models for inference "
           "profiles'",
    checked="2026-11-28")
_AWS_PROFILE = re.compile(r"^[A-Za-z0-9_.+=@-]{1,64}$")


def inference_profile_prefix(region: str) -> str:
    """The cross-region inference-profile prefix Bedrock uses for a region (us., eu., apac., us-gov.)."""
    for start, prefix in (("us-gov-", "us-gov"), ("us-", "us"), ("eu-", "eu"), ("ap-", "apac")):
        if region.startswith(start):
            return prefix
    return "global"


def runtime_endpoint(region: str) -> str:
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def aws_region_error(value, answers=None):
    """Every AWS route of the setup shares the answer; the message names the routes chosen (the list checked is
    Bedrock's: the other routes publish none we could check)."""
    routes = askers("aws_region", (answers or {}).get("providers")) or [PROVIDER]
    return region_error(value, "aws_region", REGIONS, named(routes, conjunction="or"),
                        "us-east-1, eu-central-1 or ap-northeast-1")


def aws_profile_error(value):
    if value in (None, "") or (isinstance(value, str) and _AWS_PROFILE.fullmatch(value)):
        return ""
    return (f"aws_profile: {shown(value)} is not an AWS profile name; expected letters, digits and _ . + = @ - "
            f"(at most 64), as in ~/.aws/config, or empty to use the default credential chain.")


def client_env(answers):
    env = [EnvVar("CLAUDE_CODE_USE_BEDROCK", "1", "Send requests to AWS Bedrock."),
           EnvVar("AWS_REGION", answers["aws_region"],
                  "Bedrock region (always set; the model ids' prefix follows it).")]
    if answers.get("aws_profile"):
        env.append(EnvVar("AWS_PROFILE", answers["aws_profile"],
                          "AWS profile (named or SSO) whose credentials sign the requests."))
    if answers.get("bedrock_base_url"):
        env.append(EnvVar("ANTHROPIC_BEDROCK_BASE_URL", answers["bedrock_base_url"].rstrip("/"),
                          "Bedrock runtime endpoint (e.g. a VPC endpoint); needs CLAUDE_CODE_USE_BEDROCK=1."))
    return env


def litellm_params(answers, model):
    params = {"model": f"bedrock/{model}", "aws_region_name": answers["aws_region"]}
    if answers.get("aws_profile"):
        params["aws_profile_name"] = answers["aws_profile"]
    if answers.get("bedrock_base_url"):
        params["aws_bedrock_runtime_endpoint"] = answers["bedrock_base_url"].rstrip("/")
    return params


def apps_gateway_upstream(answers):
    # No `auth` keys: the AWS default chain, which reads gateway/.env's AWS_* variables or the profile.
    upstream = {"name": "bedrock", "provider": "bedrock", "region": answers["aws_region"]}
    if answers.get("bedrock_base_url"):
        upstream["base_url"] = answers["bedrock_base_url"].rstrip("/")
    upstream["auth"] = {}
    return upstream


def gateway_env(answers):
    keys_needed = not answers.get("aws_profile")
    return [
        GatewayVar("AWS_ACCESS_KEY_ID", "AWS keys with Bedrock access (or mount a profile: see the README).",
                   example="AKIA...", required=keys_needed),
        GatewayVar("AWS_SECRET_ACCESS_KEY", "Secret of the AWS key above.", example="...", required=keys_needed),
        GatewayVar("AWS_SESSION_TOKEN", "Only for temporary AWS credentials.", example="..."),
    ]


def egress(answers):
    region = answers["aws_region"]
    return [EgressHost(*host_port(answers.get("bedrock_base_url") or runtime_endpoint(region)),
                       "Bedrock runtime: every model request", True),
            EgressHost(f"bedrock.{region}.amazonaws.com", 443, "Bedrock control plane: inference profiles", True),
            EgressHost(f"sts.{region}.amazonaws.com", 443, "AWS STS: role and SSO credentials", False),
            EgressHost(f"oidc.{region}.amazonaws.com", 443, "AWS SSO login (aws sso login)", False),
            EgressHost(f"portal.sso.{region}.amazonaws.com", 443, "AWS SSO login (aws sso login)", False)]


def compose_volumes(answers):
    if not answers.get("aws_profile"):
        return []
    return [(f"The AWS profile {json.dumps(answers['aws_profile'])} (read-only); or put keys in .env instead.",
             "${HOME}/.aws:/root/.aws:ro")]


def gateway_credential_doc(answers):
    if answers.get("aws_profile"):
        return f" (the AWS profile `{answers['aws_profile']}` is mounted from `~/.aws`)"
    return " (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`)"


def _in_providers(answers):
    return "bedrock" in (answers.get("providers") or [])


PROVIDER = Provider(
    key="bedrock",
    name="AWS Bedrock",
    short_name="Bedrock",
    default_models={"opus": "anthropic.claude-opus-5-5", "sonnet": "anthropic.claude-sonnet-4-5-20250929-v1:0",
                    "haiku": "anthropic.claude-haiku-4-5-20251001-v1:0"},
    model_prefix=inference_profile_prefix,
    questions=("aws_region", "aws_profile", "bedrock_base_url"),
    client_env=client_env,
    endpoint=lambda answers: Endpoint("ANTHROPIC_BEDROCK_BASE_URL", runtime_endpoint(answers["aws_region"]), "/"),
    litellm_params=litellm_params,
    apps_gateway_upstream=apps_gateway_upstream,
    apps_gateway_environment=lambda answers: ({"AWS_PROFILE": answers["aws_profile"]} if answers.get("aws_profile")
                                              else {}),
    gateway_env=gateway_env,
    egress=egress,
    # aws_region is shared by every AWS route whose record lists it (one AWS_REGION reaches Claude Code).
    rules=(Rule("aws_region", aws_region_error, asks("aws_region")),
           Rule("aws_profile", lambda value, answers: aws_profile_error(value), _in_providers),
           Rule("bedrock_base_url", lambda value, answers: base_url_error(value, "bedrock_base_url", forbid_v1=False),
                _in_providers)),
    use_flag="CLAUDE_CODE_USE_BEDROCK",
    base_url_var="ANTHROPIC_BEDROCK_BASE_URL",
    skip_auth_var="CLAUDE_CODE_SKIP_BEDROCK_AUTH",
    credential_hint="Claude Code signs requests with your AWS credentials: a profile or SSO login "
                    "(aws sso login --profile NAME), or keys in your environment.",
    login_step="aws sso login --profile NAME  (or aws configure; your AWS login, never written here)",
    ci_credential="export AWS_BEARER_TOKEN_BEDROCK=ci-placeholder",
    doctor_check="includes/providers/bedrock/doctor-credential.sh.jinja",
    login_doc="includes/providers/bedrock/login.md.jinja",
    rejects_new_betas=True,
    compose_volumes=compose_volumes,
    gateway_credential_doc=gateway_credential_doc,
    signs_requests=True,  # AWS SigV4: the kit checks Bedrock direct only with --replay
    request_path=lambda answers, model: f"/model/{model}/invoke-with-response-stream",
    # No signature: the mock does not check one (and GET /inference-profiles answers the CLI's first request).
    mock_answers=lambda url: {"bedrock_base_url": url},
    mock_credential={"CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"},
)
