"""The LiteLLM gateway (Patterns C and D): pinned versions, the model list, gateway/.env's variables, URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from . import engines
from .checks import default_gateway_url
from .common import bracketed
from .providers import REGISTRY, TIERS
from .records import Answers, GatewayVar
from .versions import LITELLM_DATABASE_IMAGE, LITELLM_IMAGE, LITELLM_NON_ROOT_IMAGE, LITELLM_VERSION, REDIS_IMAGE

# new-key.sh names whom to ask in each key's alias, "<developer> (more budget: <contact>)": LiteLLM puts the alias in
# its "Budget has been exceeded! Key=..." refusal; usage-report.sh cuts the part off again to show the developer.
KEY_ALIAS_CONTACT = " (more budget: "
DEFAULT_CONTACT = "the team that runs your gateway"


# The header the pinned LiteLLM reads as the end user without any configuration (STANDARD_CUSTOMER_ID_HEADERS, checked
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
    if on_kubernetes(answers):
        return LITELLM_NON_ROOT_IMAGE
    return LITELLM_DATABASE_IMAGE if answers.get("spend_database") else LITELLM_IMAGE


# Long Claude Code turns stream for minutes: anything under 600 s cuts them off.
ROUTER_SETTINGS = {"num_retries": 2, "allowed_fails": 3, "cooldown_time": 30, "timeout": 600, "stream_timeout": 600}
# The pinned LiteLLM holds a /v1/messages stream's message_start and content_block_start back until the first content
# delta whenever a router retry or another deployment could still take over (Router._aanthropic_messages_streaming_
# iterator in litellm/router.py; BerriAI/litellm#39431): with 0.5 s between the provider's events the client got
# message_start 1 s late. With one provider a retry could only ask the same deployment again, which Claude Code does
# itself, so its gateway gets no router retries and streams each event as it comes (tests/test_live_streaming.py).
SINGLE_PROVIDER_NUM_RETRIES = 0


def router_settings(answers: Answers) -> dict[str, int]:
    """ROUTER_SETTINGS; with one provider, no router retries (see SINGLE_PROVIDER_NUM_RETRIES)."""
    if len(provider_order(answers)) > 1:
        return ROUTER_SETTINGS
    return {**ROUTER_SETTINGS, "num_retries": SINGLE_PROVIDER_NUM_RETRIES}


# More than one worker: uvicorn's supervisor (0.54, as the pinned LiteLLM runs it) pings each worker every few seconds and
# kills one that does not answer within 5 s, and a new worker answers only after it has imported LiteLLM. On a busy
# 2-core machine that import took longer: the workers were killed and restarted in a loop, each restart burning CPU
# (bench/bench_overhead.py, 2026-11-28). LiteLLM passes TIMEOUT_WORKER_HEALTHCHECK on to uvicorn.
WORKER_HEALTHCHECK_TIMEOUT_SECONDS = 60


def redis_settings(answers: Answers) -> dict[str, str]:
    """router_settings' Redis: by URL on Kubernetes (managed Redis, rediss:// for TLS), else host, port, password."""
    if on_kubernetes(answers):
        return {"redis_url": "os.environ/REDIS_URL"}
    return {"redis_host": "os.environ/REDIS_HOST", "redis_port": "os.environ/REDIS_PORT",
            "redis_password": "os.environ/REDIS_PASSWORD"}


