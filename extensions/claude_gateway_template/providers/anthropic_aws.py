"""Claude Platform on AWS: Anthropic's own API, sold and billed through AWS, at
https://aws-external-anthropic.<region>.api.aws.

Measured with Claude Code 2.1.332 against a loopback mock (throwaway HOME, `claude -p hi`): with
CLAUDE_CODE_USE_ANTHROPIC_AWS=1 it posts to <base>/v1/messages?beta=true with `anthropic-workspace-id`
(ANTHROPIC_AWS_WORKSPACE_ID, required) and `x-api-key` when a workspace key (ANTHROPIC_AWS_API_KEY) is set, else an
AWS SigV4 signature from the AWS credential chain (with CLAUDE_CODE_SKIP_ANTHROPIC_AWS_AUTH=1 and no key it sends no
credential at all). Ten betas; default ids below (sonnet is 4.6 here, not 5.5).

The gateway: LiteLLM 1.108 calls it as `bedrock/claude_platform/<model>` (workspace header from `workspace_id`,
x-api-key from ANTHROPIC_AWS_API_KEY, else SigV4 with service aws-external-anthropic; read in its source, not run
against AWS); the Claude apps gateway as upstream `anthropicAws` (schema read from the binary).
"""

from __future__ import annotations

import re

from ..checks import base_url_error
from ..common import host_port, shown
from ..records import EgressHost, Endpoint, EnvVar, GatewayVar, Rule
from .base import Provider

_WORKSPACE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def endpoint_url(answers) -> str:
    return (answers.get("anthropic_aws_base_url") or
            f"https://aws-external-anthropic.{answers['aws_region']}.api.aws").rstrip("/")


def workspace_error(value, answers):
    if isinstance(value, str) and _WORKSPACE.fullmatch(value):
        return ""
    if value in (None, ""):
        return ("anthropic_aws_workspace_id: empty; Claude Platform on AWS needs the workspace id Claude Code sends "
                "as anthropic-workspace-id, e.g. wrkspc_01AbCd (letters, digits, _ and -).")
    return (f"anthropic_aws_workspace_id: {shown(value)} is not a workspace id; expected letters, digits, _ and - "
            f"(at most 128), e.g. wrkspc_01AbCd.")


def client_env(answers):
    env = [EnvVar("CLAUDE_CODE_USE_ANTHROPIC_AWS", "1", "Send requests to Claude Platform on AWS."),
           EnvVar("AWS_REGION", answers["aws_region"], "AWS region of the Claude Platform on AWS endpoint."),
           EnvVar("ANTHROPIC_AWS_WORKSPACE_ID", answers["anthropic_aws_workspace_id"],
                  "Workspace, sent as anthropic-workspace-id (not a secret).")]
    if answers.get("anthropic_aws_base_url"):
        env.append(EnvVar("ANTHROPIC_AWS_BASE_URL", endpoint_url(answers), "Claude Platform on AWS endpoint (e.g. "
                          "a VPC endpoint); needs CLAUDE_CODE_USE_ANTHROPIC_AWS=1."))
    return env


def litellm_params(answers, model):
    params = {"model": f"bedrock/claude_platform/{model}", "aws_region_name": answers["aws_region"],
              "workspace_id": answers["anthropic_aws_workspace_id"], "api_key": "os.environ/ANTHROPIC_AWS_API_KEY"}
    if answers.get("anthropic_aws_base_url"):
        params["api_base"] = endpoint_url(answers)
    return params


def apps_gateway_upstream(answers):
    upstream = {"name": "anthropic_aws", "provider": "anthropicAws", "region": answers["aws_region"],
                "workspace_id": answers["anthropic_aws_workspace_id"]}
    if answers.get("anthropic_aws_base_url"):
        upstream["base_url"] = endpoint_url(answers)
    return {**upstream, "auth": {"api_key": "${ANTHROPIC_AWS_API_KEY}"}}


def egress(answers):
    region = answers["aws_region"]
    return [EgressHost(*host_port(endpoint_url(answers)), "Claude Platform on AWS: every model request", True),
            EgressHost(f"sts.{region}.amazonaws.com", 443, "AWS STS: role and SSO credentials (SigV4 only)", False),
            EgressHost(f"oidc.{region}.amazonaws.com", 443, "AWS SSO login (SigV4 only)", False)]


def _in_providers(answers):
    return "anthropic_aws" in (answers.get("providers") or [])


PROVIDER = Provider(
    key="anthropic_aws",
    name="Claude Platform on AWS",
    short_name="Claude Platform on AWS",
    # Claude Code 2.1.332 with CLAUDE_CODE_USE_ANTHROPIC_AWS=1 and nothing pinned (`claude -p --model <tier>`).
    default_models={"opus": "claude-opus-5-5", "sonnet": "claude-sonnet-4-6", "haiku": "claude-haiku-4-5-20251001"},
    questions=("aws_region", "anthropic_aws_workspace_id", "anthropic_aws_base_url"),
    required=("anthropic_aws_workspace_id",),
    client_env=client_env,
    endpoint=lambda answers: Endpoint("ANTHROPIC_AWS_BASE_URL", endpoint_url(answers), "/"),
    litellm_params=litellm_params,
    apps_gateway_upstream=apps_gateway_upstream,
    gateway_env=lambda answers: [GatewayVar("ANTHROPIC_AWS_API_KEY", "Claude Platform on AWS workspace key the "
                                            "gateway calls upstream with.", example="...", required=True)],
    egress=egress,
    rules=(Rule("anthropic_aws_workspace_id", workspace_error, _in_providers),
           Rule("anthropic_aws_base_url", lambda value, answers: base_url_error(value, "anthropic_aws_base_url"),
                _in_providers)),
    use_flag="CLAUDE_CODE_USE_ANTHROPIC_AWS",
    base_url_var="ANTHROPIC_AWS_BASE_URL",
    skip_auth_var="CLAUDE_CODE_SKIP_ANTHROPIC_AWS_AUTH",
    credential_hint="Claude Code reads a workspace key (ANTHROPIC_AWS_API_KEY) from your own environment, or signs "
                    "with your AWS credentials (aws sso login --profile NAME).",
    login_step="aws sso login --profile NAME  (or export ANTHROPIC_AWS_API_KEY=...; never written here)",
    ci_credential="export ANTHROPIC_AWS_API_KEY=ci-placeholder",
    doctor_check="includes/providers/anthropic_aws/doctor-credential.sh.jinja",
    login_doc="includes/providers/anthropic_aws/login.md.jinja",
    credential_doc="| `ANTHROPIC_AWS_API_KEY` | *(yours, from your environment; or your AWS login)* | The workspace "
                   "key, sent as `x-api-key`. Never written by this template. |",
    gateway_credential_doc=lambda answers: " (`ANTHROPIC_AWS_API_KEY`, the workspace key)",
    request_path=lambda answers, model: "/v1/messages",
    key_headers=(("ANTHROPIC_AWS_API_KEY", "x-api-key"),),
    # The kit's own requests would lack anthropic-workspace-id (and SigV4 without a key): only --replay.
    signs_requests=True,
    mock_answers=lambda url: {"anthropic_aws_workspace_id": "wrkspc_mock", "anthropic_aws_base_url": url},
    mock_credential={"ANTHROPIC_AWS_API_KEY": "mock-credential"},
)
