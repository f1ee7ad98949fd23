"""The decision tree: two answers give one of four patterns. The pattern is derived, never asked or stored."""

from __future__ import annotations

from dataclasses import dataclass

from .engines import APPS_GATEWAY_WITH_LITELLM, ENGINES
from .providers import REGISTRY

# The providers a gateway can route to, as the pattern table lists them: `{providers}` in a pro, filled in per engine.
_PROVIDER_NAMES = "{providers}"
# Each engine's resident memory, as the pattern table's cons list it.
_ENGINE_MEMORY = "; ".join(f"{engine.name} {engine.memory}" for engine in ENGINES.values()
                           if engine.key != APPS_GATEWAY_WITH_LITELLM)  # both engines: the sum of the two


@dataclass(frozen=True)
class Pattern:
    letter: str
    name: str
    cost_tracking: bool    # decision 1: a gateway
    corporate_proxy: bool  # decision 2: a corporate proxy
    pros: tuple[str, ...]
    cons: tuple[str, ...]
    setup_time: str
    latency: str
    # IT pushes the client settings to every machine (client/managed-settings.json, requiredMaximumVersion).
    managed_settings: bool = False

    def pros_for(self, engine: str = "") -> tuple[str, ...]:
        """The pros, the providers named as the setup's gateway engine can call them (every record without one)."""
        names = (ENGINES[engine].provider_names() if engine in ENGINES
                 else ", ".join(p.short_name for p in REGISTRY.values()))
        return tuple(pro.format(providers=names) for pro in self.pros)


PATTERNS = {
    "A": Pattern(
        "A", "Direct provider access", False, False,
        ("Minimal configuration", "Lowest latency (direct connection)", "Simple security model (just API keys)",
         "No additional infrastructure costs"),
        ("No usage tracking or cost analytics", "No automatic failover or load balancing",
         "Manual API key distribution for teams", "Single provider only"),
        "5 minutes or less", "lowest (direct)",
    ),
    "B": Pattern(
        "B", "Corporate proxy", False, True,
        ("Network-level security enforcement", "Centralized audit logs at proxy level",
         "Complies with corporate security policies", "Can inspect/filter traffic (if TLS interception is configured)"),
        ("Adds latency (proxy hop overhead)", "Requires proxy infrastructure and maintenance",
         "More complex troubleshooting (network layer issues)", "Still no usage/cost tracking"),
        "10-15 minutes (depends on proxy configuration complexity)", "+20-50 ms",
    ),
    "C": Pattern(
        "C", "LLM gateway (recommended for teams)", True, False,
        ("Complete usage tracking and cost analytics", "Automatic load balancing and failover",
         f"Multi-provider support ({_PROVIDER_NAMES})", "Cost optimization through routing strategies",
         "Team management with per-user API keys or SSO sign-in", "Centralized rate limiting and quotas"),
        ("Additional service to run and maintain", f"Requires compute resources ({_ENGINE_MEMORY}, measured)",
         "One more component to troubleshoot", "Single point of failure (mitigate with an HA deployment)"),
        "15-20 minutes", "+10-30 ms",
    ),
    "D": Pattern(
        "D", "Corporate proxy + LLM gateway (enterprise)", True, True,
        ("Maximum compliance (network + application layers)", "Enterprise-grade security (SSO, audit trails)",
         "Centralized governance and cost tracking", "Multi-team support with proper isolation",
         "Defense in depth (multiple security layers)"),
        ("Most complex setup and maintenance", "Highest latency (multiple hops)",
         "Most expensive (proxy + gateway infrastructure)",
         "Requires coordination between teams (network, platform, security)",
         "Complex troubleshooting (multiple failure points)"),
        "30-60 minutes (plus coordination time with IT/networking teams)", "+30-100 ms", managed_settings=True,
    ),
}


@dataclass(frozen=True)
class Migration:
    source: str
    target: str
    what: str     # the seed's name for the path
    changes: str  # what it changes in the repository (markdown)

    @property
    def command(self) -> str:
        """scripts/migrate.sh's command line for it: a path that adds the proxy needs the proxy's URL."""
        adds_proxy = PATTERNS[self.target].corporate_proxy and not PATTERNS[self.source].corporate_proxy
        return f"scripts/migrate.sh {self.target}" + (" --data proxy_url=http://proxy:8080" if adds_proxy else "")


_REMOVE_GATEWAY = "removes the gateway files; clients talk to the provider again"

# The seed's migration paths and their rollbacks (scripts/migrate.sh runs each; the tests run every one).
MIGRATIONS = (
    Migration("A", "C", "add a gateway for cost tracking", "adds `gateway/` and the gateway scripts; "
              "`ANTHROPIC_BASE_URL` now points at the gateway and the key moves to `ANTHROPIC_AUTH_TOKEN`"),
    Migration("B", "D", "add a gateway behind the proxy", "adds the gateway (with its own proxy settings and CA "
              "bundle); clients point at it"),
    Migration("C", "D", "add the proxy requirement", "adds the proxy variables, `NO_PROXY` with the gateway host, "
              "the CA, `docs/egress-allowlist.md`"),
    Migration("A", "B", "add the proxy", "adds the proxy variables and the egress allowlist"),
    Migration("C", "A", "roll back (remove the gateway)", _REMOVE_GATEWAY),
    Migration("D", "B", "roll back (remove the gateway)", _REMOVE_GATEWAY),
    Migration("D", "C", "remove the proxy", "removes the proxy variables and the allowlist"),
)


def derive_pattern(cost_tracking: bool, corporate_proxy: bool) -> str:
    """The seed's decision tree: cost tracking -> gateway, proxy required -> proxy."""
    return next(p.letter for p in PATTERNS.values()
                if p.cost_tracking == bool(cost_tracking) and p.corporate_proxy == bool(corporate_proxy))


def pattern_reason(cost_tracking: bool, corporate_proxy: bool) -> str:
    yes_no = {True: "yes", False: "no"}
    return (f"you answered {yes_no[bool(cost_tracking)]} to cost tracking (cost_tracking) and "
            f"{yes_no[bool(corporate_proxy)]} to a required network proxy (corporate_proxy)")


def pattern_summary(pattern: str, reason: str, engine: str = "") -> str:
    """The summary copier prints after copy; `engine`: the gateway engine's key in Patterns C and D."""
    info = PATTERNS[pattern]
    lines = [f"Pattern {pattern}: {info.name}", f"Why: {reason}."]
    if engine:
        lines.append(f"Gateway engine: {ENGINES[engine].name} ({ENGINES[engine].overhead}, measured).")
    lines += [f"Setup time: {info.setup_time}. Added latency: {info.latency}.", "Pros:"]
    lines += [f"  + {p}" for p in info.pros_for(engine)]
    lines.append("Cons:")
    lines += [f"  - {c}" for c in info.cons]
    return "\n".join(lines)