def coordination_redis_settings(answers: Answers) -> dict[str, str]:
    """general_settings.coordination_redis: the same Redis, for what LiteLLM shares between replicas and workers
    beyond the router (per-key rate limits, spend counters, budget windows). Without this block the pinned LiteLLM
    falls back to REDIS_* variables only if Redis answers a ping within 2 s at boot, and otherwise counts per process
    without a word (its own warning: "Set general_settings.coordination_redis explicitly to require it")."""
    return {key.removeprefix("redis_"): value for key, value in redis_settings(answers).items()}


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
    kubernetes = on_kubernetes(answers)
    if answers.get("spend_database") and kubernetes:
        # Managed Postgres is the norm on Kubernetes: the platform team gives its URL.
        variables.append(GatewayVar("DATABASE_URL", "Postgres for virtual keys and spend, as the pods reach it "
                                    "(e.g. a managed database; add ?sslmode=require for TLS).",
                                    example="postgresql://litellm:password@postgres.example.com:5432/litellm",
                                    required=True))
    elif answers.get("spend_database"):
        variables += [
            GatewayVar("POSTGRES_PASSWORD", "Password of the gateway's Postgres user.", True),
            GatewayVar("DATABASE_URL", "Postgres for virtual keys and spend (docker compose overrides the host).",
                       True),
        ]
    if redis_in_cluster(answers):
        variables += [
            GatewayVar("REDIS_PASSWORD", "Password of the in-cluster Redis (shared state of the replicas).", True),
            GatewayVar("REDIS_URL", "The in-cluster Redis as the pods reach it.", True),
        ]
    elif kubernetes:
        variables.append(GatewayVar("REDIS_URL", "Redis shared by the replicas (e.g. a managed Redis; rediss:// "
                                    "for TLS).", example="rediss://:password@redis.example.com:6380/0",
                                    required=True))
    elif uses_redis(answers):
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


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes (gateway_runtime=kubernetes): gateway/kubernetes/ and scripts/deploy-kubernetes.sh
# ---------------------------------------------------------------------------------------------------------------
# The oldest Kubernetes the manifests are validated against and the oldest kubectl deploy-kubernetes.sh accepts
# (server-side dry run and `kubectl apply -k` with the manifests' fields); the tests also validate against NEWEST.
RUNTIMES = ("docker", "process", "kubernetes")
# Redis for the replicas: a managed one by URL (the norm), or one small Redis in the cluster for small installs.
KUBERNETES_REDIS = ("external", "in_cluster")
KUBERNETES_MIN_VERSION = "1.27"
KUBERNETES_NEWEST_VERSION = "1.37"  # the newest schemas kubernetes-validate 1.37.0 carries
KUBERNETES_NAMESPACE = "claude-gateway"
# The NetworkPolicy admits traffic only from the ingress controller's namespace (ingress-nginx's default name).
INGRESS_NAMESPACE = "ingress-nginx"
# LiteLLM's Deployment, Service, ... (and the prefix of the rest), and the port its pods listen on and its Service
# serves (the manifests place both; sso_front.py builds the front's upstream URL from them).
KUBERNETES_NAME = "litellm"
KUBERNETES_PORT = 4000
# How long an admin script's `kubectl port-forward` to LiteLLM behind the Claude apps gateway may stay up at most.
PORT_FORWARD_SECONDS = 300
NON_ROOT_UID = 65534  # `nobody` in litellm-non_root (see LITELLM_NON_ROOT_IMAGE)
REDIS_UID, REDIS_GID = 999, 1000  # the `redis` user of the official alpine image
# A Claude Code turn can stream for minutes: a pod that is stopped gets this long to finish its requests (the
# Ingress read timeout and LiteLLM's own timeout are 600 s too), after a pause that lets endpoints drop it first.
TERMINATION_GRACE_SECONDS = 660
PRESTOP_PAUSE_SECONDS = 15
MIN_REPLICAS, MAX_REPLICAS = 2, 6
CPU_TARGET_PERCENT = 70
# Per worker process (bench/bench_overhead.py, 2026-11-28, 2 cores: one worker 433 MiB RSS after load, two 1.24 GiB in
# all with the supervisor, three 1.67 GiB; README, "The gateway: ratios").
MEMORY_REQUEST_MI, MEMORY_LIMIT_MI = 640, 1024
CPU_REQUEST_M, CPU_LIMIT_M = 500, 1000
MIGRATION_TIMEOUT_SECONDS = 600
ROLLOUT_TIMEOUT_SECONDS = 900
# The cluster-internal ranges port-443 egress never reaches (RFC 1918 and link-local: pods, services, metadata).
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")


def on_kubernetes(answers: Answers) -> bool:
    return bool(answers.get("cost_tracking")) and answers.get("gateway_runtime") == "kubernetes" \
        and (not answers.get("corporate_proxy") or answers.get("deploy_gateway", True) is not False)


def uses_redis(answers: Answers) -> bool:
    """Several workers or replicas share limits, cooldowns and budgets only through Redis."""
    return answers.get("gateway_workers", 1) > 1 or bool(on_kubernetes(answers))


def redis_in_cluster(answers: Answers) -> bool:
    return bool(on_kubernetes(answers)) and answers.get("kubernetes_redis") == "in_cluster"


