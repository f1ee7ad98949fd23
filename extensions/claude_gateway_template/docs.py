"""The generated documentation by topic: which pages under docs/ a setup has, and what each covers.

A page's template is template/docs/<name>.jinja (or `{% if FLAG %}<name>{% endif %}.jinja`, where FLAG is the
derived yes/no value `applies` names); the README's map lists the pages this table says apply.
tests/test_docs_pages.py renders every golden case and checks that both agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    path: str
    what: str
    applies: str = ""  # the yes/no value (an answer or a derived one) the page exists for ("": every setup)


PAGES = (
    Page("docs/setup.md", "Setting up Claude Code on a developer machine, step by step; managed settings, "
                          "locked-down networks, how to verify, every variable."),
    Page("docs/files.md", "Every generated file and what it is for."),
    Page("docs/proxy.md", "The corporate proxy: what goes through it, its password, TLS inspection.",
         "corporate_proxy"),
    Page("docs/egress-allowlist.md", "The hosts and ports the proxy or firewall must allow.", "corporate_proxy"),
    Page("docs/gateway.md", "The gateway: running and checking it, retries, failover.", "gateway_litellm_docs"),
    Page("docs/claude-apps-gateway.md", "The Claude apps gateway: when it fits, running it, sign-in and sessions, "
                                        "certificates, failover, CI.", "gateway_signs_in"),
    Page("docs/keys-and-budgets.md", "The master key, cost and usage reports, developers' keys and budgets.",
         "litellm_keys_docs"),
    Page("docs/spend-database.md", "The spend database: keys, schema migrations, backup, rotation.",
         "gateway_spend_database"),
    Page("docs/kubernetes.md", "The gateway on Kubernetes: manifests, deploy, capacity, upgrade and rollback.",
         "litellm_on_kubernetes"),
    Page("docs/telemetry.md", "Usage telemetry: what Claude Code measures, where it goes, what the cost figure "
                              "means.", "usage_telemetry"),
    Page("docs/usage-report.md", "Spend and usage to look at: the HTML report with charts, and the Grafana "
                                 "dashboards.", "usage_reports"),
    Page("docs/conformance.md", "The conformance kit: does the endpoint answer what Claude Code sends?"),
    Page("docs/versions-and-upgrades.md", "The tested version pair, bumping it, template upgrades (also on a "
                                          "schedule)."),
    Page("docs/migrations.md", "Moving to another pattern or gateway engine with `scripts/migrate.sh`."),
)


def pages(context: dict[str, Any]) -> list[Page]:
    """The pages of a setup whose answers and derived values are `context`."""
    return [page for page in PAGES if not page.applies or context[page.applies]]
