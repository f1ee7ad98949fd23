"""Google Vertex AI."""

from __future__ import annotations

import re

from ..checks import base_url_error, region_error
from ..common import host_port, shown, with_v1
from ..records import EgressHost, Endpoint, EnvVar, GatewayVar, RegionList, Rule
from .base import Provider

# Vertex AI's generative AI locations (Claude is offered in a subset that changes per model: Model Garden shows
# which; `global` serves the newest models everywhere).
REGIONS = RegionList(
    codes=("global", "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west4",
           "northamerica-northeast1", "southamerica-east1", "europe-central2", "europe-north1", "europe-southwest1",
           "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8",
           "europe-west9", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast3", "asia-south1",
           "asia-southeast1", "australia-southeast1", "me-central1", "me-central2", "me-west1"),
    source="Google Cloud docs 'Generative AI on Vertex AI locations' and Claude's Model Garden pages",
    checked="2026-11-28")

_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def regional_endpoint(region: str) -> str:
    host = "aiplatform.googleapis.com" if region == "global" else f"{region}-aiplatform.googleapis.com"
    return f"https://{host}/v1"


def gcp_project_error(value):
    if isinstance(value, str) and _GCP_PROJECT.fullmatch(value):
        return ""
    if value in (None, ""):
        return ("gcp_project_id: empty; Vertex AI needs your Google Cloud project id, e.g. my-team-prod "
                "(6-30 lowercase letters, digits and hyphens; `gcloud projects list` shows yours).")
    return (f"gcp_project_id: {shown(value)} is not a Google Cloud project id; expected 6-30 lowercase letters, "
            f"digits and hyphens, starting with a letter, e.g. my-team-prod.")


def gcp_region_error(value):
    return region_error(value, "gcp_region", REGIONS, "Vertex AI", "global, us-east5 or europe-west1")


def client_env(answers):
    env = [EnvVar("CLAUDE_CODE_USE_VERTEX", "1", "Send requests to Google Vertex AI."),
           EnvVar("CLOUD_ML_REGION", answers["gcp_region"], "Vertex AI region (`global` or e.g. us-east5)."),
           EnvVar("ANTHROPIC_VERTEX_PROJECT_ID", answers["gcp_project_id"], "Google Cloud project id.")]
    if answers.get("vertex_base_url"):
        env.append(EnvVar("ANTHROPIC_VERTEX_BASE_URL", with_v1(answers["vertex_base_url"]),
                          "Vertex AI endpoint with /v1 (e.g. Private Service Connect); needs "
                          "CLAUDE_CODE_USE_VERTEX=1."))
    return env


def litellm_params(answers, model):
    params = {"model": f"vertex_ai/{model}", "vertex_project": answers["gcp_project_id"],
              "vertex_location": answers["gcp_region"]}
    if answers.get("vertex_base_url"):
        params["api_base"] = with_v1(answers["vertex_base_url"])
    return params


def apps_gateway_upstream(answers):
    # No `auth` keys: Google application default credentials (GOOGLE_APPLICATION_CREDENTIALS in gateway/.env).
    upstream = {"name": "vertex", "provider": "vertex", "project_id": answers["gcp_project_id"],
                "region": answers["gcp_region"]}
    if answers.get("vertex_base_url"):
        upstream["base_url"] = with_v1(answers["vertex_base_url"])
    upstream["auth"] = {}
    return upstream


def egress(answers):
    return [EgressHost(*host_port(answers.get("vertex_base_url") or regional_endpoint(answers["gcp_region"])),
                       "Vertex AI: every model request", True),
            EgressHost("oauth2.googleapis.com", 443, "Google tokens for application default credentials", True)]


def request_path(answers, model):
    return (f"/v1/projects/{answers['gcp_project_id']}/locations/{answers['gcp_region']}"
            f"/publishers/anthropic/models/{model}:streamRawPredict")


def _in_providers(answers):
    return "vertex" in (answers.get("providers") or [])


PROVIDER = Provider(
    key="vertex",
    name="Google Vertex AI",
    short_name="Vertex",
    default_models={"opus": "claude-opus-5-5", "sonnet": "claude-sonnet-5-5", "haiku": "claude-haiku-4-5@20251001"},
    questions=("gcp_project_id", "gcp_region", "vertex_base_url"),
    required=("gcp_project_id",),
    client_env=client_env,
    endpoint=lambda answers: Endpoint("ANTHROPIC_VERTEX_BASE_URL", regional_endpoint(answers["gcp_region"]), "/"),
    litellm_params=litellm_params,
    apps_gateway_upstream=apps_gateway_upstream,
    gateway_env=lambda answers: [GatewayVar(
        "GOOGLE_APPLICATION_CREDENTIALS", "Service-account key file for Vertex AI (process runtime; docker mounts it).",
        example="/path/to/service-account.json")],
    egress=egress,
    rules=(Rule("gcp_project_id", lambda value, answers: gcp_project_error(value), _in_providers),
           Rule("gcp_region", lambda value, answers: gcp_region_error(value), _in_providers),
           Rule("vertex_base_url", lambda value, answers: base_url_error(value, "vertex_base_url", forbid_v1=False),
                _in_providers)),
    use_flag="CLAUDE_CODE_USE_VERTEX",
    base_url_var="ANTHROPIC_VERTEX_BASE_URL",
    skip_auth_var="CLAUDE_CODE_SKIP_VERTEX_AUTH",
    credential_hint="Claude Code uses Google application default credentials (gcloud auth application-default login).",
    login_step="gcloud auth application-default login  (your Google login, never written here)",
    ci_credential="export GOOGLE_APPLICATION_CREDENTIALS=client/settings.json  # any existing file stands in",
    doctor_check="includes/providers/vertex/doctor-credential.sh.jinja",
    login_doc="includes/providers/vertex/login.md.jinja",
    rejects_new_betas=True,
    compose_environment=lambda answers: {"GOOGLE_APPLICATION_CREDENTIALS": "/run/secrets/gcp-credentials.json"},
    compose_volumes=lambda answers: [(
        ("Google credentials (read-only): a service-account key, or your ADC file from "
         "`gcloud auth application-default login`."),
        ("${GCP_CREDENTIALS_FILE:-${HOME}/.config/gcloud/application_default_credentials.json}"
         ":/run/secrets/gcp-credentials.json:ro"))],
    gateway_credential_doc=lambda answers: (" (Google credentials: Docker mounts `GCP_CREDENTIALS_FILE`, default "
                                            "your ADC file; the local process reads `GOOGLE_APPLICATION_CREDENTIALS`)"),
    signs_requests=True,  # Google OAuth tokens: the kit checks Vertex direct only with --replay
    request_path=request_path,
    mock_answers=lambda url: {"gcp_project_id": "mock-project", "vertex_base_url": url},
    mock_credential={"CLAUDE_CODE_SKIP_VERTEX_AUTH": "1"},
)