def migration_job_name() -> str:
    """A Job's pod template is immutable: each LiteLLM release gets its own Job."""
    return "litellm-migrate-" + LITELLM_VERSION.replace(".", "-")


def kubernetes_secret_keys(answers: Answers) -> list[tuple[str, bool]]:
    """(name, required) of what deploy-kubernetes.sh copies from gateway/.env into the Secret: everything the
    pods read, not the local runtimes' own settings."""
    local_only = {"POSTGRES_PASSWORD", "REDIS_HOST", "REDIS_PORT", "GATEWAY_HTTPS_PROXY"}
    return [(var.name, var.generated or var.required) for var in gateway_env_vars(answers)
            if var.name not in local_only]


def kubernetes_manifests(answers: Answers) -> list[str]:
    """The files of gateway/kubernetes/, in the order kustomization.yaml lists them. Behind the Claude apps gateway
    (sso_front.py): LiteLLM's own files only, each named litellm-*.yaml beside the front's, and no Ingress (only the
    front's pods reach it); the front's list (apps_gateway.py) adds them to its own."""
    behind = engines.litellm_behind(answers)
    files = [] if behind else ["namespace.yaml"]
    files.append("configmap.yaml")
    if answers.get("corporate_proxy"):
        files.append("proxy-configmap.yaml")
    files += ["deployment.yaml", "service.yaml", "poddisruptionbudget.yaml", "horizontalpodautoscaler.yaml",
              "networkpolicy.yaml"]
    if not behind:
        files.append("ingress.yaml")
    if answers.get("spend_database"):
        files.append("migration-job.yaml")
    if redis_in_cluster(answers):
        files += ["redis-deployment.yaml", "redis-service.yaml", "redis-networkpolicy.yaml"]
    return [manifest_prefix(answers) + name if name != "namespace.yaml" else name for name in files]


def manifest_prefix(answers: Answers) -> str:
    """What LiteLLM's file names in gateway/kubernetes/ start with: `litellm-` beside the front's, else nothing."""
    return KUBERNETES_NAME + "-" if engines.litellm_behind(answers) else ""


def kubernetes_context(answers: Answers) -> dict[str, Any]:
    """What gateway/kubernetes/ and scripts/deploy-kubernetes.sh place."""
    workers = answers.get("gateway_workers", 1)
    url = urlsplit(gateway_url(answers))
    proxy = urlsplit(answers["proxy_url"]) if answers.get("corporate_proxy") else None
    return {
        "name": KUBERNETES_NAME,
        "port": KUBERNETES_PORT,
        "port_forward_seconds": PORT_FORWARD_SECONDS,
        "namespace": KUBERNETES_NAMESPACE,
        "ingress_namespace": INGRESS_NAMESPACE,
        "image": LITELLM_NON_ROOT_IMAGE,
        "uid": NON_ROOT_UID,
        "redis_image": REDIS_IMAGE, "redis_uid": REDIS_UID, "redis_gid": REDIS_GID,
        "redis_in_cluster": redis_in_cluster(answers),
        "workers": workers,
        "min_replicas": MIN_REPLICAS, "max_replicas": MAX_REPLICAS, "cpu_target_percent": CPU_TARGET_PERCENT,
        "memory_request": f"{MEMORY_REQUEST_MI * workers}Mi", "memory_limit": f"{MEMORY_LIMIT_MI * workers}Mi",
        "cpu_request": f"{CPU_REQUEST_M * workers}m", "cpu_limit": f"{CPU_LIMIT_M * workers}m",
        "termination_grace_seconds": TERMINATION_GRACE_SECONDS, "prestop_pause_seconds": PRESTOP_PAUSE_SECONDS,
        "request_timeout_seconds": ROUTER_SETTINGS["timeout"],
        "migration_job": migration_job_name() if answers.get("spend_database") else "",
        "migration_timeout_seconds": MIGRATION_TIMEOUT_SECONDS,
        "rollout_timeout_seconds": ROLLOUT_TIMEOUT_SECONDS,
        "host": url.hostname or "",
        "proxy_port": (proxy.port if proxy else 0),
        "private_ranges": list(PRIVATE_RANGES),
        "manifests": kubernetes_manifests(answers),
        "secret_keys": kubernetes_secret_keys(answers),
        "min_version": KUBERNETES_MIN_VERSION,
        "min_minor": int(KUBERNETES_MIN_VERSION.split(".")[1]),
    }
