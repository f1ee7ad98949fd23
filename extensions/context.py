"""The template's one home for logic: derived values, validation rules and the data templates place.

Loaded by copier through copier-template-extensions (`_jinja_extensions` in copier.yml):
- `TemplateHelpers` adds the validation filters used by copier.yml's validators and the default model ids.
- `DerivedContext` derives the deployment pattern and everything the templates render from the answers, and
  re-validates every public answer, because copier does not validate answers of questions that were not
  asked (a `--data` value for a hidden question would otherwise reach a shell script unchecked).

Templates only place these values; shell quoting uses copier's own `quote` filter, JSON its `to_json`.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from copier_template_extensions import ContextHook
from jinja2.ext import Extension

PROVIDERS = ("anthropic", "bedrock", "vertex")
PROVIDER_NAMES = {"anthropic": "Anthropic API", "bedrock": "AWS Bedrock", "vertex": "Google Vertex AI"}
TIERS = ("opus", "sonnet", "haiku")

# The ids Claude Code 2.1.332 sends when nothing is pinned (checked against a loopback mock). Bedrock ids are
# inference profiles: they get the region's prefix (see bedrock_prefix).
DEFAULT_MODELS = {
    "anthropic": {"opus": "claude-opus-5-5", "sonnet": "claude-sonnet-5-5", "haiku": "claude-haiku-5-5"},
    "bedrock": {"opus": "anthropic.claude-opus-5-5", "sonnet": "anthropic.claude-sonnet-4-5-20250929-v1:0",
                "haiku": "anthropic.claude-haiku-4-5-20251001-v1:0"},
    "vertex": {"opus": "claude-opus-5-5", "sonnet": "claude-sonnet-5-5", "haiku": "claude-haiku-4-5@20251001"},
}

PUBLIC_ANTHROPIC_API = "https://api.anthropic.com"

# Answers renamed between releases: old name -> (new name, release that renamed it). The `_migrations` entry in
# copier.yml renames them in a project's answers file on `copier update`; an old name arriving any other way
# (a data file, --data) is an error, because copier would drop it silently and the setting would be lost.
RENAMED_ANSWERS = {
    # It holds one certificate, the corporate root CA; "bundle" misled users (the gateway builds the bundle).
    "ca_bundle": ("corporate_ca_cert", "0.2.0"),
}

# The gateway (Patterns C and D). The image tag follows LiteLLM's release tag scheme for the pip version the
# tests run; the image itself cannot be pulled from the test machines.
LITELLM_VERSION = "1.108.7"  # 1.107.0 was a compromised release; 1.109/1.110 do not install cleanly
PROMETHEUS_CLIENT_VERSION = "0.26.0"  # needed by the prometheus callback, not pulled in by litellm[proxy]
LITELLM_IMAGE = f"ghcr.io/berriai/litellm:v{LITELLM_VERSION}-stable"
POSTGRES_IMAGE = "postgres:16.6-alpine"
REDIS_IMAGE = "redis:7.4.1-alpine"
# Long Claude Code turns stream for minutes: anything under 600 s cuts them off.
ROUTER_SETTINGS = {"num_retries": 2, "allowed_fails": 3, "cooldown_time": 30, "timeout": 600, "stream_timeout": 600}


def bedrock_prefix(region: Any) -> str:
    """The cross-region inference-profile prefix Bedrock uses for a region (us., eu., apac., us-gov.)."""
    region = str(region or "")
    for start, prefix in (("us-gov-", "us-gov"), ("us-", "us"), ("eu-", "eu"), ("ap-", "apac")):
        if region.startswith(start):
            return prefix
    return "global"


def default_model(provider: str, tier: str, aws_region: Any = "") -> str:
    model = DEFAULT_MODELS[provider][tier]
    return f"{bedrock_prefix(aws_region)}.{model}" if provider == "bedrock" else model


def bedrock_endpoint(region: str) -> str:
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def vertex_endpoint(region: str) -> str:
    host = "aiplatform.googleapis.com" if region == "global" else f"{region}-aiplatform.googleapis.com"
    return f"https://{host}/v1"


def with_v1(url: str) -> str:
    """Vertex base URLs are given to Claude Code with /v1; accept the answer with or without it."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


# --------------------------------------------------------------------------------------------------------
# The decision tree
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    letter: str
    name: str
    pros: tuple[str, ...]
    cons: tuple[str, ...]
    setup_time: str
    latency: str


PATTERNS = {
    "A": Pattern(
        "A", "Direct provider access",
        ("Minimal configuration", "Lowest latency (direct connection)", "Simple security model (just API keys)",
         "No additional infrastructure costs"),
        ("No usage tracking or cost analytics", "No automatic failover or load balancing",
         "Manual API key distribution for teams", "Single provider only"),
        "5 minutes or less", "lowest (direct)",
    ),
    "B": Pattern(
        "B", "Corporate proxy",
        ("Network-level security enforcement", "Centralized audit logs at proxy level",
         "Complies with corporate security policies", "Can inspect/filter traffic (if TLS interception is configured)"),
        ("Adds latency (proxy hop overhead)", "Requires proxy infrastructure and maintenance",
         "More complex troubleshooting (network layer issues)", "Still no usage/cost tracking"),
        "10-15 minutes (depends on proxy configuration complexity)", "+20-50 ms",
    ),
    "C": Pattern(
        "C", "LLM gateway (LiteLLM, recommended for teams)",
        ("Complete usage tracking and cost analytics", "Automatic load balancing and failover",
         "Multi-provider support (Anthropic, Bedrock, Vertex)", "Cost optimization through routing strategies",
         "Team management with per-user API keys", "Centralized rate limiting and quotas"),
        ("Additional service to run and maintain", "Requires compute resources (LiteLLM: ~350 MB RAM idle, measured)",
         "One more component to troubleshoot", "Single point of failure (mitigate with an HA deployment)"),
        "15-20 minutes", "+10-30 ms",
    ),
    "D": Pattern(
        "D", "Corporate proxy + LLM gateway (enterprise)",
        ("Maximum compliance (network + application layers)", "Enterprise-grade security (SSO, audit trails)",
         "Centralized governance and cost tracking", "Multi-team support with proper isolation",
         "Defense in depth (multiple security layers)"),
        ("Most complex setup and maintenance", "Highest latency (multiple hops)",
         "Most expensive (proxy + gateway infrastructure)",
         "Requires coordination between teams (network, platform, security)",
         "Complex troubleshooting (multiple failure points)"),
        "30-60 minutes (plus coordination time with IT/networking teams)", "+30-100 ms",
    ),
}


