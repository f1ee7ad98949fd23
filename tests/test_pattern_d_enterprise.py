"""Pattern D, static: both sides generated correctly (the live module runs them)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from environment import clean_env
from generated import added_vars, rejected

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


def test_managed_settings_are_the_client_settings_plus_the_version_cap(generate):
    project = generate(**D)
    managed = json.loads((project / "client" / "managed-settings.json").read_text())
    assert managed.pop("requiredMaximumVersion") == "2.1.332"  # versions.env's Claude Code (tests/test_version_pins.py)
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
    assert f'default={PROXY}; export HTTPS_PROXY="${{GATEWAY_HTTPS_PROXY:-$default}}"' in run_local
    assert 'export SSL_CERT_FILE="$here/ca-bundle.pem"' in run_local
    assert "gateway/ca-bundle.pem" in (project / ".gitignore").read_text()
    checker = Path(sys.executable).parent / "check-jsonschema"
    assert subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec",
                           str(project / "gateway" / "docker-compose.yml")], capture_output=True,
                          timeout=120, check=False).returncode == 0


def test_spend_database_is_on_by_default_in_pattern_d(generate):
    cfg = yaml.safe_load((generate(**D) / "gateway" / "litellm_config.yaml").read_text())
    assert cfg["general_settings"]["database_url"] == "os.environ/DATABASE_URL"


def test_build_ca_bundle_extends_the_public_roots(generate, tmp_path):
    corp = tmp_path / "corp-ca.pem"
    corp.write_text("-----BEGIN CERTIFICATE-----\nTESTCORPCA\n-----END CERTIFICATE-----\n")
    project = generate(**D, corporate_ca_cert=str(corp))
    result = subprocess.run(["gateway/build-ca-bundle.sh"], cwd=project, capture_output=True, text=True, timeout=60,
                            env=clean_env(tmp_path, LITELLM_BIN=str(Path(sys.executable).parent / "copier")), check=False)
    assert result.returncode == 0, result.stderr
    bundle = (project / "gateway" / "ca-bundle.pem").read_text()
    import certifi
    assert bundle.startswith(Path(certifi.where()).read_text())  # every public root kept
    assert bundle.rstrip().endswith("TESTCORPCA\n-----END CERTIFICATE-----")
    missing = subprocess.run(["gateway/build-ca-bundle.sh", str(tmp_path / "nope.pem")], cwd=project,
                             capture_output=True, text=True, timeout=60, env=clean_env(tmp_path), check=False)
    assert missing.returncode == 1 and "cannot read the corporate CA" in missing.stderr


def test_shellcheck_clean(generate, shellcheck):
    shellcheck(generate(**D))


# -------------------------------------------------------------------------------------------------------
# Every generated script, and what they share (scripts/lib/common.sh), in one project that has them all
# -------------------------------------------------------------------------------------------------------
EVERY_SCRIPT = {**D, "proxy_username": "alice", "corporate_ca_cert": "/etc/ca.pem",
                "providers": ["anthropic", "bedrock"]}  # D: gateway, database (new-key.sh), CA bundle
SCRIPTS = ["client/install.sh", "gateway/build-ca-bundle.sh", "gateway/run-local.sh", "scripts/check-status.sh",
           "scripts/conformance.sh",
           "scripts/health-check.sh", "scripts/init-secrets.sh", "scripts/migrate.sh", "scripts/new-key.sh",
           "scripts/sync-access.sh", "scripts/usage-report.sh"]


@pytest.fixture(scope="module")
def every_script(copie_module, template_repo) -> Path:
    """A Pattern D project with every script the template generates; tests only read it."""
    result = copie_module.copy(extra_answers=EVERY_SCRIPT, template_dir=template_repo)
    assert result.exception is None, result.exception
    return result.project_dir


def test_every_script_is_listed_and_shellcheck_clean(every_script, shellcheck):
    assert shellcheck(every_script) == sorted([*SCRIPTS, "client/env.sh", "scripts/lib/common.sh",
                                               "scripts/lib/gateway-api.sh"])
    for rel in SCRIPTS:
        assert os.access(every_script / rel, os.X_OK), rel
    for rel in ("scripts/lib/common.sh", "scripts/lib/gateway-api.sh"):  # sourced, never run
        assert not os.access(every_script / rel, os.X_OK), rel
        assert (every_script / rel).read_text().startswith("# shellcheck shell=bash\n"), rel


def header_comment(script: Path) -> str:
    """The comment lines after the #! line up to the first other line, without their leading "# "."""
    lines = []
    for line in script.read_text().splitlines()[1:]:
        if not line.startswith("#"):
            break
        lines.append(re.sub(r"^# ?", "", line))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_script_answers_help_with_its_header(every_script, tmp_path, flag):
    for rel in SCRIPTS:  # run from elsewhere: a script finds its lib beside itself, not in the working directory
        result = subprocess.run([str(every_script / rel), flag], cwd=tmp_path, env=clean_env(tmp_path),
                                capture_output=True, text=True, timeout=30, check=False)
        assert (result.returncode, result.stderr) == (0, ""), rel
        assert result.stdout == header_comment(every_script / rel), rel
        name = rel.rsplit("/", 1)[1]
        assert result.stdout.startswith(f"{name}: ") and "\nExit:" in result.stdout, rel
    assert not (every_script / "gateway" / ".env").exists()  # --help did nothing else (init-secrets.sh wrote nothing)
    assert not (every_script / "gateway" / "litellm.pid").exists()


