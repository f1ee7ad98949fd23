"""The Claude apps gateway's image and compose file as generated (issue 34), offline: gateway/Dockerfile pins what
it builds from and checks what it downloads, runs non-root with a health check; gateway/docker-compose.yml wires the
image to its Postgres with no secret in the file. The live counterparts: tests/test_live_apps_gateway_image.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from claude_gateway_template import apps_gateway, versions
from golden_trees import render_all

APPS = {"cost_tracking": True, "gateway_engine": "claude_apps_gateway", "oidc_issuer": "https://login.example.com",
        "gateway_runtime": "docker"}


@pytest.fixture(scope="module")
def projects(template_repo, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("apps-image")
    variants = {"http": APPS, "tls": {**APPS, "gateway_bind": "0.0.0.0", "gateway_port": 8443,
                                      "gateway_url": "https://gw.example.com:8443",
                                      "corporate_ca_cert": "/etc/ssl/corp-root.pem"}}
    return render_all(template_repo, root, variants)


def test_the_dockerfile_pins_its_base_the_version_and_the_tarballs_sha512(projects):
    text = (projects["http"] / "gateway" / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == [versions.APPS_GATEWAY_BASE_IMAGE, "base", "base"]
    assert re.search(r"@sha256:[0-9a-f]{64}$", versions.APPS_GATEWAY_BASE_IMAGE)
    pinned = dict(line.split("=", 1) for line in (projects["http"] / "versions.env").read_text().splitlines()
                  if line and not line.startswith("#"))["CLAUDE_CODE_VERSION"]
    assert re.findall(r"^ARG CLAUDE_CODE_VERSION=(\S+)$", text, re.MULTILINE) == [pinned, pinned]
    assert f"ARG CLAUDE_CODE_SHA512={versions.CLAUDE_CODE_LINUX_SHA512}\n" in text
    assert "sha512sum -c" in text and "registry.npmjs.org/@anthropic-ai/claude-code-linux-x64/-/" in text
    assert f"USER {apps_gateway.CONTAINER_UID}:{apps_gateway.CONTAINER_UID}" in text
    assert "DISABLE_AUTOUPDATER=1" in text
    assert '"http://127.0.0.1:8080/readyz"]' in text and "--insecure" not in text


def test_a_gateway_serving_tls_itself_is_health_checked_over_https(projects):
    text = (projects["tls"] / "gateway" / "Dockerfile").read_text()
    assert '"--insecure", "https://127.0.0.1:8080/readyz"]' in text


def test_compose_wires_the_image_to_its_postgres_without_a_secret(projects):
    compose = yaml.safe_load((projects["tls"] / "gateway" / "docker-compose.yml").read_text())
    gateway, postgres = compose["services"]["gateway"], compose["services"]["postgres"]
    assert gateway["build"] == "." and gateway["image"] == apps_gateway.image()
    assert gateway["ports"] == ["0.0.0.0:8443:8080"]
    assert gateway["read_only"] is True and gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert int(gateway["stop_grace_period"].rstrip("s")) > apps_gateway.DRAIN_SECONDS
    assert "@postgres:5432/" in gateway["environment"]["APPS_GATEWAY_DATABASE_URL"]
    assert gateway["environment"]["NODE_EXTRA_CA_CERTS"] == apps_gateway.CONTAINER_CA_FILE
    assert "./claude-apps-gateway.effective.yaml:/etc/claude-gateway/claude-apps-gateway.yaml:ro" in gateway["volumes"]
    assert postgres["image"] == versions.POSTGRES_IMAGE
    text = (projects["tls"] / "gateway" / "docker-compose.yml").read_text()
    assert not re.search(r"[0-9a-f]{32}", text)  # secrets only as ${NAME} from gateway/.env
    config = yaml.safe_load((projects["tls"] / "gateway" / "claude-apps-gateway.yaml").read_text())
    assert config["listen"] == {"host": "0.0.0.0", "port": 8080, "public_url": "https://gw.example.com:8443",
                                "tls": {"cert": "${GATEWAY_TLS_CERT}", "key": "${GATEWAY_TLS_KEY}"}}
    assert not (projects["tls"] / "gateway" / "claude-apps-gateway.service").exists()


def test_the_offline_conformance_check_names_a_dockerfile_built_for_another_claude_code(projects, tmp_path):
    import shutil
    import subprocess

    from environment import clean_env

    project = tmp_path / "project"
    shutil.copytree(projects["http"], project)

    def pins_line() -> str:
        result = subprocess.run(["scripts/conformance.sh", "--offline"], cwd=project, capture_output=True, text=True,
                                timeout=120, env=clean_env(tmp_path), check=False)
        return next(line for line in result.stdout.splitlines() if line.split()[1:2] == ["pins"])

    assert "PASS" in pins_line()
    dockerfile = project / "gateway" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace(f"ARG CLAUDE_CODE_VERSION={versions.CLAUDE_CODE_VERSION}",
                                                         "ARG CLAUDE_CODE_VERSION=9.9.9", 1))
    line = pins_line()
    assert "FAIL" in line and "gateway/Dockerfile builds Claude Code 9.9.9" in line
