"""What Claude Code gets on developer machines: its environment (the single source of client/env.sh, env.ps1,
settings.json and the variables table of docs/setup.md), the variables that must not be set, and client/settings.json."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from . import apps_gateway, engines, telemetry
from .common import split_hosts
from .gateway import gateway_url
from .providers import REGISTRY, TIERS
from .records import Answers, EnvVar, ForbiddenVar
from .versions import CLAUDE_CODE_VERSION

_TIER_DOCS = {"opus": "Opus-tier model (the default model of `claude -p`).", "sonnet": "Sonnet-tier model.",
              "haiku": "Haiku-tier model; also used for background work."}


def model_pins(answers: Answers, provider: str) -> list[EnvVar]:
    return [EnvVar(f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL", answers[REGISTRY[provider].model_question(tier)],
                   f"{_TIER_DOCS[tier]} Pinned so Claude Code sends an id the provider knows.") for tier in TIERS]


def _nonessential_traffic(answers: Answers) -> list[EnvVar]:
    if not answers.get("disable_nonessential_traffic"):
        return []
    return [EnvVar("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1",
                   "No error reporting, update checks or Anthropic's own operational telemetry (locked-down networks; "
                   "the usage telemetry to your collector is not affected).")]


def client_env(answers: Answers) -> list[EnvVar]:
    """The variables Claude Code needs for this pattern, in the order env.sh and settings.json list them.
    A provider's base URL only ever appears together with its CLAUDE_CODE_USE_* flag (without the flag
    Claude Code ignores it and silently talks to the Anthropic API)."""
    if engines.runs_apps_gateway(answers):
        env = apps_gateway.client_env(answers) + _nonessential_traffic(answers)
    elif answers.get("cost_tracking"):
        env = gateway_client_env(answers)
    else:
        env = direct_client_env(answers)
    return env + telemetry.client_env(answers) + proxy_env(answers) + ca_env(answers)


def direct_client_env(answers: Answers) -> list[EnvVar]:
    provider = answers["providers"][0]
    return REGISTRY[provider].client_env(answers) + model_pins(answers, provider) + _nonessential_traffic(answers)


def gateway_client_env(answers: Answers) -> list[EnvVar]:
    """Claude Code behind the gateway: Anthropic format to the gateway URL, the gateway's model names pinned."""
    env = [EnvVar("ANTHROPIC_BASE_URL", gateway_url(answers), "The LiteLLM gateway (without /v1)."),
           EnvVar("ANTHROPIC_API_KEY", "", "Empty on purpose: the gateway key goes in ANTHROPIC_AUTH_TOKEN "
                                           "(or the apiKeyHelper); both at once conflict.")]
    env += model_pins(answers, "anthropic")
    env.append(EnvVar("DISABLE_AUTOUPDATER", "1",
                      f"Claude Code stays at {CLAUDE_CODE_VERSION}, the version this gateway is tested with "
                      f"(versions.env): a newer CLI can send what the gateway rejects. Bump both together."))
    bridged = [REGISTRY[p].name for p in answers["providers"] if REGISTRY[p].rejects_new_betas]
    if bridged:
        env.append(EnvVar("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS", "1",
                          f"The gateway bridges to {' and '.join(bridged)}: new beta fields get HTTP 400 there "
                          f"(Claude Code works around that only when it talks to the provider directly)."))
    return env + _nonessential_traffic(answers)


def proxy_env(answers: Answers) -> list[EnvVar]:
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
    return env


def ca_env(answers: Answers) -> list[EnvVar]:
    """A private root CA (the proxy's TLS inspection, the gateway's own certificate, or both in one PEM file)."""
    if not answers.get("corporate_ca_cert") or not (answers.get("corporate_proxy") or answers.get("cost_tracking")):
        return []
    trusted_for = " and ".join(what for what, applies in (
        ("the proxy's TLS inspection", answers.get("corporate_proxy")),
        ("the gateway's certificate", answers.get("cost_tracking"))) if applies)
    return [EnvVar("NODE_EXTRA_CA_CERTS", answers["corporate_ca_cert"],
                   f"Private root CA (PEM) for {trusted_for}; added to the public roots.")]


