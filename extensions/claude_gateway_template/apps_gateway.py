"""The Claude apps gateway (gateway_engine=claude_apps_gateway): Anthropic's gateway inside the Claude Code binary we
pin, `claude gateway --config gateway/claude-apps-gateway.yaml`. Developers sign in with the company's OIDC identity
provider from Claude Code's /login; the gateway holds the provider credentials (upstreams), meters spend in Postgres
and serves Claude Code managed settings.

The config has no include mechanism: every `${NAME}` in a string value is replaced from the environment after parsing
(an unset NAME fails the boot), which is how secrets stay in gateway/.env and never in the file. Answers that would
contain `${` are refused (checks.text_error)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from . import engines, sso_front, telemetry, versions
from .common import bracketed, split_list
from .gateway import budget_contact, gateway_local_url, gateway_url, provider_order, selected
from .providers import REGISTRY, TIERS
from .records import Answers, EnvVar, GatewayVar
from .versions import CLAUDE_CODE_VERSION

CONFIG_FILE = "gateway/claude-apps-gateway.yaml"
# Groups' models and policies from gateway/access.yaml (written by scripts/sync-access.sh, committed with it); the
# gateway has no include, so gateway/run-local.sh merges it into the config above at each start
# (scripts/lib/apps_gateway_config.py), into EFFECTIVE_CONFIG_FILE (gitignored; under systemd in its StateDirectory).
ACCESS_FRAGMENT_FILE = "gateway/claude-apps-gateway.access.yaml"
EFFECTIVE_CONFIG_FILE = "gateway/claude-apps-gateway.effective.yaml"
# The gateway's own defaults and limits (the 2.1.332 binary's config schema).
DEFAULT_SESSION_TTL_HOURS = 1
MAX_SESSION_TTL_HOURS = 720
DRAIN_SECONDS = 25  # SIGTERM drains this long (CLAUDE_GATEWAY_DRAIN_TIMEOUT_MS); a service manager must wait longer
STOP_TIMEOUT_SECONDS = 40
# The systemd unit's assumptions about the gateway host (docs/claude-apps-gateway.md: edit them to match yours).
INSTALL_DIR = "/opt/claude-apps-gateway"  # this repository, checked out on the gateway host
SERVICE_USER = "claude-gateway"           # a system user without a login, owner of gateway/.env
# `offline_access` asks the IdP for a refresh token: without it a session ends after ttl_hours and /login is needed.
OIDC_SCOPES = ("openid", "email", "profile", "offline_access")
# The user id the gateway keys sessions, spend and user spend limits by. The email, not the IdP's opaque `sub`
# (Okta 00u..., Entra object ids), so that gateway/access.yaml names people as everyone knows them; checked live
# with 2.1.332: with `sub`, a limit keyed by the email is listed but never enforced. The trade-off: an email change
# is a new user (new spend history, and the old limit no longer applies), stated in docs/claude-apps-gateway.md.
USER_ID_CLAIM = "email"
SECRET_BYTES = 32  # hex: 64 characters (the schema wants at least 32)
# The variables of gateway/.env that the config names as ${NAME}.
SESSION_SECRET = "GATEWAY_SESSION_SECRET"
ADMIN_READ_KEY = "GATEWAY_ADMIN_READ_KEY"
ADMIN_WRITE_KEY = "GATEWAY_ADMIN_WRITE_KEY"
# scripts/sync-access.sh's own write key: --prune removes only limits whose last change was made by it (the audit
# log's actor is admin-key:<id>), so limits set by hand with the other write key are never touched.
ACCESS_SYNC_KEY = "GATEWAY_ACCESS_SYNC_KEY"
ACCESS_SYNC_KEY_ID = "access-sync"
OIDC_CLIENT_SECRET = "OIDC_CLIENT_SECRET"
DATABASE_URL = "APPS_GATEWAY_DATABASE_URL"  # not LiteLLM's DATABASE_URL: each engine its own database
POSTGRES_PASSWORD = "POSTGRES_PASSWORD"
# The compose file's Postgres (gateway_runtime=docker): its database and user.
COMPOSE_DATABASE = "claude_gateway"
TLS_CERT = "GATEWAY_TLS_CERT"
TLS_KEY = "GATEWAY_TLS_KEY"
# In a container (gateway_runtime docker or kubernetes; gateway/Dockerfile): the gateway listens on all of the
# container's addresses on this unprivileged port (compose publishes it on gateway_bind:gateway_port; on Kubernetes
# the Service and the Ingress reach it), runs as this non-root user with a writable HOME, and reads its config and TLS
# files at these paths.
CONTAINER_PORT = 8080
CONTAINER_UID = 10001
CONTAINER_USER = "claude-gateway"
CONTAINER_HOME = "/home/claude-gateway"
CONTAINER_CONFIG_DIR = "/etc/claude-gateway"
CONTAINER_TLS_CERT = "/run/claude-gateway/tls/cert.pem"
CONTAINER_TLS_KEY = "/run/claude-gateway/tls/key.pem"
CONTAINER_CA_DIR = "/run/claude-gateway/ca"
CONTAINER_CA_FILE = f"{CONTAINER_CA_DIR}/ca.pem"  # the corporate CA, NODE_EXTRA_CA_CERTS
IMAGE_NAME = "claude-apps-gateway"  # built from gateway/Dockerfile, tagged with the Claude Code version


def ref(name: str) -> str:
    """A value the gateway reads from its environment (gateway/.env) when it loads the config."""
    return "${" + name + "}"


def runtime(answers: Answers) -> str:
    return str(answers.get("gateway_runtime") or "process")


def on_compose(answers: Answers) -> bool:
    return runtime(answers) == "docker"


def in_container(answers: Answers) -> bool:
    """gateway/Dockerfile's image runs it: under compose (docker) or on Kubernetes."""
    return runtime(answers) in ("docker", "kubernetes")


