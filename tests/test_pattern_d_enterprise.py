"""Pattern D, static: both sides generated correctly (the live module runs them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import clean_env
from helpers import added_vars, rejected

PROXY = "http://proxy.example.com:8080"
D = {"cost_tracking": True, "corporate_proxy": True, "proxy_url": PROXY, "gateway_url": "https://llm-gw.example.com"}


def test_client_env_points_at_the_gateway_with_the_proxy_and_the_gateway_host_direct(generate, tmp_path):
    env = added_vars(generate(**D, corporate_ca_cert="/etc/corp/ca.pem", no_proxy_hosts=".corp.example.com"), tmp_path)
    assert env["ANTHROPIC_BASE_URL"] == "https://llm-gw.example.com" and env["ANTHROPIC_API_KEY"] == ""
    assert env["HTTPS_PROXY"] == PROXY and env["NODE_EXTRA_CA_CERTS"] == "/etc/corp/ca.pem"
    assert env["NO_PROXY"] == "localhost,127.0.0.1,::1,.corp.example.com,llm-gw.example.com"


def test_gateway_via_proxy_keeps_the_gateway_out_of_no_proxy(generate, tmp_path):
    env = added_vars(generate(**D, gateway_via_proxy=True), tmp_path)
    assert env["NO_PROXY"] == "localhost,127.0.0.1,::1"
    doc = (generate(**D, gateway_via_proxy=True) / "docs" / "egress-allowlist.md").read_text()
    assert "| `llm-gw.example.com` | 443 | the LiteLLM gateway" in doc


def test_managed_settings_match_the_client_settings(generate):
    project = generate(**D)
    managed = json.loads((project / "client" / "managed-settings.json").read_text())
    assert managed == json.loads((project / "client" / "settings.json").read_text())
    assert managed["env"]["ANTHROPIC_BASE_URL"] == "https://llm-gw.example.com"
    assert not (generate() / "client" / "managed-settings.json").exists()


def test_client_only_repository_has_no_gateway(generate):
    project = generate(**D, deploy_gateway=False)
    assert not (project / "gateway").exists()
    assert not (project / "scripts" / "init-secrets.sh").exists()
    assert (project / "client" / "env.sh").exists() and (project / "scripts" / "check-status.sh").exists()


def test_gateway_side_proxy_settings_and_union_bundle(generate):
    project = generate(**D, corporate_ca_cert="/etc/corp/ca.pem", gateway_workers=2)
    litellm = yaml.safe_load((project / "gateway" / "docker-compose.yml").read_text())["services"]["litellm"]
    env = litellm["environment"]
    assert env["HTTPS_PROXY"] == f"${{GATEWAY_HTTPS_PROXY:-{PROXY}}}"
    assert env["NO_PROXY"] == "${GATEWAY_NO_PROXY:-localhost,127.0.0.1,::1,postgres,redis}"
    assert env["SSL_CERT_FILE"] == "/etc/claude-gateway/ca-bundle.pem"
    assert "./ca-bundle.pem:/etc/claude-gateway/ca-bundle.pem:ro" in litellm["volumes"]
    assert "ANTHROPIC_BASE_URL" not in env
    run_local = (project / "gateway" / "run-local.sh").read_text()
    assert f'export HTTPS_PROXY="${{GATEWAY_HTTPS_PROXY:-{PROXY}}}"' in run_local
    assert 'export SSL_CERT_FILE="$here/ca-bundle.pem"' in run_local
    assert "gateway/ca-bundle.pem" in (project / ".gitignore").read_text()
    checker = Path(sys.executable).parent / "check-jsonschema"
    assert subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec",
                           str(project / "gateway" / "docker-compose.yml")], capture_output=True,
                          timeout=120).returncode == 0


def test_spend_database_is_on_by_default_in_pattern_d(generate):
    cfg = yaml.safe_load((generate(**D) / "gateway" / "litellm_config.yaml").read_text())
    assert cfg["general_settings"]["database_url"] == "os.environ/DATABASE_URL"


def test_build_ca_bundle_extends_the_public_roots(generate, tmp_path):
    corp = tmp_path / "corp-ca.pem"
    corp.write_text("-----BEGIN CERTIFICATE-----\nTESTCORPCA\n-----END CERTIFICATE-----\n")
    project = generate(**D, corporate_ca_cert=str(corp))
    result = subprocess.run(["gateway/build-ca-bundle.sh"], cwd=project, capture_output=True, text=True, timeout=60,
                            env=clean_env(tmp_path, LITELLM_BIN=str(Path(sys.executable).parent / "copier")))
    assert result.returncode == 0, result.stderr
    bundle = (project / "gateway" / "ca-bundle.pem").read_text()
    import certifi
    assert bundle.startswith(Path(certifi.where()).read_text())  # every public root kept
    assert bundle.rstrip().endswith("TESTCORPCA\n-----END CERTIFICATE-----")
    missing = subprocess.run(["gateway/build-ca-bundle.sh", str(tmp_path / "nope.pem")], cwd=project,
                             capture_output=True, text=True, timeout=60, env=clean_env(tmp_path))
    assert missing.returncode == 1 and "cannot read the corporate CA" in missing.stderr


@pytest.mark.parametrize("answers", [D, {**D, "proxy_username": "alice", "corporate_ca_cert": "/etc/ca.pem",
                                         "providers": ["anthropic", "bedrock"]}])
def test_shellcheck_clean(generate, shellcheck, answers):
    shellcheck(generate(**answers))


def test_plain_http_gateway_url_is_only_for_loopback(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, **{**D, "gateway_url": "http://llm-gw.example.com"})
    assert "gateway_url: 'http://llm-gw.example.com' uses plain http:// to a non-loopback host" in last
