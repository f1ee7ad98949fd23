"""Claude on Google Cloud, Anthropic-managed: Anthropic's API at https://claude.googleapis.com, billed through Google
Cloud.

Measured with Claude Code 2.1.332 against a loopback mock: with CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD=1 it posts to
https://claude.googleapis.com/v1/projects/<project>/locations/<location>/workspaces/<workspace>/invoke/v1/messages
with a Google access token (application default credentials). ANTHROPIC_GOOGLE_CLOUD_BASE_URL replaces that WHOLE
prefix (project, location and workspace are then not sent: the URL must carry them). With
CLAUDE_CODE_SKIP_ANTHROPIC_GOOGLE_CLOUD_AUTH=1 it sends ANTHROPIC_AUTH_TOKEN as the bearer. Nine betas; the CLI refuses
model ids other than letters, digits, - and _.

The gateway: the Claude apps gateway has upstream `anthropicGoogleCloud` (schema read from the binary); LiteLLM has no
such provider before 1.114 (we pin 1.108): the gateway_engine rule refuses that combination.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .. import engines
from ..checks import base_url_error
from ..common import host_port, shown
from ..records import EgressHost, Endpoint, EnvVar, GatewayVar, Rule
from .base import Provider

_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_WORKSPACE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_LOCATION = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
PUBLIC_HOST = "https://claude.googleapis.com"


def prefix_path(answers) -> str:
    return (f"/v1/projects/{answers['anthropic_google_cloud_project']}/locations/"
            f"{answers.get('anthropic_google_cloud_location') or 'global'}/workspaces/"
            f"{answers['anthropic_google_cloud_workspace_id']}/invoke")


def endpoint_url(answers) -> str:
    return (answers.get("anthropic_google_cloud_base_url") or PUBLIC_HOST + prefix_path(answers)).rstrip("/")


def project_error(value, answers):
    if isinstance(value, str) and _PROJECT.fullmatch(value):
        return ""
    return (f"anthropic_google_cloud_project: {shown(value)} is not a Google Cloud project id; expected 6-30 "
            f"lowercase letters, digits and hyphens, starting with a letter, e.g. my-team-prod.")


def workspace_error(value, answers):
    if isinstance(value, str) and _WORKSPACE.fullmatch(value):
        return ""
    return (f"anthropic_google_cloud_workspace_id: {shown(value)} is not a workspace id; expected letters, digits, "
            f"_ and - (at most 128), e.g. wrkspc_01AbCd.")


def location_error(value, answers):
    if isinstance(value, str) and _LOCATION.fullmatch(value):
        return ""
    return (f"anthropic_google_cloud_location: {shown(value)} is not a Google Cloud location; expected global or a "
            f"region code such as us-east5 (lowercase letters, digits and hyphens).")


def base_url_rule(value, answers):
    error = base_url_error(value, "anthropic_google_cloud_base_url", forbid_v1=False)
    if error or value in (None, ""):
        return error
    try:
        wanted = prefix_path(answers)
    except KeyError:
        wanted = "/v1/projects/<project>/locations/<location>/workspaces/<workspace>/invoke"
    if urlsplit(value).path.rstrip("/") != wanted:
        return (f"anthropic_google_cloud_base_url: {shown(value)} does not end in {wanted}; it replaces Claude Code's "
                f"whole URL prefix, so expected https://<host>{wanted} (project, location and workspace as answered).")
    return ""


def model_id_error(value, question):
    if isinstance(value, str) and _MODEL_ID.fullmatch(value):
        return ""
    return (f"{question}: {shown(value)} is refused by Claude Code on Claude on Google Cloud; expected letters, "
            f"digits, - and _ only, e.g. claude-opus-5-5.")


def client_env(answers):
    env = [EnvVar("CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD", "1", "Send requests to Claude on Google Cloud."),
           EnvVar("ANTHROPIC_GOOGLE_CLOUD_PROJECT", answers["anthropic_google_cloud_project"],
                  "Google Cloud project id."),
           EnvVar("ANTHROPIC_GOOGLE_CLOUD_LOCATION", answers.get("anthropic_google_cloud_location") or "global",
                  "Location (`global` or a region)."),
           EnvVar("ANTHROPIC_GOOGLE_CLOUD_WORKSPACE_ID", answers["anthropic_google_cloud_workspace_id"],
                  "Workspace (not a secret).")]
    if answers.get("anthropic_google_cloud_base_url"):
        env.append(EnvVar("ANTHROPIC_GOOGLE_CLOUD_BASE_URL", endpoint_url(answers), "Replaces the whole URL prefix "
                          "(/v1/projects/.../invoke included); needs CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD=1."))
    return env


def litellm_params(answers, model):
    # Never rendered: the gateway_engine rule refuses LiteLLM with this provider (LiteLLM >= 1.114 names it so).
    return {"model": f"anthropic_google_cloud/{model}"}


def apps_gateway_upstream(answers):
    # No `auth` keys: Google application default credentials (GOOGLE_APPLICATION_CREDENTIALS in gateway/.env).
    upstream = {"name": "anthropic_google_cloud", "provider": "anthropicGoogleCloud",
                "project_id": answers["anthropic_google_cloud_project"],
                "workspace_id": answers["anthropic_google_cloud_workspace_id"],
                "location": answers.get("anthropic_google_cloud_location") or "global"}
    if answers.get("anthropic_google_cloud_base_url"):
        upstream["base_url"] = endpoint_url(answers)
    return {**upstream, "auth": {}}


def egress(answers):
    return [EgressHost(*host_port(endpoint_url(answers)), "Claude on Google Cloud: every model request", True),
            EgressHost("oauth2.googleapis.com", 443, "Google tokens for application default credentials", True)]


def request_path(answers, model):
    return urlsplit(endpoint_url(answers)).path + "/v1/messages"


def mock_answers(url):
    ids = {"anthropic_google_cloud_project": "mock-project", "anthropic_google_cloud_workspace_id": "wrkspc_mock"}
    return {**ids, "anthropic_google_cloud_base_url": url + prefix_path(ids)}


def _in_providers(answers):
    return "anthropic_google_cloud" in (answers.get("providers") or [])


PROVIDER = Provider(
    key="anthropic_google_cloud",
    name="Claude on Google Cloud",
    short_name="Claude on Google Cloud",
    # Claude Code 2.1.332 with CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD=1 and nothing pinned.
    default_models={"opus": "claude-opus-5-5", "sonnet": "claude-sonnet-5-5", "haiku": "claude-haiku-4-5-20251001"},
    questions=("anthropic_google_cloud_project", "anthropic_google_cloud_workspace_id",
               "anthropic_google_cloud_location", "anthropic_google_cloud_base_url"),
    required=("anthropic_google_cloud_project", "anthropic_google_cloud_workspace_id"),
    client_env=client_env,
    endpoint=lambda answers: Endpoint("ANTHROPIC_GOOGLE_CLOUD_BASE_URL", endpoint_url(answers), "/"),
    litellm_params=litellm_params,
    apps_gateway_upstream=apps_gateway_upstream,
    gateway_env=lambda answers: [GatewayVar(
        "GOOGLE_APPLICATION_CREDENTIALS", "Service-account key file for Claude on Google Cloud (process runtime).",
        example="/path/to/service-account.json")],
    egress=egress,
    rules=(Rule("anthropic_google_cloud_project", project_error, _in_providers),
           Rule("anthropic_google_cloud_workspace_id", workspace_error, _in_providers),
           Rule("anthropic_google_cloud_location", location_error, _in_providers),
           Rule("anthropic_google_cloud_base_url", base_url_rule, _in_providers)),
    use_flag="CLAUDE_CODE_USE_ANTHROPIC_GOOGLE_CLOUD",
    base_url_var="ANTHROPIC_GOOGLE_CLOUD_BASE_URL",
    skip_auth_var="CLAUDE_CODE_SKIP_ANTHROPIC_GOOGLE_CLOUD_AUTH",
    credential_hint="Claude Code uses Google application default credentials (gcloud auth application-default login).",
    login_step="gcloud auth application-default login  (your Google login, never written here)",
    ci_credential="export GOOGLE_APPLICATION_CREDENTIALS=client/settings.json  # any existing file stands in",
    doctor_check="includes/providers/anthropic_google_cloud/doctor-credential.sh.jinja",
    login_doc="includes/providers/anthropic_google_cloud/login.md.jinja",
    gateway_credential_doc=lambda answers: " (Google credentials: the local process reads "
                                           "`GOOGLE_APPLICATION_CREDENTIALS`)",
    signs_requests=True,  # Google OAuth tokens: the kit checks it direct only with --replay
    request_path=request_path,
    model_id_error=model_id_error,
    unsupported_engines={engine: "the pinned LiteLLM (1.108) has no Claude on Google Cloud provider (it comes in 1.114)"
                         for engine in (engines.LITELLM, engines.APPS_GATEWAY_WITH_LITELLM)},
    # The base URL carries the whole prefix (the mock serves the Messages API under it); no Google login: the
    # client skips its token fetch and sends ANTHROPIC_AUTH_TOKEN as the bearer.
    mock_answers=mock_answers,
    mock_credential={"CLAUDE_CODE_SKIP_ANTHROPIC_GOOGLE_CLOUD_AUTH": "1", "ANTHROPIC_AUTH_TOKEN": "mock-credential"},
)