def derive_pattern(cost_tracking: bool, corporate_proxy: bool) -> str:
    """The seed's decision tree: cost tracking -> gateway, proxy required -> proxy."""
    if cost_tracking:
        return "D" if corporate_proxy else "C"
    return "B" if corporate_proxy else "A"


def pattern_reason(cost_tracking: bool, corporate_proxy: bool) -> str:
    yes_no = {True: "yes", False: "no"}
    return (f"you answered {yes_no[bool(cost_tracking)]} to cost tracking (cost_tracking) and "
            f"{yes_no[bool(corporate_proxy)]} to a required network proxy (corporate_proxy)")


# --------------------------------------------------------------------------------------------------------
# Validation: each returns "" when the value is fine, else a message that names the question, the value
# and what is expected (it is the last line a user sees, so it must stand alone).
# --------------------------------------------------------------------------------------------------------
# Characters a URL may carry here: nothing a shell, YAML or JSON file would treat specially.
_URL_CHARS = re.compile(r"^[A-Za-z0-9._~:/%\[\]+=,-]*$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$")


def _shown(value: Any) -> str:
    """The value as the user should see it in a message: quoted, control characters escaped."""
    return repr(value) if isinstance(value, str) else repr(str(value))


def ps_quote(value: Any) -> str:
    """A PowerShell single-quoted string literal: nothing inside is expanded. PowerShell treats the typographic
    single quotes as quote characters too, so every kind is doubled."""
    return "'" + re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", str(value)) + "'"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url_error(value: Any, question: str, forbid_v1: bool = True) -> str:
    if value in (None, ""):
        return ""
    expected = ("expected an http(s) URL" + (" without /v1" if forbid_v1 else "")
                + ", such as https://llm.example.com (empty for the provider's public endpoint)")
    if not isinstance(value, str):
        return f"{question}: {_shown(value)} is not text; {expected}."
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"{question}: {_shown(value)} is not a valid URL; {expected}."
    if parts.username is not None or parts.password is not None:
        masked = f"{parts.scheme}://***@{host}" + (f":{parts.port}" if parts.port else "")
        return (f"{question}: {masked!r} has credentials inside the URL; they would be stored in plain text in "
                f".copier-answers.yml and the generated files. Give the URL without user:password@; "
                f"credentials come from the environment or the provider's own login.")
    if not _URL_CHARS.match(value):
        return (f"{question}: {_shown(value)} contains a character that is not allowed here (spaces, quotes, $, "
                f"backticks, ;, newlines and the like could break the generated shell and JSON files); {expected}.")
    if parts.scheme not in ("http", "https") or not host:
        return f"{question}: {_shown(value)} is not an http:// or https:// URL with a host; {expected}."
    if parts.query or parts.fragment:
        return f"{question}: {_shown(value)} has a query or fragment; {expected}."
    if parts.scheme == "http" and not _is_loopback(host):
        return (f"{question}: {_shown(value)} uses plain http:// to a non-loopback host, which would send the API "
                f"credential unencrypted; use https:// (http:// is accepted only for localhost/127.x/::1).")
    if forbid_v1 and parts.path.rstrip("/").endswith("/v1"):
        return (f"{question}: {_shown(value)} ends in /v1; give it without /v1 "
                f"(Claude Code appends /v1/messages itself), e.g. {value.rstrip('/')[:-3]!r}.")
    return ""


def model_id_error(value: Any, question: str) -> str:
    if isinstance(value, str) and _MODEL_ID.match(value):
        return ""
    return (f"{question}: {_shown(value)} is not a model id; expected letters, digits and . _ : @ / - "
            f"(no spaces or quotes, at most 200 characters), e.g. {DEFAULT_MODELS['anthropic']['opus']!r}.")