def no_proxy_list(answers: Answers, extra: tuple[str, ...] = ()) -> list[str]:
    """Loopback always, then `extra`, the user's hosts, the telemetry collector's and (Pattern D, unless the gateway is reached through the
    proxy) the gateway's host, each once."""
    hosts = ["localhost", "127.0.0.1", "::1"]
    wanted = list(extra) + split_hosts(answers.get("no_proxy_hosts")) + [telemetry.collector_host(answers)]
    if answers.get("cost_tracking") and not answers.get("gateway_via_proxy"):
        wanted.append(urlsplit(gateway_url(answers)).hostname or "")
    for host in wanted:
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def client_settings(answers: Answers, env: list[EnvVar]) -> dict[str, Any]:
    """client/settings.json: what client/install.sh merges into ~/.claude/settings.json (and owns)."""
    settings: dict[str, Any] = {"$schema": "https://json.schemastore.org/claude-code-settings.json"}
    if engines.runs_litellm(answers) and answers.get("client_auth") == "api_key_helper":
        settings["apiKeyHelper"] = answers["api_key_helper"]
    if engines.runs_apps_gateway(answers):
        settings.update(apps_gateway.client_settings_keys(answers))
    settings.update(telemetry.client_settings_keys(answers))
    settings["env"] = {var.name: var.value for var in env if not var.with_proxy_credentials}
    return settings


_NEVER = ForbiddenVar("NODE_TLS_REJECT_UNAUTHORIZED", "it switches off certificate checks; trust a corporate CA "
                                                       "with NODE_EXTRA_CA_CERTS (corporate_ca_cert) instead")


def client_env_forbidden(answers: Answers) -> list[ForbiddenVar]:
    """Variables that, if set anyway, silently send Claude Code somewhere this pattern does not intend (or switch
    off what keeps it safe)."""
    if engines.runs_apps_gateway(answers):
        return apps_gateway_forbidden() + [_NEVER]
    if answers.get("cost_tracking"):  # Anthropic format to the gateway, whatever the gateway calls upstream
        return [ForbiddenVar(p.use_flag, f"it makes Claude Code bypass the gateway for {p.name}")
                for p in REGISTRY.values() if p.use_flag] + [_NEVER]
    return direct_client_forbidden(answers) + [_NEVER]


def direct_client_forbidden(answers: Answers) -> list[ForbiddenVar]:
    provider = REGISTRY[answers["providers"][0]]
    rendered = {var.name for var in client_env(answers)}
    forbidden = [ForbiddenVar(other.use_flag, f"it switches Claude Code to {other.name}")
                 for other in REGISTRY.values() if other.use_flag and other is not provider]
    for var in (provider.base_url_var, *provider.endpoint_vars):
        if var not in rendered:
            forbidden.append(ForbiddenVar(var, f"it would send {provider.name} traffic to another endpoint"))
    if provider.skip_auth_var:
        forbidden.append(ForbiddenVar(provider.skip_auth_var, "it stops Claude Code signing its requests (right "
                                                              "only behind a gateway)"))
    return forbidden


def apps_gateway_forbidden() -> list[ForbiddenVar]:
    """Signed in to the Claude apps gateway, a key or an endpoint variable would take Claude Code around it."""
    bypass = "it makes Claude Code use a key or endpoint of its own instead of the gateway sign-in"
    return ([ForbiddenVar(name, bypass) for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")]
            + [ForbiddenVar("CLAUDE_CODE_USE_GATEWAY", "it reaches the gateway without signing in, and Claude Code "
                                                       "then never fetches the gateway's managed settings")]
            + [ForbiddenVar(p.use_flag, f"it makes Claude Code bypass the gateway for {p.name}")
               for p in REGISTRY.values() if p.use_flag])