def test_client_scripts_stand_alone(every_script):
    for path in (every_script / "client").iterdir():  # copied to developer machines on their own
        assert "lib/" not in path.read_text(), path.name


def lib(project: Path, script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`script` run by bash after sourcing the project's scripts/lib/common.sh (set -eu, as the scripts run)."""
    return subprocess.run(["bash", "-c", f"set -eu; . scripts/lib/common.sh; {script}"], cwd=project,
                          env=clean_env(tmp_path), capture_output=True, text=True, timeout=30, check=False)


def test_lib_env_reader_skips_comments_and_takes_the_last_value(every_script, tmp_path):
    """The last line wins, as for docker compose and a shell; init-secrets.sh appends after an empty KEY=."""
    env_file = tmp_path / "gateway.env"
    env_file.write_text("# LITELLM_MASTER_KEY=sk-commented\n#LITELLM_MASTER_KEY=sk-commented-too\n"
                        " LITELLM_MASTER_KEY=sk-indented\nLITELLM_MASTER_KEY_OLD=sk-other-name\n"
                        "LITELLM_MASTER_KEY=sk-first\nexport LITELLM_MASTER_KEY=sk-last=with=equals\n"
                        "QUOTED=\"sk-double\"\nSINGLE='two words'\nEMPTY=\nCRLF=sk-windows\r\nLAST=no-newline")
    read = "dotenv_value " + str(env_file) + " {0} && echo \"rc=0\" || echo \"rc=$?\""
    expected = {"LITELLM_MASTER_KEY": "sk-last=with=equals\nrc=0\n", "QUOTED": "sk-double\nrc=0\n",
                "SINGLE": "two words\nrc=0\n", "EMPTY": "\nrc=0\n", "CRLF": "sk-windows\nrc=0\n",
                "LAST": "no-newline\nrc=0\n", "MISSING": "rc=1\n", "LITELLM": "rc=1\n"}
    for name, want in expected.items():
        result = lib(every_script, read.format(name), tmp_path)
        assert (result.stdout, result.stderr) == (want, ""), name
    assert lib(every_script, f"dotenv_value {tmp_path}/nonexistent NAME", tmp_path).returncode == 1


def test_lib_reporters_and_curl_config(every_script, tmp_path):
    result = lib(every_script, "report_ok 'a: b'; report_fail 'c: d'; report_skip 'e: f'; "
                               "curl_config data 'say \"hi\" \\ bye'; curl_bearer ''; curl_bearer sk-token", tmp_path)
    assert result.stdout.splitlines() == ["ok    a: b", "FAIL  c: d", "skip  e: f", 'data = "say \\"hi\\" \\\\ bye"',
                                          'header = "Authorization: Bearer sk-token"']


def test_plain_http_gateway_url_is_only_for_loopback(template_repo, tmp_path):
    last = rejected(template_repo, tmp_path, **{**D, "gateway_url": "http://llm-gw.example.com"})
    assert "gateway_url: 'http://llm-gw.example.com' uses plain http:// to a non-loopback host" in last
