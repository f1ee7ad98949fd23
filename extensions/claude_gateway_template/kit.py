"""The conformance kit's facts about each provider, from the registry: scripts/conformance/providers.json (which
the kit reads, so scripts/lib/conformance*.py and scripts/conformance.sh name no provider) and the lines of
scripts/conformance.sh's header that say what a direct run needs."""

from __future__ import annotations

import json
from typing import Any

from .providers import REGISTRY, Provider
from .records import Answers

_HEADER_NAMES = {"x-api-key": "x-api-key", "authorization": "Bearer"}


def provider_entry(provider: Provider) -> dict[str, Any]:
    """What the kit needs to call `provider` directly: scripts/lib/conformance_setup.py's `endpoint` reads it."""
    return {
        "name": provider.name,
        "base_url_var": provider.base_url_var,
        "default_url": provider.default_url,
        "resource_var": provider.endpoint_vars[0] if provider.resource_url else "",
        "resource_url": provider.resource_url,
        "key_vars": [list(pair) for pair in provider.key_headers],
        "signs_requests": provider.signs_requests,
    }


def providers_json(answers: Answers) -> str:
    """scripts/conformance/providers.json: one entry per provider of this setup, in the answer's order."""
    return json.dumps({key: provider_entry(REGISTRY[key]) for key in answers["providers"]}, indent=2)


def direct_doc(provider: Provider) -> list[str]:
    """scripts/conformance.sh's header lines on the endpoint and key of a direct run (Patterns A/B)."""
    if provider.signs_requests:
        return [(f"{provider.name} direct: Claude Code signs these requests itself, so the kit's own requests are "
                 "not supported:"), "use --replay (the real claude CLI, one agentic turn) and --offline."]
    also = f" (or {provider.endpoint_vars[0]})" if provider.resource_url else ""
    default = f", else {provider.default_url}" if provider.default_url else ""
    keys = [name for name, _ in provider.key_headers]
    if len(keys) > 1:
        keys = [f"{name} ({_HEADER_NAMES[header]})" for name, header in provider.key_headers]
    return [f"Endpoint: {provider.base_url_var}{also} of your environment, else client/settings.json{default}.",
            f"Key: {', else '.join(keys)}."]
