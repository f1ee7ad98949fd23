"""Text rendered for the user: next steps after copy, and the CI doctor's placeholder setup."""

from __future__ import annotations

import json
import shlex
from typing import Any

from . import engines
from .gateway import gateway_url
from .providers import REGISTRY
from .records import Answers

GATEWAY_CREDENTIAL_HINT = ("Claude Code sends the gateway key from ANTHROPIC_AUTH_TOKEN in your environment (or "
                           "the apiKeyHelper command); ANTHROPIC_API_KEY stays empty.")


# No apostrophe: the hint lands in comments of env.ps1, where a stray quote misleads readers that pair quotes.
APPS_GATEWAY_CREDENTIAL_HINT = ("Developers sign in once with `claude` then /login (your company SSO, through the "
                                "gateway); no key is set or handed over.")


def credential_hint(answers: Answers) -> str:
    if engines.runs_apps_gateway(answers):
        return APPS_GATEWAY_CREDENTIAL_HINT
    if answers.get("cost_tracking"):
        return GATEWAY_CREDENTIAL_HINT
    return REGISTRY[answers["providers"][0]].credential_hint


def ci_doctor_setup(answers: Answers) -> list[str]:
    """Shell lines that let the generated CI workflow run check-status.sh --offline on a bare runner: placeholder
    credentials (never real ones) and a stand-in file where the corporate CA is expected."""
    lines = []
    if answers.get("corporate_proxy") and answers.get("proxy_username"):
        lines.append("export PROXY_PASSWORD=ci-placeholder")
    if answers.get("corporate_ca_cert") and (answers.get("corporate_proxy") or answers.get("cost_tracking")):
        ca = shlex.quote(answers["corporate_ca_cert"])
        lines.append(f"sudo mkdir -p \"$(dirname {ca})\" && sudo cp /etc/ssl/certs/ca-certificates.crt {ca}"
                     "  # stand-in for the corporate CA")
    lines.append(". client/env.sh")
    if engines.runs_apps_gateway(answers):
        # Nobody signs in on a runner: the settings /login needs (client/install.sh), and a placeholder sign-in where
        # Claude Code keeps one (never a session), so the doctor's credential check reads the generated gateway URL.
        placeholder = json.dumps({"enterpriseGateway": {"url": gateway_url(answers), "jwt": "ci-placeholder"}})
        lines += ["client/install.sh",
                  f"mkdir -p ~/.claude && echo {shlex.quote(placeholder)} > ~/.claude/.credentials.json"]
    elif answers.get("cost_tracking"):
        lines.append("export ANTHROPIC_AUTH_TOKEN=ci-placeholder")
    else:
        lines.append(REGISTRY[answers["providers"][0]].ci_credential)
    return lines


def next_steps(context: dict[str, Any]) -> list[str]:
    pattern = context["pattern"]
    steps = []
    if pattern in ("B", "D") and context.get("proxy_username"):
        steps.append("export PROXY_PASSWORD=...      (your proxy password; never written to a file)")
    if context["apps_gateway_in_repo"]:
        steps += [("scripts/init-secrets.sh        (creates gateway/.env with the session secret and admin keys; "
                   "fill in the OIDC client secret" + (" and " if context.get("gateway_runtime") == "docker"
                                                        else ", APPS_GATEWAY_DATABASE_URL and ") + "provider keys)"),
                  {"docker": ("gateway/run-local.sh config && docker compose -f gateway/docker-compose.yml up -d "
                              "--build   (the gateway's image and its Postgres)"),
                   "kubernetes": ("scripts/deploy-kubernetes.sh   (build and push gateway/Dockerfile's image first; "
                                  "Secret, config, manifests; --dry-run first)"),
                   }.get(context.get("gateway_runtime"),
                         "gateway/run-local.sh start     (the Claude apps gateway; "
                         "gateway/claude-apps-gateway.service for systemd)"),
                  "scripts/health-check.sh        (/healthz, /readyz, sign-in discovery, admin API, version)"]
    elif context["gateway_in_repo"]:
        start = {"docker": "docker compose -f gateway/docker-compose.yml up -d",
                 "kubernetes": "scripts/deploy-kubernetes.sh   (Secret, migrations, manifests; --dry-run first)",
                 }.get(context.get("gateway_runtime"), "gateway/run-local.sh start")
        steps.append("scripts/init-secrets.sh        (creates gateway/.env with a master key; fill in provider keys)")
        if pattern == "D" and context.get("corporate_ca_cert"):
            steps.append("gateway/build-ca-bundle.sh     (public roots + the corporate CA, for the gateway)")
        steps += [start, "scripts/health-check.sh        (liveliness, readiness, models, one round trip)"]
    if context["gateway_signs_in"]:
        steps.append("client/managed-settings.json   (IT pushes it to every machine; or client/install.sh below)")
    elif context.get("cost_tracking"):
        steps.append("export ANTHROPIC_AUTH_TOKEN=... (your gateway key; see docs/setup.md)")
    else:
        steps.append(REGISTRY[context["providers"][0]].login_step)
    steps += ["client/install.sh              (merges client/settings.json into ~/.claude/settings.json; --undo)",
              "   or: . client/env.sh         (this shell only; PowerShell: . .\\client\\env.ps1)",
              "scripts/check-status.sh        (checks what Claude Code will see, hop by hop)"]
    if context["gateway_signs_in"]:
        steps.append("claude, then /login            (sign in with your company account, once)")
    steps.append('claude -p "Hello, test!"')
    return steps