_AWS_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]{1,2}$")
_AWS_PROFILE = re.compile(r"^[A-Za-z0-9_.+=@-]{1,64}$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCP_REGION = re.compile(r"^(global|[a-z]+-[a-z]+[0-9]{1,2})$")


def aws_region_error(value: Any) -> str:
    if isinstance(value, str) and _AWS_REGION.match(value):
        return ""
    return (f"aws_region: {_shown(value)} is not an AWS region; expected a region code such as us-east-1, "
            f"eu-central-1 or ap-northeast-1 (where Bedrock serves Claude).")


def aws_profile_error(value: Any) -> str:
    if value in (None, "") or (isinstance(value, str) and _AWS_PROFILE.match(value)):
        return ""
    return (f"aws_profile: {_shown(value)} is not an AWS profile name; expected letters, digits and _ . + = @ - "
            f"(at most 64), as in ~/.aws/config, or empty to use the default credential chain.")


def gcp_project_error(value: Any) -> str:
    if isinstance(value, str) and _GCP_PROJECT.match(value):
        return ""
    if value in (None, ""):
        return ("gcp_project_id: empty; Vertex AI needs your Google Cloud project id, e.g. my-team-prod "
                "(6-30 lowercase letters, digits and hyphens; `gcloud projects list` shows yours).")
    return (f"gcp_project_id: {_shown(value)} is not a Google Cloud project id; expected 6-30 lowercase letters, "
            f"digits and hyphens, starting with a letter, e.g. my-team-prod.")


def gcp_region_error(value: Any) -> str:
    if isinstance(value, str) and _GCP_REGION.match(value):
        return ""
    return (f"gcp_region: {_shown(value)} is not a Vertex AI region; expected global or a region such as "
            f"us-east5 or europe-west1.")


def port_error(value: Any, question: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return ""
    return f"{question}: {_shown(value)} is not a TCP port; expected a whole number from 1 to 65535, e.g. 4000."


def bind_error(value: Any) -> str:
    try:
        ipaddress.ip_address(str(value))
        return ""
    except ValueError:
        return (f"gateway_bind: {_shown(value)} is not an IP address to listen on; expected 127.0.0.1 (this machine "
                f"only), 0.0.0.0 (every interface, a shared gateway) or one of this host's addresses.")


def default_gateway_url(bind: Any, port: Any) -> str:
    """Clients on this machine reach a loopback gateway at its bind address; a shared one has no guessable URL."""
    if not _is_loopback(str(bind)):
        return ""
    host = f"[{bind}]" if ":" in str(bind) else str(bind)
    return f"http://{host}:{port}"


def gateway_url_error(value: Any, bind: Any) -> str:
    if value in (None, ""):
        if _is_loopback(str(bind)):
            return ""
        return (f"gateway_url: empty, but the gateway listens on {bind} (shared), so clients need its URL; "
                f"expected the https:// URL developers use, e.g. https://llm-gateway.example.com.")
    return base_url_error(value, "gateway_url")


def proxy_url_error(value: Any) -> str:
    expected = "expected http://host:port or https://host:port, e.g. http://proxy.example.com:8080"
    if not isinstance(value, str) or not value:
        return f"proxy_url: {_shown(value or '')} is empty; your network needs a proxy, so {expected}."
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return f"proxy_url: {_shown(value)} is not a valid URL; {expected}."
    if parts.username is not None or parts.password is not None:
        masked = f"{parts.scheme}://***@{parts.hostname}" + (f":{port}" if port else "")
        return (f"proxy_url: {masked!r} has credentials inside the URL, which would be stored in plain text. Give the "
                f"URL without them, the user as proxy_username, and the password at run time in PROXY_PASSWORD "
                f"(client/env.sh adds both).")
    if not _URL_CHARS.match(value) or parts.scheme not in ("http", "https") or not parts.hostname:
        return f"proxy_url: {_shown(value)} is not a proxy URL; {expected} (Claude Code supports no SOCKS)."
    if port is None or parts.path.strip("/") or parts.query or parts.fragment:
        return f"proxy_url: {_shown(value)} needs a port and nothing after it; {expected}."
    return ""


_USERNAME = re.compile(r"^[^\x00-\x1f\x7f'\"`$]{1,128}$")  # DOMAIN\user is fine: quoted and encoded
_HOST_ENTRY = re.compile(r"^[A-Za-z0-9.*_:\[\]/-]{1,253}$")
_ABSOLUTE_PATH = re.compile(r"^(/|[A-Za-z]:\\)[^\x00-\x1f\x7f'\"`$]*$")


def proxy_username_error(value: Any) -> str:
    if value in (None, "") or (isinstance(value, str) and _USERNAME.match(value)):
        return ""
    return (f"proxy_username: {_shown(value)} is not a user name this setup can pass safely; expected up to 128 "
            f"characters without quotes, $, backticks or control characters (the password is never "
            f"asked: it is read from PROXY_PASSWORD at run time).")


def no_proxy_error(value: Any) -> str:
    bad = [h for h in split_hosts(value) if not _HOST_ENTRY.match(h)]
    if not bad:
        return ""
    return (f"no_proxy_hosts: {_shown(bad[0])} is not a host, domain or network; expected a comma-separated list "
            f"such as .corp.example.com,git.internal,10.0.0.0/8 (localhost,127.0.0.1,::1 are always included).")


def corporate_ca_cert_error(value: Any) -> str:
    if value in (None, "") or (isinstance(value, str) and _ABSOLUTE_PATH.match(value)):
        return ""
    return (f"corporate_ca_cert: {_shown(value)} is not an absolute path; expected where the corporate root CA "
            f"(PEM) lives on developers' machines, e.g. /usr/local/share/ca-certificates/corp-root.pem "
            f"(no ~, quotes or $).")


def primary_provider_error(value: Any, providers: Any) -> str:
    providers = list(providers or [])
    if value in providers:
        return ""
    return (f"primary_provider: {_shown(value)} is not one of the selected providers; expected one of "
            f"{', '.join(providers)}.")


def workers_error(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 32:
        return ""
    return f"gateway_workers: {_shown(value)} is not a worker count; expected a whole number from 1 to 32."


def api_key_helper_error(value: Any) -> str:
    if isinstance(value, str) and value.strip() and "\n" not in value and "\r" not in value and len(value) <= 1000:
        return ""
    return (f"api_key_helper: {_shown(value)} is not a command; expected one line whose output is the gateway "
            f"key and nothing else, e.g. vault kv get -field=key secret/claude/gateway.")


def providers_error(value: Any, cost_tracking: Any) -> str:
    choices = ", ".join(PROVIDERS)
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        return f"providers: {_shown(value)} is not a list; expected a list from {choices}, e.g. [anthropic]."
    if not value:
        return f"providers: nothing selected; expected at least one of {choices}."
    unknown = [p for p in value if p not in PROVIDERS]
    if unknown:
        return f"providers: {_shown(unknown[0])} is not a known provider; expected a list from {choices}."
    if len(set(value)) != len(value):
        return f"providers: {list(value)!r} lists a provider twice; list each provider once."
    if len(value) > 1 and not cost_tracking:
        return (f"providers: {list(value)!r} selects {len(value)} providers, but without cost tracking "
                f"(Patterns A and B) Claude Code talks to exactly one provider. Choose one, or answer yes to "
                f"cost tracking (cost_tracking=true) to get a LiteLLM gateway with multi-provider routing.")
    return ""


def bool_error(value: Any, question: str) -> str:
    if isinstance(value, bool):
        return ""
    return f"{question}: {_shown(value)} is not a yes/no answer; expected true or false."


def renamed_answer_errors(answers: dict[str, Any]) -> list[str]:
    return [f"{old}: {_shown(answers[old])} is given under the answer name that release {release} renamed; expected "
            f"it as {new}. Rename it in your data file or --data (copier update renames it in an existing "
            f"project's answers file)."
            for old, (new, release) in RENAMED_ANSWERS.items() if old in answers]


def answer_errors(answers: dict[str, Any]) -> list[str]:
    """Every problem with the public answers, whether or not copier asked (and so validated) the question."""
    errors = renamed_answer_errors(answers)
    errors += [bool_error(answers.get(q), q) for q in ("cost_tracking", "corporate_proxy", "customize_models",
                                                       "disable_nonessential_traffic")]
    errors.append(providers_error(answers.get("providers"), answers.get("cost_tracking")))
    providers = answers.get("providers") or []
    errors.append(base_url_error(answers.get("anthropic_base_url"), "anthropic_base_url"))
    if "bedrock" in providers:
        errors += [aws_region_error(answers.get("aws_region")), aws_profile_error(answers.get("aws_profile")),
                   base_url_error(answers.get("bedrock_base_url"), "bedrock_base_url", forbid_v1=False)]
    if "vertex" in providers:
        errors += [gcp_project_error(answers.get("gcp_project_id")), gcp_region_error(answers.get("gcp_region")),
                   base_url_error(answers.get("vertex_base_url"), "vertex_base_url", forbid_v1=False)]
    if answers.get("corporate_proxy"):
        errors += [proxy_url_error(answers.get("proxy_url")), proxy_username_error(answers.get("proxy_username")),
                   no_proxy_error(answers.get("no_proxy_hosts")),
                   corporate_ca_cert_error(answers.get("corporate_ca_cert"))]
    if answers.get("cost_tracking") and len(providers) > 1:
        errors.append(primary_provider_error(answers.get("primary_provider"), providers))
    if answers.get("cost_tracking"):
        errors += [port_error(answers.get("gateway_port"), "gateway_port"), bind_error(answers.get("gateway_bind")),
                   workers_error(answers.get("gateway_workers", 1)),
                   gateway_url_error(answers.get("gateway_url"), answers.get("gateway_bind")),
                   bool_error(answers.get("spend_database"), "spend_database")]
        if answers.get("gateway_runtime") not in ("docker", "process"):
            errors.append(f"gateway_runtime: {_shown(answers.get('gateway_runtime'))} is not a runtime; "
                          f"expected docker or process.")
        if answers.get("client_auth") not in ("env", "api_key_helper"):
            errors.append(f"client_auth: {_shown(answers.get('client_auth'))} is not a way to pass the key; "
                          f"expected env or api_key_helper.")
        elif answers.get("client_auth") == "api_key_helper":
            errors.append(api_key_helper_error(answers.get("api_key_helper")))
    for provider in PROVIDERS:
        for tier in TIERS:
            question = f"{provider}_{tier}_model"
            if question in answers:
                errors.append(model_id_error(answers.get(question), question))
    return [e for e in errors if e]


class InvalidAnswer(ValueError):
    """An answer that would produce a broken or unsafe project."""


# --------------------------------------------------------------------------------------------------------
# What the templates render
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    doc: str
    # A proxy URL that client/env.sh completes at run time with the user and PROXY_PASSWORD (so it never appears
    # in a file, and is left out of settings.json, whose env would override the shell with a password-less URL).
    with_proxy_credentials: bool = False


@dataclass(frozen=True)
class ForbiddenVar:
    name: str
    why: str


def _model_pins(answers: dict[str, Any], provider: str) -> list[EnvVar]:
    docs = {"opus": "Opus-tier model (the default model of `claude -p`).", "sonnet": "Sonnet-tier model.",
            "haiku": "Haiku-tier model; also used for background work."}
    return [EnvVar(f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL", answers[f"{provider}_{tier}_model"],
                   f"{docs[tier]} Pinned so Claude Code sends an id the provider knows.") for tier in TIERS]


def client_env(answers: dict[str, Any]) -> list[EnvVar]:
    """The variables Claude Code needs for this pattern, in the order env.sh and settings.json list them.
    A provider's base URL only ever appears together with its CLAUDE_CODE_USE_* flag (without the flag
    Claude Code ignores it and silently talks to the Anthropic API)."""
    if answers.get("cost_tracking"):
        return gateway_client_env(answers) + proxy_env(answers)
    return direct_client_env(answers) + proxy_env(answers)


def proxy_env(answers: dict[str, Any]) -> list[EnvVar]:
    """The corporate proxy (Patterns B and D): proxy URLs, what bypasses them, and the CA for TLS inspection."""
    if not answers.get("corporate_proxy"):
        return []
    auth = bool(answers.get("proxy_username"))
    url = answers["proxy_url"].rstrip("/")
    env = [EnvVar(name, url, f"Corporate proxy for {kind} traffic" + (
                      " (user and PROXY_PASSWORD added at run time by client/env.sh)." if auth else "."),
                  with_proxy_credentials=auth)
           for name, kind in (("HTTPS_PROXY", "HTTPS"), ("HTTP_PROXY", "plain HTTP"))]
    env.append(EnvVar("NO_PROXY", ",".join(no_proxy_list(answers)),
                      "Hosts reached directly, not through the proxy (loopback always)."))
    if answers.get("corporate_ca_cert"):
        env.append(EnvVar("NODE_EXTRA_CA_CERTS", answers["corporate_ca_cert"],
                          "Corporate root CA (PEM) for the proxy's TLS inspection; added to the public roots."))
    return env


def no_proxy_list(answers: dict[str, Any], extra: tuple[str, ...] = ()) -> list[str]:
    """Loopback always, then `extra`, the user's hosts and (Pattern D, unless the gateway is reached through the
    proxy) the gateway's host, each once."""
    hosts = ["localhost", "127.0.0.1", "::1"]
    wanted = list(extra) + split_hosts(answers.get("no_proxy_hosts"))
    if answers.get("cost_tracking") and not answers.get("gateway_via_proxy"):
        wanted.append(urlsplit(gateway_url(answers)).hostname or "")
    for host in wanted:
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def gateway_proxy_env(answers: dict[str, Any]) -> dict[str, str]:
    """The gateway's own outbound proxy settings (Pattern D): providers through the proxy; its database, Redis
    and internal hosts directly."""
    url = answers["proxy_url"].rstrip("/")
    return {"HTTPS_PROXY": url, "HTTP_PROXY": url,
            "NO_PROXY": ",".join(no_proxy_list({**answers, "cost_tracking": False}, ("postgres", "redis")))}


def split_hosts(value: Any) -> list[str]:
    return [h.strip() for h in str(value or "").replace(" ", ",").split(",") if h.strip()]


def direct_client_env(answers: dict[str, Any]) -> list[EnvVar]:
    provider = answers["providers"][0]
    env: list[EnvVar] = []
    if provider == "anthropic":
        if answers.get("anthropic_base_url"):
            env.append(EnvVar("ANTHROPIC_BASE_URL", answers["anthropic_base_url"].rstrip("/"),
                              "Anthropic API endpoint Claude Code calls (without /v1)."))
    elif provider == "bedrock":
        env.append(EnvVar("CLAUDE_CODE_USE_BEDROCK", "1", "Send requests to AWS Bedrock."))
        env.append(EnvVar("AWS_REGION", answers["aws_region"],
                          "Bedrock region (always set; the model ids' prefix follows it)."))
        if answers.get("aws_profile"):
            env.append(EnvVar("AWS_PROFILE", answers["aws_profile"],
                              "AWS profile (named or SSO) whose credentials sign the requests."))
        if answers.get("bedrock_base_url"):
            env.append(EnvVar("ANTHROPIC_BEDROCK_BASE_URL", answers["bedrock_base_url"].rstrip("/"),
                              "Bedrock runtime endpoint (e.g. a VPC endpoint); needs CLAUDE_CODE_USE_BEDROCK=1."))
    elif provider == "vertex":
        env.append(EnvVar("CLAUDE_CODE_USE_VERTEX", "1", "Send requests to Google Vertex AI."))
        env.append(EnvVar("CLOUD_ML_REGION", answers["gcp_region"], "Vertex AI region (`global` or e.g. us-east5)."))
        env.append(EnvVar("ANTHROPIC_VERTEX_PROJECT_ID", answers["gcp_project_id"], "Google Cloud project id."))
        if answers.get("vertex_base_url"):
            env.append(EnvVar("ANTHROPIC_VERTEX_BASE_URL", with_v1(answers["vertex_base_url"]),
                              "Vertex AI endpoint with /v1 (e.g. Private Service Connect); needs "
                              "CLAUDE_CODE_USE_VERTEX=1."))
    env += _model_pins(answers, provider)
    if answers.get("disable_nonessential_traffic"):
        env.append(EnvVar("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1",
                          "No telemetry, error reporting or update checks (locked-down networks)."))
    return env


def gateway_client_env(answers: dict[str, Any]) -> list[EnvVar]:
    """Claude Code behind the gateway: Anthropic format to the gateway URL, the gateway's model names pinned."""
    env = [EnvVar("ANTHROPIC_BASE_URL", gateway_url(answers), "The LiteLLM gateway (without /v1)."),
           EnvVar("ANTHROPIC_API_KEY", "", "Empty on purpose: the gateway key goes in ANTHROPIC_AUTH_TOKEN "
                                           "(or the apiKeyHelper); both at once conflict.")]
    env += _model_pins(answers, "anthropic")
    if any(p in answers["providers"] for p in ("bedrock", "vertex")):
        env.append(EnvVar("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS", "1",
                          "The gateway bridges to Bedrock/Vertex, which reject new beta fields with HTTP 400."))
    if answers.get("disable_nonessential_traffic"):
        env.append(EnvVar("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1",
                          "No telemetry, error reporting or update checks (locked-down networks)."))
    return env


def gateway_url(answers: dict[str, Any]) -> str:
    url = answers.get("gateway_url") or default_gateway_url(answers["gateway_bind"], answers["gateway_port"])
    return url.rstrip("/")


def client_settings(answers: dict[str, Any], env: list[EnvVar]) -> dict[str, Any]:
    """client/settings.json: what client/install.sh merges into ~/.claude/settings.json (and owns)."""
    settings: dict[str, Any] = {"$schema": "https://json.schemastore.org/claude-code-settings.json"}
    if answers.get("cost_tracking") and answers.get("client_auth") == "api_key_helper":
        settings["apiKeyHelper"] = answers["api_key_helper"]
    settings["env"] = {var.name: var.value for var in env if not var.with_proxy_credentials}
    return settings


# --------------------------------------------------------------------------------------------------------
# The gateway's own files
# --------------------------------------------------------------------------------------------------------
def _deployment(answers: dict[str, Any], provider: str, tier: str) -> dict[str, Any]:
    """One LiteLLM deployment of a tier on a provider; secrets only as os.environ/ references."""
    model = answers[f"{provider}_{tier}_model"]
    if provider == "anthropic":
        params = {"model": f"anthropic/{model}", "api_key": "os.environ/ANTHROPIC_API_KEY"}
        if answers.get("anthropic_base_url"):
            params["api_base"] = answers["anthropic_base_url"].rstrip("/")
    elif provider == "bedrock":
        params = {"model": f"bedrock/{model}", "aws_region_name": answers["aws_region"]}
        if answers.get("aws_profile"):
            params["aws_profile_name"] = answers["aws_profile"]
        if answers.get("bedrock_base_url"):
            params["aws_bedrock_runtime_endpoint"] = answers["bedrock_base_url"].rstrip("/")
    else:
        params = {"model": f"vertex_ai/{model}", "vertex_project": answers["gcp_project_id"],
                  "vertex_location": answers["gcp_region"]}
        if answers.get("vertex_base_url"):
            params["api_base"] = with_v1(answers["vertex_base_url"])
    return {"model_name": answers[f"anthropic_{tier}_model"], "litellm_params": params}


def provider_order(answers: dict[str, Any]) -> list[str]:
    """The primary provider first, then the others in the order the user listed them."""
    providers = list(answers["providers"])
    primary = answers.get("primary_provider") if answers.get("primary_provider") in providers else providers[0]
    return [primary] + [p for p in providers if p != primary]


def gateway_model_list(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """One model group per id Claude Code sends (the pinned anthropic_* ids), each with one deployment per
    provider. With several providers each deployment gets an `order` (1 = primary): LiteLLM routes to the lowest
    order that is not failing and falls through to the next order when it fails, inside the same group, so
    clients and /v1/models see only the three names."""
    order = provider_order(answers)
    model_list = []
    for tier in TIERS:
        for rank, provider in enumerate(order, start=1):
            deployment = _deployment(answers, provider, tier)
            if len(order) > 1:
                deployment["litellm_params"]["order"] = rank
            model_list.append(deployment)
    return model_list


@dataclass(frozen=True)
class GatewayVar:
    name: str
    doc: str
    generated: bool = False  # written by scripts/init-secrets.sh; otherwise the user fills it in
    example: str = ""
    required: bool = False   # init-secrets.sh reminds the user to fill it in


def gateway_env_vars(answers: dict[str, Any]) -> list[GatewayVar]:
    """Everything gateway/.env may hold, for init-secrets.sh and .env.example."""
    variables = [
        GatewayVar("LITELLM_MASTER_KEY", "Admin key of the gateway (sk-...). Full control: never hand it to developers.",
                   True),
        GatewayVar("LITELLM_SALT_KEY", "Encrypts credentials stored in the database. Never change it once set.", True),
    ]
    if answers.get("spend_database"):
        variables += [
            GatewayVar("POSTGRES_PASSWORD", "Password of the gateway's Postgres user.", True),
            GatewayVar("DATABASE_URL", "Postgres for virtual keys and spend (docker compose overrides the host).",
                       True),
        ]
    if answers.get("gateway_workers", 1) > 1:
        variables += [
            GatewayVar("REDIS_PASSWORD", "Password of the gateway's Redis (shared state of the workers).", True),
            GatewayVar("REDIS_HOST", "Redis host for gateway/run-local.sh (docker compose uses its redis service).",
                       True),
            GatewayVar("REDIS_PORT", "Redis port.", True),
        ]
    if answers.get("corporate_proxy"):
        variables.append(GatewayVar("GATEWAY_HTTPS_PROXY", "Only if the gateway's proxy needs credentials: the proxy "
                                    "URL with them (percent-encoded); overrides the generated one.",
                                    example="http://user:password@proxy.example.com:8080"))
    providers = answers["providers"]
    if "anthropic" in providers:
        variables.append(GatewayVar("ANTHROPIC_API_KEY", "Anthropic API key the gateway calls upstream with.",
                                    example="sk-ant-...", required=True))
    if "bedrock" in providers:
        variables += [
            GatewayVar("AWS_ACCESS_KEY_ID", "AWS keys with Bedrock access (or mount a profile: see the README).",
                       example="AKIA...", required=not answers.get("aws_profile")),
            GatewayVar("AWS_SECRET_ACCESS_KEY", "Secret of the AWS key above.", example="...",
                       required=not answers.get("aws_profile")),
            GatewayVar("AWS_SESSION_TOKEN", "Only for temporary AWS credentials.", example="..."),
        ]
    if "vertex" in providers:
        variables.append(GatewayVar("GOOGLE_APPLICATION_CREDENTIALS",
                                    "Service-account key file for Vertex AI (process runtime; docker mounts it).",
                                    example="/path/to/service-account.json"))
    return variables


def gateway_local_url(answers: dict[str, Any]) -> str:
    """Where the gateway answers on its own host (a wildcard bind is reached on loopback)."""
    bind = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(str(answers["gateway_bind"]), str(answers["gateway_bind"]))
    host = f"[{bind}]" if ":" in bind else bind
    return f"http://{host}:{answers['gateway_port']}"


def compose_port(answers: dict[str, Any]) -> str:
    bind = str(answers["gateway_bind"])
    host = f"[{bind}]" if ":" in bind else bind
    return f"{host}:{answers['gateway_port']}:4000"


# Per provider: the flag that selects it, the variable that overrides its endpoint, and the flag that would
# make Claude Code skip signing (right only behind a gateway, wrong for direct access).
_PROVIDER_VARS = {
    "anthropic": (None, "ANTHROPIC_BASE_URL", None),
    "bedrock": ("CLAUDE_CODE_USE_BEDROCK", "ANTHROPIC_BEDROCK_BASE_URL", "CLAUDE_CODE_SKIP_BEDROCK_AUTH"),
    "vertex": ("CLAUDE_CODE_USE_VERTEX", "ANTHROPIC_VERTEX_BASE_URL", "CLAUDE_CODE_SKIP_VERTEX_AUTH"),
}


def client_env_forbidden(answers: dict[str, Any]) -> list[ForbiddenVar]:
    """Variables that, if set anyway, silently send Claude Code somewhere this pattern does not intend (or switch
    off what keeps it safe)."""
    never = [ForbiddenVar("NODE_TLS_REJECT_UNAUTHORIZED", "it switches off certificate checks; trust a corporate CA "
                                                           "with NODE_EXTRA_CA_CERTS (corporate_ca_cert) instead")]
    if answers.get("cost_tracking"):  # Anthropic format to the gateway, whatever the gateway calls upstream
        return [ForbiddenVar(flag, f"it makes Claude Code bypass the gateway for {PROVIDER_NAMES[p]}")
                for p, (flag, _, _) in _PROVIDER_VARS.items() if flag] + never
    return direct_client_forbidden(answers) + never


@dataclass(frozen=True)
class EgressHost:
    host: str
    port: int
    purpose: str
    required: bool


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or url, parts.port or (443 if parts.scheme == "https" else 80)


def provider_hosts(answers: dict[str, Any], provider: str) -> list[EgressHost]:
    """What whoever calls `provider` (Claude Code in A/B, the gateway in C/D) must reach (vendor docs)."""
    if provider == "anthropic":
        return [EgressHost(*_host_port(answers.get("anthropic_base_url") or PUBLIC_ANTHROPIC_API),
                           "the Anthropic API: every model request", True)]
    if provider == "bedrock":
        region = answers["aws_region"]
        return [EgressHost(*_host_port(answers.get("bedrock_base_url") or bedrock_endpoint(region)),
                           "Bedrock runtime: every model request", True),
                EgressHost(f"bedrock.{region}.amazonaws.com", 443, "Bedrock control plane: inference profiles", True),
                EgressHost(f"sts.{region}.amazonaws.com", 443, "AWS STS: role and SSO credentials", False),
                EgressHost(f"oidc.{region}.amazonaws.com", 443, "AWS SSO login (aws sso login)", False),
                EgressHost(f"portal.sso.{region}.amazonaws.com", 443, "AWS SSO login (aws sso login)", False)]
    return [EgressHost(*_host_port(answers.get("vertex_base_url") or vertex_endpoint(answers["gcp_region"])),
                       "Vertex AI: every model request", True),
            EgressHost("oauth2.googleapis.com", 443, "Google tokens for application default credentials", True)]


CLAUDE_CODE_HOSTS = [
    EgressHost("claude.ai", 443, "Claude account login (not needed with an API key, a gateway or a cloud provider)",
               False),
    EgressHost("console.anthropic.com", 443, "Console login (not needed with an API key, a gateway or a cloud "
                                             "provider)", False),
    EgressHost("platform.claude.com", 443, "Console login (not needed with an API key, a gateway or a cloud "
                                           "provider)", False),
    EgressHost("downloads.claude.ai", 443, "Claude Code native updates (or update through your package manager)",
               False),
]


def egress_hosts(answers: dict[str, Any]) -> list[EgressHost]:
    """What the proxy must let developer machines reach."""
    if answers.get("cost_tracking"):
        hosts = []
        if answers.get("gateway_via_proxy"):
            hosts.append(EgressHost(*_host_port(gateway_url(answers)), "the LiteLLM gateway: every Claude Code "
                                                                       "request", True))
        return hosts + CLAUDE_CODE_HOSTS
    return provider_hosts(answers, answers["providers"][0]) + CLAUDE_CODE_HOSTS


def gateway_egress_hosts(answers: dict[str, Any]) -> list[EgressHost]:
    """What the proxy must let the gateway host reach: every provider it routes to."""
    return [host for provider in answers["providers"] for host in provider_hosts(answers, provider)]


def direct_client_forbidden(answers: dict[str, Any]) -> list[ForbiddenVar]:
    provider = answers["providers"][0]
    rendered = {var.name for var in client_env(answers)}
    forbidden = [ForbiddenVar(use_flag, f"it switches Claude Code to {PROVIDER_NAMES[other]}")
                 for other, (use_flag, _, _) in _PROVIDER_VARS.items() if use_flag and other != provider]
    _, base_var, skip_auth = _PROVIDER_VARS[provider]
    if base_var not in rendered:
        forbidden.append(ForbiddenVar(base_var, f"it would send {PROVIDER_NAMES[provider]} traffic to another "
                                                f"endpoint"))
    if skip_auth:
        forbidden.append(ForbiddenVar(skip_auth, "it stops Claude Code signing its requests (right only behind a "
                                                 "gateway)"))
    return forbidden


@dataclass(frozen=True)
class Endpoint:
    variable: str  # the variable that overrides the endpoint, if the user sets it
    default: str   # what Claude Code calls when the variable is unset
    probe: str     # path appended for the reachability check (any HTTP answer counts)


def provider_endpoint(answers: dict[str, Any]) -> Endpoint:
    if answers.get("cost_tracking"):
        return Endpoint("ANTHROPIC_BASE_URL", gateway_url(answers), "/health/liveliness")
    provider = answers["providers"][0]
    if provider == "bedrock":
        return Endpoint("ANTHROPIC_BEDROCK_BASE_URL", bedrock_endpoint(answers["aws_region"]), "/")
    if provider == "vertex":
        return Endpoint("ANTHROPIC_VERTEX_BASE_URL", vertex_endpoint(answers["gcp_region"]), "/")
    return Endpoint("ANTHROPIC_BASE_URL", PUBLIC_ANTHROPIC_API, "/v1/models")


# How each provider's credential reaches Claude Code: never through a file this template writes.
CREDENTIAL_HINTS = {
    "anthropic": "Claude Code reads ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN, or an apiKeyHelper in "
                 "~/.claude/settings.json) from your own environment.",
    "bedrock": "Claude Code signs requests with your AWS credentials: a profile or SSO login "
               "(aws sso login --profile NAME), or keys in your environment.",
    "vertex": "Claude Code uses Google application default credentials (gcloud auth application-default login).",
}
GATEWAY_CREDENTIAL_HINT = ("Claude Code sends the gateway key from ANTHROPIC_AUTH_TOKEN in your environment (or "
                           "the apiKeyHelper command); ANTHROPIC_API_KEY stays empty.")
LOGIN_STEPS = {
    "anthropic": "export ANTHROPIC_API_KEY=...   (your key; never written to a file by this template)",
    "bedrock": "aws sso login --profile NAME  (or aws configure; your AWS login, never written here)",
    "vertex": "gcloud auth application-default login  (your Google login, never written here)",
}


def ci_doctor_setup(answers: dict[str, Any]) -> list[str]:
    """Shell lines that let the generated CI workflow run check-status.sh --offline on a bare runner: placeholder
    credentials (never real ones) and a stand-in file where the corporate CA is expected."""
    lines = []
    if answers.get("corporate_proxy") and answers.get("proxy_username"):
        lines.append("export PROXY_PASSWORD=ci-placeholder")
    if answers.get("corporate_proxy") and answers.get("corporate_ca_cert"):
        ca = shlex.quote(answers["corporate_ca_cert"])
        lines.append(f"sudo mkdir -p \"$(dirname {ca})\" && sudo cp /etc/ssl/certs/ca-certificates.crt {ca}"
                     "  # stand-in for the corporate CA")
    lines.append(". client/env.sh")
    if answers.get("cost_tracking"):
        lines.append("export ANTHROPIC_AUTH_TOKEN=ci-placeholder")
    elif answers["providers"][0] == "anthropic":
        lines.append("export ANTHROPIC_API_KEY=ci-placeholder")
    elif answers["providers"][0] == "bedrock":
        lines.append("export AWS_BEARER_TOKEN_BEDROCK=ci-placeholder")
    else:
        lines.append("export GOOGLE_APPLICATION_CREDENTIALS=client/settings.json  # any existing file stands in")
    return lines


def next_steps(context: dict[str, Any]) -> list[str]:
    pattern, provider = context["pattern"], context["provider"]
    steps = []
    if pattern in ("B", "D") and context.get("proxy_username"):
        steps.append("export PROXY_PASSWORD=...      (your proxy password; never written to a file)")
    if context["gateway_files"]:
        start = ("docker compose -f gateway/docker-compose.yml up -d" if context.get("gateway_runtime") == "docker"
                 else "gateway/run-local.sh start")
        steps.append("scripts/init-secrets.sh        (creates gateway/.env with a master key; fill in provider keys)")
        if pattern == "D" and context.get("corporate_ca_cert"):
            steps.append("gateway/build-ca-bundle.sh     (public roots + the corporate CA, for the gateway)")
        steps += [start, "scripts/health-check.sh        (liveliness, readiness, models, one round trip)"]
    if pattern in ("C", "D"):
        steps.append("export ANTHROPIC_AUTH_TOKEN=... (your gateway key; see README.md for per-developer keys)")
    else:
        steps.append(LOGIN_STEPS[provider])
    steps += ["client/install.sh              (merges client/settings.json into ~/.claude/settings.json; --undo)",
              "   or: . client/env.sh         (this shell only; PowerShell: . .\\client\\env.ps1)",
              "scripts/check-status.sh        (checks what Claude Code will see, hop by hop)",
              'claude -p "Hello, test!"']
    return steps


def pattern_summary(pattern: str, reason: str) -> str:
    info = PATTERNS[pattern]
    lines = [f"Pattern {pattern}: {info.name}", f"Why: {reason}.",
             f"Setup time: {info.setup_time}. Added latency: {info.latency}.", "Pros:"]
    lines += [f"  + {p}" for p in info.pros]
    lines.append("Cons:")
    lines += [f"  - {c}" for c in info.cons]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------
# The Jinja extensions copier loads
# --------------------------------------------------------------------------------------------------------
class TemplateHelpers(Extension):
    """Filters for copier.yml's validators and globals for its defaults."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["base_url_error"] = base_url_error
        environment.filters["model_id_error"] = model_id_error
        environment.filters["providers_error"] = providers_error
        environment.filters["aws_region_error"] = aws_region_error
        environment.filters["aws_profile_error"] = aws_profile_error
        environment.filters["gcp_project_error"] = gcp_project_error
        environment.filters["gcp_region_error"] = gcp_region_error
        environment.filters["ps_quote"] = ps_quote
        environment.filters["port_error"] = port_error
        environment.filters["bind_error"] = bind_error
        environment.filters["api_key_helper_error"] = api_key_helper_error
        environment.filters["primary_provider_error"] = primary_provider_error
        environment.filters["workers_error"] = workers_error
        environment.filters["proxy_url_error"] = proxy_url_error
        environment.filters["proxy_username_error"] = proxy_username_error
        environment.filters["no_proxy_error"] = no_proxy_error
        environment.filters["corporate_ca_cert_error"] = corporate_ca_cert_error
        environment.globals["default_gateway_url"] = default_gateway_url
        environment.globals["default_model"] = default_model


_DECISION_ANSWERS = ("cost_tracking", "corporate_proxy", "providers")


class DerivedContext(ContextHook):
    """Adds the derived values to every rendering once the answers are known."""

    def hook(self, context: dict[str, Any]) -> None:
        if str(context.get("_copier_phase")) == "prompt" or any(key not in context for key in _DECISION_ANSWERS):
            return  # still asking: answers may be partial or unparsed, and nothing needs derived values yet
        errors = answer_errors(context)
        if errors:
            raise InvalidAnswer(errors[0])
        cost_tracking, corporate_proxy = bool(context["cost_tracking"]), bool(context["corporate_proxy"])
        pattern = derive_pattern(cost_tracking, corporate_proxy)
        reason = pattern_reason(cost_tracking, corporate_proxy)
        # The pattern is always derived here, so a `--data pattern=...` can never make it diverge.
        context["pattern"] = pattern
        context["pattern_info"] = PATTERNS[pattern]
        context["pattern_reason"] = reason
        context["pattern_summary"] = pattern_summary(pattern, reason)
        context["provider"] = context["providers"][0] if context["providers"] else ""
        context["provider_name"] = PROVIDER_NAMES.get(context["provider"], "")
        context["provider_names"] = [PROVIDER_NAMES.get(p, p) for p in context["providers"]]
        context["credential_hint"] = (GATEWAY_CREDENTIAL_HINT if cost_tracking
                                      else CREDENTIAL_HINTS.get(context["provider"], ""))
        # Whether this repository carries the gateway side (file and folder names test it).
        context["gateway_files"] = pattern == "C" or (pattern == "D" and bool(context.get("deploy_gateway", True)))
        context["next_steps"] = next_steps(context)
        provider = context["provider"]
        if provider and all(f"{provider}_{tier}_model" in context for tier in TIERS):
            context["client_env"] = client_env(context)
            context["client_env_forbidden"] = client_env_forbidden(context)
            context["client_settings"] = client_settings(context, context["client_env"])
            context["ci_doctor_setup"] = ci_doctor_setup(context)
            if corporate_proxy:
                proxy = urlsplit(context["proxy_url"])
                context["proxy_scheme"] = proxy.scheme
                context["proxy_hostport"] = proxy.netloc
                context["proxy_auth"] = bool(context.get("proxy_username"))
                context["egress_hosts"] = egress_hosts(context)
                if cost_tracking:
                    context["gateway_egress_hosts"] = gateway_egress_hosts(context)
                    context["gateway_proxy_env"] = gateway_proxy_env(context)
                context["no_proxy_list_value"] = ",".join(no_proxy_list(context))
            if cost_tracking:
                context["gateway_url_value"] = gateway_url(context)
                context["gateway_model_list"] = gateway_model_list(context)
                context["gateway_model_names"] = [context[f"anthropic_{tier}_model"] for tier in TIERS]
                context["gateway_env_vars"] = gateway_env_vars(context)
                context["compose_port"] = compose_port(context)
                context["gateway_local_url"] = gateway_local_url(context)
                context["router_settings"] = ROUTER_SETTINGS
                context["litellm_version"] = LITELLM_VERSION
                context["prometheus_client_version"] = PROMETHEUS_CLIENT_VERSION
                context["litellm_image"] = LITELLM_IMAGE
                context["postgres_image"] = POSTGRES_IMAGE
                context["redis_image"] = REDIS_IMAGE
                context["provider_order"] = provider_order(context)
                context["gateway_uses_redis"] = context.get("gateway_workers", 1) > 1
            endpoint = provider_endpoint(context)
            context["endpoint"] = endpoint
            context["endpoint_name"] = "gateway" if cost_tracking else "provider"
            context["settings_conflicts"] = [v.name for v in context["client_env_forbidden"]] + [
                v.name for v in context["client_env"] if v.with_proxy_credentials]
            context["endpoint_url"] = next((v.value for v in context["client_env"] if v.name == endpoint.variable),
                                           endpoint.default)


def rename_answers(answers_file: Path) -> list[str]:
    """Rename RENAMED_ANSWERS keys in a project's answers file in place, keeping every other line as it is.
    Returns what was renamed. Refuses (ValueError) when the old and the new name both hold different values."""
    text = answers_file.read_text()
    before = yaml.safe_load(text) or {}
    renamed, lines = [], text.splitlines(keepends=True)
    for old, (new, _release) in RENAMED_ANSWERS.items():
        if old not in before:
            continue
        if new in before and before[new] != before[old]:
            raise ValueError(f"{answers_file}: both {old} ({before[old]!r}) and {new} ({before[new]!r}) are set; "
                             f"keep the right value under {new}, delete {old}, then update again")
        # Top-level keys start a line (copier writes the file with to_nice_yaml); a value's continuation lines
        # are indented and stay with it.
        start = next(i for i, line in enumerate(lines) if line.startswith(f"{old}:"))
        end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "\t", "\n", "")),
                   len(lines))
        if new in before:
            del lines[start:end]
        else:
            lines[start] = new + lines[start][len(old):]
        renamed.append(f"{old} -> {new}")
    if renamed:
        after = yaml.safe_load("".join(lines))
        expected = {RENAMED_ANSWERS.get(k, (k,))[0]: v for k, v in before.items()}
        if after != expected:  # never write a damaged answers file
            raise ValueError(f"{answers_file}: renaming {', '.join(renamed)} would change other answers; "
                             f"rename by hand and update again")
        answers_file.write_text("".join(lines))
    return renamed


def main(argv: list[str]) -> int:
    """`python extensions/context.py rename-answers ANSWERS_FILE`: the step `_migrations` runs on copier update."""
    if len(argv) != 2 or argv[0] != "rename-answers":
        print("usage: context.py rename-answers ANSWERS_FILE", file=sys.stderr)
        return 2
    try:
        renamed = rename_answers(Path(argv[1]))
    except ValueError as error:
        print(f"migration: {error}", file=sys.stderr)
        return 1
    for change in renamed:
        print(f"migration: renamed the answer {change} in {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
