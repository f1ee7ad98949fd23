"""The gateway engines of Patterns C and D: which one a setup runs, and what each fits (the engine table).

The answer `gateway_engine` chooses; repositories generated before it existed have no such answer and keep LiteLLM.
What each engine generates lives with it: gateway.py (LiteLLM) and apps_gateway.py (the Claude apps gateway)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .records import Answers

LITELLM = "litellm"
APPS_GATEWAY = "claude_apps_gateway"
# Both at once: developers sign in to the Claude apps gateway (the front), which forwards every request, with who made
# it, to LiteLLM behind it (reachable only from the front), which calls the providers (sso_front.py).
APPS_GATEWAY_WITH_LITELLM = "claude_apps_gateway_with_litellm"


@dataclass(frozen=True)
class Engine:
    key: str          # the `gateway_engine` answer value
    name: str         # what the documentation calls it
    # When to choose it (facts, measured where a figure is given); `{providers}`: the providers it can call.
    fit_lines: tuple[str, ...]
    limit_lines: tuple[str, ...]  # what it needs or cannot do (the providers it cannot call are added)
    memory: str       # resident memory, measured
    overhead: str     # added latency and throughput, measured side by side in one run (domain notes, section 7)
    runtimes: tuple[str, ...]  # the gateway_runtime values it generates
    roles: str        # what it does for you, in the README's drawing (at most 24 characters)

    def providers(self) -> list[Any]:
        """The provider records this engine can call, in registry order (from each record's unsupported_engines)."""
        from .providers import REGISTRY  # the records import this module: look them up when asked
        return [p for p in REGISTRY.values() if self.key not in p.unsupported_engines]

    def provider_names(self) -> str:
        return ", ".join(p.short_name for p in self.providers())

    @property
    def fits(self) -> tuple[str, ...]:
        return tuple(line.format(providers=self.provider_names()) for line in self.fit_lines)

    @property
    def limits(self) -> tuple[str, ...]:
        from .providers import REGISTRY
        cannot = [f"Cannot call {p.name}: {p.unsupported_engines[self.key]}" for p in REGISTRY.values()
                  if self.key in p.unsupported_engines]
        return (*self.limit_lines, *cannot)

    @property
    def label(self) -> str:
        """The engine as a gateway ("LiteLLM gateway", "Claude apps gateway", "Claude apps gateway with ...")."""
        return self.name if "gateway" in self.name else f"{self.name} gateway"


ENGINES = {
    LITELLM: Engine(
        LITELLM, "LiteLLM",
        ("Any model and provider behind one endpoint, routing and failover between them",
         "Per-developer virtual keys with budgets and rate limits (keys and budgets as code)",
         "Prometheus metrics and a spend database the usage report reads",
         "CI and scripts use a key like a developer"),
        ("Every developer receives a static key to keep secret",
         "Budgets per key, not per identity of your company's directory"),
        "~350 MB RAM idle per worker", "+26 ms at the median, 35 requests/s per worker at 20 concurrent",
        ("docker", "process", "kubernetes"), "cost, routing, keys"),
    APPS_GATEWAY: Engine(
        APPS_GATEWAY, "Claude apps gateway",
        ("Developers sign in with the company's SSO (OIDC) from Claude Code's /login: no key is handed over",
         "Model allowlists and Claude Code managed settings per identity-provider group",
         "Spend per user and group with spend limits, metered in Postgres",
         "Upstreams: {providers}, in failover order; streams each event as it comes"),
        ("Needs Postgres and an OIDC identity provider; the gateway must be https (http only on loopback)",
         "Claude models only; no per-user rate limits; no Prometheus endpoint",
         "CI jobs cannot sign in: they call the provider directly",
         "Runs inside the pinned Claude Code binary (Linux); no official image: compose and Kubernetes build gateway/Dockerfile"),
        "~150 MB RAM", "+4.6 ms at the median, 471 requests/s at 20 concurrent",
        ("process", "docker", "kubernetes"), "SSO, policy, spend"),
    APPS_GATEWAY_WITH_LITELLM: Engine(
        APPS_GATEWAY_WITH_LITELLM, "Claude apps gateway with LiteLLM behind it",
        (("Developers sign in with the company's SSO (OIDC) from Claude Code's /login, with model allowlists and "
          "managed settings per identity-provider group (the Claude apps gateway, in front)"),
         ("LiteLLM behind it keeps doing what only it does here: any provider ({providers}), routing and failover, "
          "per-user rate limits, Prometheus metrics, its spend database and reports"),
         ("Every request reaches LiteLLM as the signed-in developer (their email is LiteLLM's end user): spend and "
          "metrics per developer without a key per developer; what a client sends as an identity is dropped")),
        (("Two processes and two hops: both engines' needs (Postgres and an OIDC identity provider for the front; "
          "LiteLLM's own database for per-developer spend and budgets)"),
         "Claude models only (the front speaks the Anthropic Messages API to LiteLLM)",
         "CI jobs cannot use it (LiteLLM is reachable only from the front): they call the provider directly"),
        "~150 MB RAM (the front) + ~350 MB idle per LiteLLM worker",
        # bench/bench_apps_gateway.py, 2026-12-07, 4 rounds: LiteLLM alone +35 ms and 50 requests/s in the same run.
        "+39 ms at the median over both hops, 39 requests/s at 20 concurrent",
        ("process", "docker", "kubernetes"), "SSO, policy, LiteLLM"),
}


def engine_key(answers: Answers) -> str:
    """The setup's gateway engine ("" without a gateway). A repository from before the answer existed: LiteLLM."""
    if not answers.get("cost_tracking"):
        return ""
    return answers.get("gateway_engine") or LITELLM


def runs_litellm(answers: Answers) -> bool:
    """LiteLLM is the gateway developers call (with a key each)."""
    return engine_key(answers) == LITELLM


def runs_apps_gateway(answers: Answers) -> bool:
    """The Claude apps gateway is the gateway developers call (they sign in to it): alone, or in front of LiteLLM."""
    return engine_key(answers) in (APPS_GATEWAY, APPS_GATEWAY_WITH_LITELLM)


def litellm_behind(answers: Answers) -> bool:
    """LiteLLM runs behind the Claude apps gateway, reachable only from it."""
    return engine_key(answers) == APPS_GATEWAY_WITH_LITELLM


def deploys_litellm(answers: Answers) -> bool:
    """LiteLLM is part of the setup (its config, its secrets, its database): alone or behind the front."""
    return runs_litellm(answers) or litellm_behind(answers)
