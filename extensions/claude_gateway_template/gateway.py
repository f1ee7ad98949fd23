"""The LiteLLM gateway (Patterns C and D): pinned versions, the model list, gateway/.env's variables, URLs."""

from __future__ import annotations

from typing import Any

from .checks import default_gateway_url
from .common import bracketed
from .providers import REGISTRY, TIERS
from .records import Answers, GatewayVar

# The image tag follows LiteLLM's release tag scheme for the pip version the tests run; the image itself cannot
# be pulled from the test machines. The 1.108.x (LTS) release notes verify `ghcr.io/berriai/litellm:v1.108.N`,
# "same command for litellm-database": the tag is the version with a v, no `-stable` suffix (that suffix belonged
# to older release lines; `v1.108.7-stable` is not a published tag).
LITELLM_VERSION = "1.108.7"  # 1.107.0 was a compromised release; 1.109/1.110 do not install cleanly
PROMETHEUS_CLIENT_VERSION = "0.26.0"  # needed by the prometheus callback, not pulled in by litellm[proxy]
# Database mode without the image (the process runtime): the Prisma client LiteLLM 1.108.7 works with (0.15 fails:
# "'Prisma' object has no attribute '_Prisma__engine'"; litellm[extra_proxy] would allow it), and nodeenv, which
# it uses to run Prisma's CLI where no Node.js is installed.
PRISMA_VERSION = "0.11.0"
NODEENV_VERSION = "1.12.0"
LITELLM_IMAGE = f"ghcr.io/berriai/litellm:v{LITELLM_VERSION}"
# With a spend database: the variant LiteLLM builds for it (Prisma's engines generated in the image).
LITELLM_DATABASE_IMAGE = f"ghcr.io/berriai/litellm-database:v{LITELLM_VERSION}"


# new-key.sh names whom to ask in each key's alias, "<developer> (more budget: <contact>)": LiteLLM puts the alias in
# its "Budget has been exceeded! Key=..." refusal; usage-report.sh cuts the part off again to show the developer.
KEY_ALIAS_CONTACT = " (more budget: "
DEFAULT_CONTACT = "the team that runs your gateway"


# The header LiteLLM 1.108.7 reads as the end user without any configuration (STANDARD_CUSTOMER_ID_HEADERS, checked
# before the body's metadata.user_id, which Claude Code fills with a per-session blob). client/env.sh sends it
# through ANTHROPIC_CUSTOM_HEADERS; with `enable_end_user_cost_tracking_prometheus_only` the metrics carry it.
END_USER_HEADER = "x-litellm-end-user-id"
# LiteLLM drops an end user's metric series after an hour without requests (its default TTL): the counters since
# the gateway started, which usage-report.sh shows, would lose an idle developer. 30 days instead; the series count
# stays capped (LiteLLM's default, 10,000 per metric).
END_USER_METRICS_TTL_SECONDS = 30 * 86400


def budget_contact(answers: Answers) -> str:
    return answers.get("budget_contact") or DEFAULT_CONTACT


def key_alias_suffix(answers: Answers) -> str:
    return f"{KEY_ALIAS_CONTACT}{budget_contact(answers)})"


def litellm_image(answers: Answers) -> str:
    return LITELLM_DATABASE_IMAGE if answers.get("spend_database") else LITELLM_IMAGE
POSTGRES_IMAGE = "postgres:16.6-alpine"
REDIS_IMAGE = "redis:7.4.1-alpine"
# Long Claude Code turns stream for minutes: anything under 600 s cuts them off.
ROUTER_SETTINGS = {"num_retries": 2, "allowed_fails": 3, "cooldown_time": 30, "timeout": 600, "stream_timeout": 600}


def selected(answers: Answers) -> list:
    """The chosen providers' records, in the registry's order."""
    return [provider for key, provider in REGISTRY.items() if key in answers["providers"]]


def gateway_url(answers: Answers) -> str:
    url = answers.get("gateway_url") or default_gateway_url(answers["gateway_bind"], answers["gateway_port"])
    return url.rstrip("/")


def gateway_in_repo(pattern: str, answers: Answers) -> bool:
    """Whether this repository carries the gateway side (file and folder names test it)."""
    return pattern == "C" or (pattern == "D" and bool(answers.get("deploy_gateway", True)))


def provider_order(answers: Answers) -> list[str]:
    """The primary provider first, then the others in the order the user listed them."""
    providers = list(answers["providers"])
    primary = answers.get("primary_provider") if answers.get("primary_provider") in providers else providers[0]
    return [primary] + [p for p in providers if p != primary]


def gateway_model_list(answers: Answers) -> list[dict[str, Any]]:
    """One model group per id Claude Code sends (the pinned anthropic_* ids), each with one deployment per
    provider. With several providers each deployment gets an `order` (1 = primary): LiteLLM routes to the lowest
    order that is not failing and falls through to the next order when it fails, inside the same group, so
    clients and /v1/models see only the three names."""
    order = provider_order(answers)
    model_list = []
    for tier in TIERS:
        for rank, key in enumerate(order, start=1):
            provider = REGISTRY[key]
            params = provider.litellm_params(answers, answers[provider.model_question(tier)])
            if len(order) > 1:
                params["order"] = rank
            model_list.append({"model_name": answers[f"anthropic_{tier}_model"], "litellm_params": params})
    return model_list


def gateway_env_vars(answers: Answers) -> list[GatewayVar]:
    """Everything gateway/.env may hold, for init-secrets.sh and .env.example."""
    variables = [
        GatewayVar("LITELLM_MASTER_KEY",
                   "Admin key of the gateway (sk-...). Full control: never hand it to developers.", True),
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
    for provider in selected(answers):
        variables += provider.gateway_env(answers)
    return variables


def gateway_local_url(answers: Answers) -> str:
    """Where the gateway answers on its own host (a wildcard bind is reached on loopback)."""
    bind = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(str(answers["gateway_bind"]), str(answers["gateway_bind"]))
    return f"http://{bracketed(bind)}:{answers['gateway_port']}"


def compose_port(answers: Answers) -> str:
    return f"{bracketed(str(answers['gateway_bind']))}:{answers['gateway_port']}:4000"
