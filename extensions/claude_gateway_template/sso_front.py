"""LiteLLM behind the Claude apps gateway (gateway_engine=claude_apps_gateway_with_litellm): developers sign in to the
Claude apps gateway (the front); its one upstream is LiteLLM, reachable from the front alone (this host's loopback, a
compose network of their own, or a Service whose NetworkPolicy admits the front's pods only), which calls the
providers.

The front forwards who signed in (checked with the pinned 2.1.332 and LiteLLM 1.108.7): an upstream `provider:
anthropic` with `forward_user_identity: true` sends `x-litellm-end-user-id: <email>`, `x-claude-gateway-user-id`
and `x-claude-gateway-user-email`, and drops the identity headers a client sends (`x-litellm-end-user-id`,
`x-litellm-customer-id`, `x-litellm-api-key`, `x-litellm-tags`, `x-claude-gateway-*`). LiteLLM takes the end user
from those headers before the body's `user`, so the signed-in email is LiteLLM's end user on every request: in its
spend database and its Prometheus metrics.

The front's key at LiteLLM: with spend_database, a virtual key of its own (LITELLM_FRONT_KEY: a random value
init-secrets.sh writes offline; scripts/sync-access.sh registers it at the running LiteLLM, restricted to the
inference routes and the three model names). Without a database LiteLLM has no virtual keys: the front sends the
master key, which is safe only because LiteLLM listens on loopback, reachable from the front's host alone.

In docker compose (gateway_runtime=docker) LiteLLM runs in its pinned image beside the front's, publishes no port and
sits on a compose network it shares with the front alone (its Postgres on an internal network of its own): the front
calls it by its service name. The admin scripts reach it with `docker compose exec` (see COMPOSE_SCRIPTS)."""

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


# docker compose (gateway_runtime=docker): LiteLLM's service, the port it listens on in its container (as in LiteLLM's
# own compose file), and the networks. The front calls http://litellm:4000. Checked with the pinned 2.1.332 binary
# (2026-12-07): its config check refuses a base_url on loopback (127/8, ::1, localhost), link-local (169.254/16, the
# cloud metadata address), 0/8 and the cloud metadata names and addresses as "base_url targets a metadata endpoint"
# (unless CLAUDE_GATEWAY_ALLOW_LOOPBACK, for loopback only); a compose service name (`litellm`, which does not even
# resolve at config time) and RFC 1918 addresses (10/8, 172.16/12 and 192.168/16, where compose networks live) pass.
# Read in its code, not run: an address a hostname resolves to goes through the same check. So no
# CLAUDE_GATEWAY_ALLOW_LOOPBACK in containers: the front reaches LiteLLM on the compose network's private address.
COMPOSE_SERVICE = "litellm"
COMPOSE_PORT = 4000
COMPOSE_DATABASE_SERVICE = "litellm-postgres"
COMPOSE_NETWORK = "litellm"                      # the front and LiteLLM, nothing else
COMPOSE_DATABASE_NETWORK = "litellm-database"    # LiteLLM and its Postgres; internal: no way out
COMPOSE_DATABASE = "litellm"                     # its database and user
# Not POSTGRES_PASSWORD: the front's Postgres in the same compose file has that one.
COMPOSE_POSTGRES_PASSWORD = "LITELLM_POSTGRES_PASSWORD"
# Where the LiteLLM container sees this repository's scripts/lib (read-only): scripts/sync-access.sh and
# scripts/usage-report.sh run their Python there with `docker compose exec`, since nothing on the host reaches LiteLLM.
COMPOSE_SCRIPTS = "/opt/claude-gateway/scripts/lib"


def on_compose(answers: Answers) -> bool:
    """LiteLLM and the front run in docker compose (gateway_runtime=docker)."""
    return answers.get("gateway_runtime") == "docker"


def litellm_url(answers: Answers) -> str:
    """Where the front calls LiteLLM: this host's loopback (process), its compose service (see above), or on
    Kubernetes LiteLLM's Service by its cluster DNS name (its NetworkPolicy admits the front's pods only). Checked
    with the pinned 2.1.332 (`claude gateway`, 2026-12-07): the front takes a Service name as it is, with no
    CLAUDE_GATEWAY_ALLOW_LOOPBACK; at request time it refuses only loopback, link-local and metadata addresses: a
    `*.svc` name booted and was looked up (ENOTFOUND off-cluster), and upstreams at 10.x, 172.16-31.x, 192.168.x and
    100.64.x were called."""
    if on_compose(answers):
        return f"http://{COMPOSE_SERVICE}:{COMPOSE_PORT}"
    if answers.get("gateway_runtime") == "kubernetes":
        from . import gateway

        return f"http://{gateway.KUBERNETES_NAME}.{gateway.KUBERNETES_NAMESPACE}.svc:{gateway.KUBERNETES_PORT}"
    return f"http://{LITELLM_BIND}:{litellm_port(answers)}"


def front_environment(answers: Answers) -> dict[str, str]:
    """The front's own environment for the wiring: ALLOW_LOOPBACK only where LiteLLM is on its loopback (the
    process runtime); in compose and on Kubernetes LiteLLM is a service on a private address, and loopback stays
    refused."""
    return dict(ALLOW_LOOPBACK) if answers.get("gateway_runtime") not in ("docker", "kubernetes") else {}


def litellm_host(answers: Answers) -> str:
    """The host of litellm_url: the front reaches it directly, never through a corporate proxy (NO_PROXY)."""
    return litellm_url(answers).split("://", 1)[1].rsplit(":", 1)[0]


def litellm_env_vars(answers: Answers, variables: list[GatewayVar]) -> list[GatewayVar]:
    """LiteLLM's gateway/.env variables (gateway.gateway_env_vars) as this topology needs them: in compose its Postgres
    password has a name of its own and no DATABASE_URL (compose sets it; no LiteLLM runs on the host)."""
    if not (on_compose(answers) and answers.get("spend_database")):
        return variables
    own = GatewayVar(COMPOSE_POSTGRES_PASSWORD, "Password of LiteLLM's Postgres user (its own Postgres in the compose "
                                                "file, reached by LiteLLM alone).", True)
    return [own if var.name == "POSTGRES_PASSWORD" else var for var in variables if var.name != "DATABASE_URL"]


def compose_context(answers: Answers) -> dict[str, Any]:
    """What gateway/docker-compose.yml and the admin scripts place for LiteLLM behind the front in compose."""
    if not on_compose(answers):
        return {}
    return {"service": COMPOSE_SERVICE, "port": COMPOSE_PORT, "url": litellm_url(answers),
            "database_service": COMPOSE_DATABASE_SERVICE, "network": COMPOSE_NETWORK,
            "database_network": COMPOSE_DATABASE_NETWORK, "database": COMPOSE_DATABASE,
            "postgres_password_var": COMPOSE_POSTGRES_PASSWORD, "scripts": COMPOSE_SCRIPTS,
            "local_url": f"http://127.0.0.1:{COMPOSE_PORT}"}


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