def terminates_tls(answers: Answers) -> bool:
    """An https:// gateway URL: the gateway serves TLS itself with the certificate named in gateway/.env. Not on
    Kubernetes, where the Ingress holds the certificate clients see and sends plain HTTP to the pods."""
    return urlsplit(gateway_url(answers)).scheme == "https" and runtime(answers) != "kubernetes"


def image(answers: Answers | None = None) -> str:
    """The tag gateway/Dockerfile's image is built and run under (compose, Kubernetes)."""
    return f"{IMAGE_NAME}:{CLAUDE_CODE_VERSION}"


def local_url(answers: Answers) -> str:
    """Where the gateway answers on its own host (https when it serves TLS itself)."""
    url = gateway_local_url(answers)
    return url.replace("http://", "https://", 1) if terminates_tls(answers) else url


def upstreams(answers: Answers) -> list[dict[str, Any]]:
    """One upstream per provider, in failover order (the primary first), each from the provider's record; with
    LiteLLM behind, LiteLLM alone (it holds the providers and fails over between them)."""
    if engines.litellm_behind(answers):
        return [sso_front.upstream(answers)]
    return [REGISTRY[key].apps_gateway_upstream(answers) for key in provider_order(answers)]


def models(answers: Answers) -> list[dict[str, Any]]:
    """The three ids Claude Code sends (the pinned anthropic_* ids), each mapped to every upstream's own id (LiteLLM
    behind the front knows them by the same ids: its model groups are named so)."""
    if engines.litellm_behind(answers):
        return [{"id": answers[f"anthropic_{tier}_model"],
                 "upstream_model": {sso_front.UPSTREAM_NAME: answers[f"anthropic_{tier}_model"]}} for tier in TIERS]
    return [{"id": answers[f"anthropic_{tier}_model"],
             "upstream_model": {key: answers[REGISTRY[key].model_question(tier)] for key in provider_order(answers)}}
            for tier in TIERS]


