"""Microsoft Foundry (Azure): the Anthropic Messages API at https://<resource>.services.ai.azure.com/anthropic.

Measured with Claude Code 2.1.332 against a loopback mock: with CLAUDE_CODE_USE_FOUNDRY=1 it posts to
<base>/v1/messages with `x-api-key` (ANTHROPIC_FOUNDRY_API_KEY) or, without a key, a Microsoft Entra ID token
(DefaultAzureCredential: `az login`, managed identity, AZURE_* variables). ANTHROPIC_FOUNDRY_RESOURCE and
ANTHROPIC_FOUNDRY_BASE_URL are mutually exclusive. The model id is the customer's deployment name.

The gateway (the pinned LiteLLM) calls Foundry with its Anthropic provider and the Foundry base URL: `azure_ai/<name>`
takes the Messages route only when the deployment name contains "claude" (otherwise it posts OpenAI chat
completions and the deployment goes into cooldown), while `anthropic/<name>` with api_base .../anthropic works
for every deployment name (checked against the mock: /anthropic/v1/messages, x-api-key, the deployment name).
"""

from __future__ import annotations

import re

from ..checks import base_url_error
from ..common import host_port, shown
from ..records import EgressHost, Endpoint, EnvVar, GatewayVar, Rule
from .base import Provider

_RESOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}[A-Za-z0-9]$")
_EXPECTED_URL = "a https:// URL ending in /anthropic, e.g. https://my-resource.services.ai.azure.com/anthropic"
# The endpoint of a resource (ANTHROPIC_FOUNDRY_RESOURCE), `{}` for its name: the one statement of the formula.
RESOURCE_URL = "https://{}.services.ai.azure.com/anthropic"


def base_url(answers) -> str:
    """The Foundry endpoint, with /anthropic: the answer's URL, or the resource's public endpoint."""
    if answers.get("foundry_base_url"):
        return answers["foundry_base_url"].rstrip("/")
    return RESOURCE_URL.format(answers["foundry_resource"])


def foundry_resource_error(value, answers):
    if value in (None, ""):
        return ""  # the base URL's rule says when neither is given
    if isinstance(value, str) and _RESOURCE.fullmatch(value):
        return ""
    return (f"foundry_resource: {shown(value)} is not an Azure resource name; expected 2-64 letters, digits and "
            f"hyphens, the part before .services.ai.azure.com (a full URL goes in foundry_base_url).")


def foundry_base_url_error(value, answers):
    resource = answers.get("foundry_resource")
    if value in (None, ""):
        if resource in (None, ""):
            return ("foundry_base_url: empty, and foundry_resource is empty too; Microsoft Foundry needs one of them: "
                    "the Azure resource name (foundry_resource) or " + _EXPECTED_URL + ".")
        return ""
    if resource not in (None, ""):
        return (f"foundry_base_url: {shown(value)} is given together with foundry_resource {shown(resource)}; "
                f"Claude Code refuses both at once; expected only one (leave foundry_resource empty).")
    error = base_url_error(value, "foundry_base_url")
    if error:
        return error
    if not value.rstrip("/").endswith("/anthropic"):
        return f"foundry_base_url: {shown(value)} does not end in /anthropic; expected {_EXPECTED_URL}."
    return ""


def client_env(answers):
    env = [EnvVar("CLAUDE_CODE_USE_FOUNDRY", "1", "Send requests to Microsoft Foundry.")]
    if answers.get("foundry_base_url"):
        env.append(EnvVar("ANTHROPIC_FOUNDRY_BASE_URL", base_url(answers), "Foundry endpoint with /anthropic "
                          "(e.g. a private endpoint); needs CLAUDE_CODE_USE_FOUNDRY=1."))
    else:
        env.append(EnvVar("ANTHROPIC_FOUNDRY_RESOURCE", answers["foundry_resource"],
                          "Azure resource: https://<resource>.services.ai.azure.com/anthropic."))
    return env


