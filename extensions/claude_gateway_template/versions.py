"""The versions a generated repository is tested with, as a pair: the Claude Code CLI on developers' machines and
the LiteLLM gateway (C, D). A new Claude Code can send what an older gateway rejects or drops (a beta header, a
new field), so the two move together: versions.env records them, the client settings keep Claude Code from
updating itself past the gateway, and scripts/conformance.sh checks a new pair before a rollout."""

from __future__ import annotations

from typing import NamedTuple

from . import gateway
from .records import Answers

# The CLI the live tests run (tests/claude-cli/package.json pins the same; a test holds the two together).
CLAUDE_CODE_VERSION = "2.1.332"
CLAUDE_CODE_NPM_PACKAGE = "@anthropic-ai/claude-code"
# The generated repository's own update workflow runs copier (the versions this template is tested with;
# requirements.txt pins the same, a test holds them together).
COPIER_VERSION = "9.19.1"
COPIER_TEMPLATE_EXTENSIONS_VERSION = "0.3.4"


class VersionPin(NamedTuple):
    name: str
    value: str
    doc: str


def version_pins(answers: Answers, gateway_in_repo: bool) -> list[VersionPin]:
    """The lines of versions.env, in order."""
    pins = [VersionPin("CLAUDE_CODE_VERSION", CLAUDE_CODE_VERSION,
                       f"Claude Code on developers' machines (npm {CLAUDE_CODE_NPM_PACKAGE})")]
    if gateway_in_repo:
        pins.append(VersionPin("LITELLM_VERSION", gateway.LITELLM_VERSION,
                               "The LiteLLM gateway (gateway/requirements.txt, the image tags)"))
        pins.append(VersionPin("LITELLM_IMAGE", gateway.litellm_image(answers),
                               "The gateway image this setup runs"))
    return pins


def managed_version_settings(pinned: bool) -> dict[str, str]:
    """Managed settings (Pattern D) that hold every machine at the tested version: Claude Code refuses to start
    when it is newer than requiredMaximumVersion (honoured only from managed settings, per the 2.1.332 binary's
    settings schema)."""
    return {"requiredMaximumVersion": CLAUDE_CODE_VERSION} if pinned else {}
