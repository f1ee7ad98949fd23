"""The Anthropic API."""

from __future__ import annotations

from ..checks import base_url_error
from ..common import host_port
from ..records import EgressHost, Endpoint, EnvVar, GatewayVar, Rule
from .base import Provider

PUBLIC_API = "https://api.anthropic.com"


def client_env(answers):
    if not answers.get("anthropic_base_url"):
        return []
    return [EnvVar("ANTHROPIC_BASE_URL", answers["anthropic_base_url"].rstrip("/"),
                   "Anthropic API endpoint Claude Code calls (without /v1).")]


def litellm_params(answers, model):
    params = {"model": f"anthropic/{model}", "api_key": "os.environ/ANTHROPIC_API_KEY"}
    if answers.get("anthropic_base_url"):
        params["api_base"] = answers["anthropic_base_url"].rstrip("/")
    return params


def apps_gateway_upstream(answers):
    return {"name": "anthropic", "provider": "anthropic",
            "base_url": (answers.get("anthropic_base_url") or PUBLIC_API).rstrip("/"),
            "auth": {"api_key": "${ANTHROPIC_API_KEY}"}}


PROVIDER = Provider(
    key="anthropic",
    name="Anthropic API",
    short_name="Anthropic",
    default_models={"opus": "claude-opus-5-5", "sonnet": "claude-sonnet-5-5", "haiku": "claude-haiku-5-5"},
    questions=("anthropic_base_url",),
    client_env=client_env,
    endpoint=lambda answers: Endpoint("ANTHROPIC_BASE_URL", PUBLIC_API, "/v1/models"),
    litellm_params=litellm_params,
    apps_gateway_upstream=apps_gateway_upstream,
    gateway_env=lambda answers: [GatewayVar("ANTHROPIC_API_KEY", "Anthropic API key the gateway calls upstream with.",
                                            example="sk-ant-...", required=True)],
    egress=lambda answers: [EgressHost(*host_port(answers.get("anthropic_base_url") or PUBLIC_API),
                                       "the Anthropic API: every model request", True)],
    # Asked whenever the gateway may need it too, so it is checked for every pattern.
    rules=(Rule("anthropic_base_url", lambda value, answers: base_url_error(value, "anthropic_base_url")),),
    use_flag=None,
    base_url_var="ANTHROPIC_BASE_URL",
    skip_auth_var=None,
    credential_hint="Claude Code reads ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN, or an apiKeyHelper in "
                    "~/.claude/settings.json) from your own environment.",
    login_step="export ANTHROPIC_API_KEY=...   (your key; never written to a file by this template)",
    ci_credential="export ANTHROPIC_API_KEY=ci-placeholder",
    doctor_check="includes/providers/anthropic/doctor-credential.sh.jinja",
    login_doc="includes/providers/anthropic/login.md.jinja",
    credential_vars=("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
    credential_alternative="or configure an apiKeyHelper",
    credential_doc="| `ANTHROPIC_API_KEY` | *(yours, from your environment)* | The credential, sent as `x-api-key`. "
                   "Never written by this template. |",
    gateway_credential_doc=lambda answers: " (`ANTHROPIC_API_KEY`)",
    default_url=PUBLIC_API,
    key_headers=(("ANTHROPIC_API_KEY", "x-api-key"), ("ANTHROPIC_AUTH_TOKEN", "authorization")),
    # The bearer token, as Claude Code sends its key to a gateway in Anthropic format.
    mock_answers=lambda url: {"anthropic_base_url": url},
    mock_credential={"ANTHROPIC_AUTH_TOKEN": "mock-credential"},
)