def litellm_params(answers, model):
    return {"model": f"anthropic/{model}", "api_base": base_url(answers), "api_key": "os.environ/AZURE_AI_API_KEY"}


# The Claude apps gateway's schema (2.1.332) requires `resource` even where `base_url` wins over it: a private endpoint
# gets this stand-in name.
ENDPOINT_RESOURCE = "private-endpoint"


def apps_gateway_upstream(answers):
    upstream = {"name": "foundry", "provider": "foundry",
                "resource": answers.get("foundry_resource") or ENDPOINT_RESOURCE}
    if answers.get("foundry_base_url"):
        upstream["base_url"] = base_url(answers)
    return {**upstream, "auth": {"api_key": "${AZURE_AI_API_KEY}"}}


def egress(answers):
    return [EgressHost(*host_port(base_url(answers)), "Microsoft Foundry: every model request", True),
            EgressHost("login.microsoftonline.com", 443, "Microsoft Entra ID tokens (not needed with an API key)",
                       False)]


def _in_providers(answers):
    return "foundry" in (answers.get("providers") or [])


PROVIDER = Provider(
    key="foundry",
    name="Microsoft Foundry",
    short_name="Foundry",
    # Claude Code 2.1.332 in Foundry mode: opus, sonnet (the default of `claude -p` there) and haiku.
    default_models={"opus": "claude-opus-5-5", "sonnet": "claude-sonnet-5-5", "haiku": "claude-haiku-4-5"},
    questions=("foundry_resource", "foundry_base_url"),
    client_env=client_env,
    endpoint=lambda answers: Endpoint("ANTHROPIC_FOUNDRY_BASE_URL", base_url(answers), "/"),
    litellm_params=litellm_params,
    apps_gateway_upstream=apps_gateway_upstream,
    gateway_env=lambda answers: [GatewayVar("AZURE_AI_API_KEY", "Microsoft Foundry resource key the gateway calls "
                                            "upstream with.", example="...", required=True)],
    egress=egress,
    rules=(Rule("foundry_resource", foundry_resource_error, _in_providers),
           Rule("foundry_base_url", foundry_base_url_error, _in_providers)),
    use_flag="CLAUDE_CODE_USE_FOUNDRY",
    base_url_var="ANTHROPIC_FOUNDRY_BASE_URL",
    endpoint_vars=("ANTHROPIC_FOUNDRY_RESOURCE",),
    skip_auth_var="CLAUDE_CODE_SKIP_FOUNDRY_AUTH",
    credential_hint="Claude Code reads ANTHROPIC_FOUNDRY_API_KEY from your own environment, or signs in with "
                    "Microsoft Entra ID (az login).",
    login_step="az login   (or export ANTHROPIC_FOUNDRY_API_KEY=...; never written to a file by this template)",
    ci_credential="export ANTHROPIC_FOUNDRY_API_KEY=ci-placeholder",
    doctor_check="includes/providers/foundry/doctor-credential.sh.jinja",
    login_doc="includes/providers/foundry/login.md.jinja",
    # Claude Code retries Foundry's "features are not available" 400s without them only in Foundry mode (read in
    # the 2.1.332 binary); behind the gateway it runs in Anthropic mode, so new betas stay off.
    rejects_new_betas=True,
    credential_doc="| `ANTHROPIC_FOUNDRY_API_KEY` | *(yours, from your environment; or your Entra ID login)* | The "
                   "resource key, sent as `x-api-key`. Never written by this template. |",
    gateway_credential_doc=lambda answers: " (`AZURE_AI_API_KEY`, the Foundry resource key)",
    request_path=lambda answers, model: "/anthropic/v1/messages",
    resource_url=RESOURCE_URL,
    key_headers=(("ANTHROPIC_FOUNDRY_API_KEY", "x-api-key"),),
    mock_answers=lambda url: {"foundry_resource": "", "foundry_base_url": f"{url}/anthropic"},
    mock_credential={"ANTHROPIC_FOUNDRY_API_KEY": "mock-credential"},
)
