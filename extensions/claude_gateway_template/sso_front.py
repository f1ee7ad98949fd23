"""LiteLLM behind the Claude apps gateway (gateway_engine=claude_apps_gateway_with_litellm): developers sign in to the
Claude apps gateway (the front); its one upstream is LiteLLM on this host's loopback, which calls the providers.

The front forwards who signed in (checked with the pinned 2.1.332 and LiteLLM 1.108.7): an upstream `provider:
anthropic` with `forward_user_identity: true` sends `x-litellm-end-user-id: <email>`, `x-claude-gateway-user-id`
and `x-claude-gateway-user-email`, and drops the identity headers a client sends (`x-litellm-end-user-id`,
`x-litellm-customer-id`, `x-litellm-api-key`, `x-litellm-tags`, `x-claude-gateway-*`). LiteLLM takes the end user
from those headers before the body's `user`, so the signed-in email is LiteLLM's end user on every request: in its
spend database and its Prometheus metrics.

The front's key at LiteLLM: with spend_database, a virtual key of its own (LITELLM_FRONT_KEY: a random value
init-secrets.sh writes offline; scripts/sync-access.sh registers it at the running LiteLLM, restricted to the
inference routes and the three model names). Without a database LiteLLM has no virtual keys: the front sends the
master key, which is safe only because LiteLLM listens on loopback, reachable from the front's host alone."""

from __future__ import annotations

from typing import Any

from .records import Answers, GatewayVar

UPSTREAM_NAME = "litellm"
LITELLM_BIND = "127.0.0.1"  # reachable from the front only (the process runtime: the same host)
FRONT_KEY = "LITELLM_FRONT_KEY"
MASTER_KEY = "LITELLM_MASTER_KEY"
FRONT_KEY_ALIAS = "claude-apps-gateway-front"
# What the front's key may call at LiteLLM: inference only, never the admin API (keys, users, spend).
FRONT_KEY_ROUTES = ("/v1/messages", "/v1/messages/count_tokens", "/v1/models")
# The front runs on the same host as LiteLLM and calls it on loopback, which the gateway refuses unless this is set
# (its guard against metadata endpoints: "a loopback sidecar"). It cannot be combined with
# CLAUDE_GATEWAY_PROXY_IS_EGRESS_BOUNDARY (the gateway says so and ignores that one).
ALLOW_LOOPBACK = {"CLAUDE_GATEWAY_ALLOW_LOOPBACK": "1"}


def litellm_port(answers: Answers) -> int:
    """LiteLLM's port: the one after the front's (the rules keep it a valid port)."""
    return int(answers["gateway_port"]) + 1


def litellm_url(answers: Answers) -> str:
    """Where the front calls LiteLLM. On Kubernetes: LiteLLM's Service by its cluster DNS name (its NetworkPolicy
    admits the front's pods only). Checked with the pinned 2.1.332 (`claude gateway`, 2026-12-07): the front takes
    such an upstream as it is, with no CLAUDE_GATEWAY_ALLOW_LOOPBACK. Its config check refuses only a base_url at a
    metadata endpoint (169.254.169.254: "base_url targets a metadata endpoint"), and at request time it refuses
    only loopback, link-local and metadata addresses: a `*.svc` name booted and was looked up (ENOTFOUND off-cluster),
    and upstreams at 10.x, 172.16-31.x, 192.168.x and 100.64.x were called."""
    if answers.get("gateway_runtime") == "kubernetes":
        from . import gateway

        return f"http://{gateway.KUBERNETES_NAME}.{gateway.KUBERNETES_NAMESPACE}.svc:{gateway.KUBERNETES_PORT}"
    return f"http://{LITELLM_BIND}:{litellm_port(answers)}"


def front_environment(answers: Answers) -> dict[str, str]:
    """The front's own environment for the wiring: ALLOW_LOOPBACK where LiteLLM is on its loopback, nothing on
    Kubernetes (LiteLLM is a Service there; loopback stays refused)."""
    return {} if answers.get("gateway_runtime") == "kubernetes" else dict(ALLOW_LOOPBACK)


def litellm_host(answers: Answers) -> str:
    """The host of litellm_url: the front reaches it directly, never through a corporate proxy (NO_PROXY)."""
    return litellm_url(answers).split("://", 1)[1].rsplit(":", 1)[0]


def front_key_var(answers: Answers) -> str:
    """The gateway/.env variable the front sends to LiteLLM as its x-api-key."""
    return FRONT_KEY if answers.get("spend_database") else MASTER_KEY


def upstream(answers: Answers) -> dict[str, Any]:
    """The front's one upstream: LiteLLM, with the signed-in developer's identity on every request."""
    return {"name": UPSTREAM_NAME, "provider": "anthropic", "base_url": litellm_url(answers),
            "forward_user_identity": True, "auth": {"api_key": "${" + front_key_var(answers) + "}"}}


def env_vars(answers: Answers) -> list[GatewayVar]:
    """What gateway/.env holds for the wiring (LiteLLM's own variables come from gateway.py)."""
    if not answers.get("spend_database"):
        return []
    return [GatewayVar(FRONT_KEY, "The Claude apps gateway's key at LiteLLM (sk-...): scripts/sync-access.sh "
                                  "registers it, restricted to inference. Only the front holds it.", True)]
