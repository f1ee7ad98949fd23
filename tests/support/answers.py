"""TEST SUPPORT: complete answer sets as copier builds them, read from copier.yml (never copied by hand): every
question with its default, Jinja defaults rendered with the answers before them and the template's own helpers, cast
to the question's type."""

from __future__ import annotations

import functools
from typing import Any

import jinja2
import yaml
from claude_gateway_template import checks
from claude_gateway_template.providers import REGISTRY
from claude_gateway_template.providers.base import asked_by
from environment import REPO_ROOT

# Values for the questions whose default is not a valid answer where they apply (a required project id, a resource
# name, the proxy URL).
REQUIRED_FILLERS = {"gcp_project_id": "my-team-prod", "foundry_resource": "my-foundry",
                    "anthropic_aws_workspace_id": "wrkspc_aws1", "anthropic_google_cloud_project": "my-team-prod",
                    "anthropic_google_cloud_workspace_id": "wrkspc_gc1",
                    "proxy_url": "http://proxy.example.com:8080", "oidc_issuer": "https://login.example.com",
                    "otel_endpoint": "https://otel.example.com:4318"}
# Answers under which every question applies: both decisions yes, every provider, the helper command, customised
# models; and what another answer must be for one to be valid (Foundry takes a resource or a URL, not both).
# (Every provider LiteLLM can call: the others' answers apply under APPS_GATEWAY_APPLIES.)
LITELLM_PROVIDERS = [key for key, p in REGISTRY.items() if "litellm" not in p.unsupported_engines]
EVERY_ANSWER_APPLIES = {"cost_tracking": True, "corporate_proxy": True, "providers": LITELLM_PROVIDERS,
                        "customize_models": True, "client_auth": "api_key_helper",
                        "api_key_helper": "vault kv get -field=key secret/gw",
                        "proxy_url": "http://proxy.example.com:8080", "proxy_username": "alice",
                        "corporate_ca_cert": "/etc/ssl/corp-root.pem", "usage_telemetry": True,
                        "otel_header": "Authorization", **REQUIRED_FILLERS}
# The other engine's answers apply under these (gateway_engine=claude_apps_gateway, deployed from the repository).
APPS_GATEWAY_APPLIES = {**EVERY_ANSWER_APPLIES, "gateway_engine": "claude_apps_gateway", "gateway_runtime": "process",
                        "providers": list(REGISTRY),
                        "oidc_allowed_groups": "engineering", "oidc_admin_groups": "platform"}
_ONLY_APPS_GATEWAY = {"gateway_engine": "claude_apps_gateway", "gateway_runtime": "process",
                      "providers": list(REGISTRY)}
VALID_TOGETHER = {"foundry_base_url": {"foundry_resource": ""},
                  **{q: _ONLY_APPS_GATEWAY for key, p in REGISTRY.items() if key not in LITELLM_PROVIDERS
                     for q in p.questions}}
_CAST = {"bool": lambda v: v if isinstance(v, bool) else str(v).strip().lower() in ("true", "yes", "1", "on"),
         "int": int, "str": str, "yaml": lambda v: yaml.safe_load(v) if isinstance(v, str) else v}


@functools.cache
def questions() -> dict[str, dict]:
    """copier.yml's questions, in order (the settings starting with _ left out)."""
    data = yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))
    return {name: spec for name, spec in data.items() if not name.startswith("_") and isinstance(spec, dict)}


def copier_environment() -> jinja2.Environment:
    """A Jinja environment with the globals copier.yml's defaults, `when`s and helps call (extensions/context.py)."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.globals.update(default_model=lambda provider, tier, region="": REGISTRY[provider].default_model(
        tier, region), default_gateway_url=checks.default_gateway_url, asked_by=asked_by)
    return environment


def complete_answers(**overrides: Any) -> dict[str, Any]:
    """Answers as copier passes them after asking with --defaults: each question's default (rendered with the
    answers before it, as copier does), REQUIRED_FILLERS for the required ones, then `overrides`."""
    environment = copier_environment()
    answers: dict[str, Any] = {}
    for name, spec in questions().items():
        if name in overrides:
            answers[name] = overrides[name]
            continue
        default = REQUIRED_FILLERS.get(name, spec.get("default", ""))
        if isinstance(default, str) and "{{" in default:
            default = environment.from_string(default).render(**answers)
            default = _CAST.get(spec.get("type", "str"), str)(default)
        answers[name] = default
    answers.update(overrides)
    return answers