def model_pins(answers: Answers) -> dict[str, str]:
    """What the managed policy sets on every signed-in client: without it the CLI sends its own default ids."""
    return {f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL": answers[f"anthropic_{tier}_model"] for tier in TIERS}


def config(answers: Answers) -> dict[str, Any]:
    """gateway/claude-apps-gateway.yaml, as a mapping (the template writes it as YAML)."""
    url = gateway_url(answers)
    if in_container(answers):  # the container's own port, on all its addresses (compose publishes it on the bind)
        listen: dict[str, Any] = {"host": "0.0.0.0", "port": CONTAINER_PORT, "public_url": url}
    else:
        listen = {"host": str(answers["gateway_bind"]), "port": int(answers["gateway_port"]), "public_url": url}
    if terminates_tls(answers):
        listen["tls"] = {"cert": ref(TLS_CERT), "key": ref(TLS_KEY)}
    oidc: dict[str, Any] = {"issuer": answers["oidc_issuer"].rstrip("/"), "client_id": answers["oidc_client_id"],
                            "client_secret": ref(OIDC_CLIENT_SECRET), "scopes": list(OIDC_SCOPES),
                            "user_id_claim": USER_ID_CLAIM}
    allowed = split_list(answers.get("oidc_allowed_groups"))
    if allowed:
        oidc["allowed_groups"] = allowed
    admin: dict[str, Any] = {"read_keys": [{"id": "read", "key": ref(ADMIN_READ_KEY)}],
                             "write_keys": [{"id": "write", "key": ref(ADMIN_WRITE_KEY)},
                                            {"id": ACCESS_SYNC_KEY_ID, "key": ref(ACCESS_SYNC_KEY)}],
                             "blocked_message": f"Ask {budget_contact(answers)} for more budget."}
    admin_groups = split_list(answers.get("oidc_admin_groups"))
    if admin_groups:
        admin["admin_groups"] = admin_groups
    config: dict[str, Any] = {
        "listen": listen,
        "oidc": oidc,
        "session": {"jwt_secret": ref(SESSION_SECRET),
                    "ttl_hours": int(answers.get("session_ttl_hours") or DEFAULT_SESSION_TTL_HOURS)},
        "store": {"postgres_url": ref(DATABASE_URL)},
        "upstreams": upstreams(answers),
        "models": models(answers),
        "managed": {"policies": [{"match": {}, "cli": {"env": model_pins(answers)}}]},
        "admin": admin,
    }
    if telemetry.forward_to(answers):
        config["telemetry"] = {"forward_to": telemetry.forward_to(answers)}
    return config


def env_vars(answers: Answers) -> list[GatewayVar]:
    """Everything gateway/.env holds for this engine: the generated secrets, then what the user fills in."""
    variables = [
        GatewayVar(SESSION_SECRET, "Signs developers' sessions. Whoever holds it can act as anyone: keep it on the "
                                   "gateway host. Changing it signs everyone out.", True),
        GatewayVar(ADMIN_READ_KEY, "Admin API key for reading spend and limits (x-api-key).", True),
        GatewayVar(ADMIN_WRITE_KEY, "Admin API key for setting spend limits (x-api-key). Full control of "
                                    "limits: never hand it to developers.", True),
        GatewayVar(ACCESS_SYNC_KEY, f"Admin API key of scripts/sync-access.sh (id {ACCESS_SYNC_KEY_ID}): it sets "
                                    "the spend limits of gateway/access.yaml.", True),
        GatewayVar(OIDC_CLIENT_SECRET, "The client secret of the gateway's OIDC application at your identity "
                                       "provider.", example="...", required=True),
    ]
    if on_compose(answers):  # the compose file's Postgres: generated, like LiteLLM's
        variables += [
            GatewayVar(POSTGRES_PASSWORD, "Password of the gateway's Postgres user (the compose file's Postgres).",
                       True),
            GatewayVar(DATABASE_URL, "Postgres for sessions, spend and limits, for gateway/run-local.sh (docker "
                                     "compose sets its own, with host `postgres`).", True),
        ]
    else:
        variables.append(GatewayVar(DATABASE_URL, "Postgres for sessions, spend and limits (the gateway applies its "
                                                  "own migrations at boot).",
                                    example=("postgresql://claude_gateway:password@postgres.example.com:5432/"
                                             "claude_gateway?sslmode=require" if runtime(answers) == "kubernetes"
                                             else "postgresql://claude_gateway:password@127.0.0.1:5432/"
                                                  "claude_gateway"), required=True))
    if terminates_tls(answers):
        variables += [
            GatewayVar(TLS_CERT, "Absolute path of the gateway's TLS certificate chain (PEM), for "
                                 f"{urlsplit(gateway_url(answers)).hostname}.",
                       example="/etc/claude-gateway/tls/fullchain.pem", required=True),
            GatewayVar(TLS_KEY, "Absolute path of its private key (PEM).",
                       example="/etc/claude-gateway/tls/privkey.pem", required=True),
        ]
    if telemetry.header_name(answers):
        variables.append(GatewayVar(telemetry.HEADER_VALUE_VAR, f"The value of the {telemetry.header_name(answers)} "
                                    "header the gateway sends to your telemetry collector.", example="...",
                                    required=True))
    if engines.litellm_behind(answers):  # LiteLLM's own (its keys, database, the providers), and the front's key
        from . import gateway as litellm_gateway
        return (variables + sso_front.env_vars(answers)
                + sso_front.litellm_env_vars(answers, litellm_gateway.gateway_env_vars(answers)))
    for provider in selected(answers):
        variables += provider.gateway_env(answers)
    return variables


def generated_secrets() -> list[tuple[str, int]]:
    """(name, random bytes) scripts/init-secrets.sh writes for this engine."""
    return [(SESSION_SECRET, SECRET_BYTES), (ADMIN_READ_KEY, SECRET_BYTES), (ADMIN_WRITE_KEY, SECRET_BYTES),
            (ACCESS_SYNC_KEY, SECRET_BYTES)]


def model_ids(answers: Answers) -> list[str]:
    """The model ids developers may ask for (the catalog): what gateway/access.yaml's groups.<name>.models name."""
    return [model["id"] for model in models(answers)]


def client_settings_keys(answers: Answers) -> dict[str, str]:
    """The settings that make /login sign in to this gateway (managed settings, or the user's settings)."""
    return {"forceLoginMethod": "gateway", "forceLoginGatewayUrl": gateway_url(answers)}


def client_env(answers: Answers) -> list[EnvVar]:
    """What signed-in clients need in their environment: nothing about the gateway (sign-in and model ids come
    through /login and the gateway's managed settings), only the version pin."""
    return [EnvVar("DISABLE_AUTOUPDATER", "1",
                   f"Claude Code stays at {CLAUDE_CODE_VERSION}, the version this gateway is tested with "
                   f"(versions.env); the gateway runs the same binary. Bump both together.")]


def container_context(answers: Answers) -> dict[str, Any]:
    """What gateway/Dockerfile, the compose file and gateway/kubernetes/ place for this engine."""
    tls = terminates_tls(answers)
    return {
        "base_image": versions.APPS_GATEWAY_BASE_IMAGE,
        "linux_package": versions.CLAUDE_CODE_LINUX_PACKAGE,
        "linux_sha512": versions.CLAUDE_CODE_LINUX_SHA512,
        "tarball_url": (f"https://registry.npmjs.org/{versions.CLAUDE_CODE_LINUX_PACKAGE}/-/"
                        f"{versions.CLAUDE_CODE_LINUX_PACKAGE.split('/')[1]}-${{CLAUDE_CODE_VERSION}}.tgz"),
        "port": CONTAINER_PORT, "uid": CONTAINER_UID, "user": CONTAINER_USER, "home": CONTAINER_HOME,
        "config_dir": CONTAINER_CONFIG_DIR, "config_path": f"{CONTAINER_CONFIG_DIR}/claude-apps-gateway.yaml",
        "tls_cert": CONTAINER_TLS_CERT, "tls_key": CONTAINER_TLS_KEY, "ca_file": CONTAINER_CA_FILE,
        "scheme": "https" if tls else "http",
        "readyz": f"{'https' if tls else 'http'}://127.0.0.1:{CONTAINER_PORT}/readyz",
        "image": image(answers),
        "database": COMPOSE_DATABASE,
        # compose: published on the bind address and port of the answers, to the container's port.
        "publish": (f"{bracketed(str(answers.get('gateway_bind') or '127.0.0.1'))}:{answers.get('gateway_port') or 4000}"
                    f":{CONTAINER_PORT}"),
        "drain_seconds": DRAIN_SECONDS, "stop_timeout": STOP_TIMEOUT_SECONDS,
    }


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes (gateway_runtime=kubernetes): gateway/kubernetes/ and scripts/deploy-kubernetes.sh for this engine
# ---------------------------------------------------------------------------------------------------------------
KUBERNETES_NAME = "claude-apps-gateway"  # the Deployment, Service, Ingress, ... and the prefix of the rest
KUBERNETES_REPLICAS = 2
# A stopping pod first leaves the Service's endpoints (the preStop pause), then drains its open requests for
# DRAIN_SECONDS on SIGTERM: the grace period covers both, with room to exit.
PRESTOP_PAUSE_SECONDS = 10
TERMINATION_GRACE_SECONDS = PRESTOP_PAUSE_SECONDS + DRAIN_SECONDS + 15
# ~150 MB resident, measured (domain notes, section 7); the limit leaves room for bursts of streams.
MEMORY_REQUEST, MEMORY_LIMIT = "256Mi", "768Mi"
CPU_REQUEST, CPU_LIMIT = "250m", "1000m"
# The streams the Ingress must hold open: a Claude Code turn can stream for minutes.
STREAM_TIMEOUT_SECONDS = 660
# What developers' clients call (the Ingress routes these prefixes and nothing else): the admin API
# (/v1/organizations/*) is reached from inside the cluster only (kubectl port-forward), never through the Ingress.
DEVELOPER_PATHS = ("/v1/messages", "/v1/models", "/v1/metrics", "/v1/logs", "/v1/traces", "/oauth", "/device",
                   "/.well-known", "/managed", "/api/oauth", "/user", "/healthz", "/readyz")
ADMIN_PATH = "/v1/organizations"


def kubernetes_manifests(answers: Answers) -> list[str]:
    """The files of gateway/kubernetes/ for this engine, in the order kustomization.yaml lists them (with LiteLLM
    behind the front, its litellm-*.yaml files after the front's)."""
    from . import gateway as litellm_gateway

    files = ["namespace.yaml", "configmap.yaml", "deployment.yaml", "service.yaml", "poddisruptionbudget.yaml",
             "networkpolicy.yaml", "ingress.yaml"]
    return files + (litellm_gateway.kubernetes_manifests(answers) if engines.litellm_behind(answers) else [])


def kubernetes_secret_keys(answers: Answers) -> list[tuple[str, bool]]:
    """(name, required) of what deploy-kubernetes.sh copies from gateway/.env into the front's Secret: what the
    config's ${NAME}s and the providers read (TLS files stay out: the Ingress terminates TLS). With LiteLLM behind it,
    LiteLLM's own keys go into LiteLLM's Secret instead (gateway.kubernetes_secret_keys): the front holds only its
    key at LiteLLM (the master key without a database)."""
    from . import gateway as litellm_gateway

    litellm_only: set[str] = set()
    if engines.litellm_behind(answers):
        litellm_only = {var.name for var in litellm_gateway.gateway_env_vars(answers)} - {
            sso_front.front_key_var(answers)}
    return [(var.name, var.generated or var.required) for var in env_vars(answers)
            if var.name not in (TLS_CERT, TLS_KEY, POSTGRES_PASSWORD, *litellm_only)]


def kubernetes_context(answers: Answers) -> dict[str, Any]:
    """What gateway/kubernetes/ and scripts/deploy-kubernetes.sh place for this engine."""
    from . import gateway as litellm_gateway

    url = urlsplit(gateway_url(answers))
    proxy = urlsplit(answers["proxy_url"]) if answers.get("corporate_proxy") else None
    issuer = urlsplit(str(answers.get("oidc_issuer") or ""))
    return {
        "name": KUBERNETES_NAME,
        "namespace": litellm_gateway.KUBERNETES_NAMESPACE,
        "ingress_namespace": litellm_gateway.INGRESS_NAMESPACE,
        "image": image(answers),
        "uid": CONTAINER_UID,
        "replicas": KUBERNETES_REPLICAS,
        "port": CONTAINER_PORT,
        "memory_request": MEMORY_REQUEST, "memory_limit": MEMORY_LIMIT,
        "cpu_request": CPU_REQUEST, "cpu_limit": CPU_LIMIT,
        "termination_grace_seconds": TERMINATION_GRACE_SECONDS, "prestop_pause_seconds": PRESTOP_PAUSE_SECONDS,
        "drain_seconds": DRAIN_SECONDS,
        "stream_timeout_seconds": STREAM_TIMEOUT_SECONDS,
        "rollout_timeout_seconds": litellm_gateway.ROLLOUT_TIMEOUT_SECONDS,
        "host": url.hostname or "",
        "issuer_port": issuer.port or (443 if issuer.scheme == "https" else 80),
        "proxy_port": (proxy.port if proxy else 0),
        "private_ranges": list(litellm_gateway.PRIVATE_RANGES),
        "developer_paths": list(DEVELOPER_PATHS),
        "admin_path": ADMIN_PATH,
        "manifests": kubernetes_manifests(answers),
        "secret_keys": kubernetes_secret_keys(answers),
        "min_version": litellm_gateway.KUBERNETES_MIN_VERSION,
        "min_minor": int(litellm_gateway.KUBERNETES_MIN_VERSION.split(".")[1]),
        "config_path": f"{CONTAINER_CONFIG_DIR}/claude-apps-gateway.yaml",
        "home": CONTAINER_HOME,
        "ca_file": CONTAINER_CA_FILE, "ca_dir": CONTAINER_CA_DIR,
    }
