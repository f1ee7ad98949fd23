"""The hosts a corporate proxy must let through, by side: developer machines and the gateway host."""

from __future__ import annotations

from .common import host_port
from .gateway import gateway_url
from .providers import REGISTRY
from .records import Answers, EgressHost

CLAUDE_CODE_HOSTS = [
    EgressHost("claude.ai", 443, "Claude account login (not needed with an API key, a gateway or a cloud provider)",
               False),
    EgressHost("console.anthropic.com", 443, "Console login (not needed with an API key, a gateway or a cloud "
                                             "provider)", False),
    EgressHost("platform.claude.com", 443, "Console login (not needed with an API key, a gateway or a cloud "
                                           "provider)", False),
    EgressHost("downloads.claude.ai", 443, "Claude Code native updates (or update through your package manager)",
               False),
]


def egress_hosts(answers: Answers) -> list[EgressHost]:
    """What the proxy must let developer machines reach."""
    if answers.get("cost_tracking"):
        hosts = []
        if answers.get("gateway_via_proxy"):
            hosts.append(EgressHost(*host_port(gateway_url(answers)), "the LiteLLM gateway: every Claude Code "
                                                                      "request", True))
        return hosts + CLAUDE_CODE_HOSTS
    return REGISTRY[answers["providers"][0]].egress(answers) + CLAUDE_CODE_HOSTS


def gateway_egress_hosts(answers: Answers) -> list[EgressHost]:
    """What the proxy must let the gateway host reach: every provider it routes to."""
    return [host for key in answers["providers"] for host in REGISTRY[key].egress(answers)]
