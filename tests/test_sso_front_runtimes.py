"""LiteLLM behind the Claude apps gateway (gateway_engine=claude_apps_gateway_with_litellm) in docker compose, offline:
one compose file for both engines where LiteLLM publishes no port and shares a network with the front alone, its
Postgres on an internal network with a password of its own; the front calls it by its service name without the
loopback allowance; no LiteLLM-process file renders; the admin scripts reach LiteLLM with `docker compose exec`
(here a stand-in for `docker compose` that records the call and runs the command on this host). LiteLLM's image
cannot be pulled here, so nothing runs in a container; the process runtime's live test is tests/test_live_sso_front.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from claude_gateway_template import sso_front, versions
from environment import clean_env
from fake_apps_gateway import FakeAppsGateway
from golden_trees import render_all

FRONT = {"cost_tracking": True, "gateway_engine": "claude_apps_gateway_with_litellm", "gateway_runtime": "docker",
         "oidc_issuer": "https://login.example.com"}
VARIANTS = {
    # C over https with failover and LiteLLM's spend database; C without a database (the front sends the master key);
    # D behind the proxy with a corporate CA.
    "c": {**FRONT, "providers": ["anthropic", "bedrock"], "spend_database": True, "gateway_bind": "0.0.0.0",
          "gateway_url": "https://claude-gateway.corp.example.com"},
    "c-no-database": {**FRONT, "spend_database": False},
    "d": {**FRONT, "corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080", "spend_database": True,
          "corporate_ca_cert": "/usr/local/share/ca-certificates/corp-root.pem"},
}
WITH_DATABASE = ("c", "d")
SERVICE, DATABASE_SERVICE = sso_front.COMPOSE_SERVICE, sso_front.COMPOSE_DATABASE_SERVICE


@pytest.fixture(scope="module")
def projects(template_repo, tmp_path_factory) -> dict[str, Path]:
    return render_all(template_repo, tmp_path_factory.mktemp("sso-compose"), VARIANTS)


def compose(project: Path) -> dict:
    return yaml.safe_load((project / "gateway" / "docker-compose.yml").read_text())


def members(services: dict, network: str) -> set[str]:
    """The services on `network` (a service without `networks:` is on `default`)."""
    return {name for name, service in services.items() if network in service.get("networks", ["default"])}


def litellm_port(service: dict) -> int:
    command = service["command"]
    return int(command[command.index("--port") + 1])


@pytest.mark.parametrize("variant", VARIANTS)
def test_litellm_publishes_no_port_and_shares_a_network_with_the_front_alone(projects, variant):
    services = compose(projects[variant])["services"]
    litellm, front = services[SERVICE], services["gateway"]
    assert "ports" not in litellm and "expose" not in litellm
    assert front["ports"], "the front publishes its port as the Claude apps gateway alone does"
    assert [name for name, service in services.items() if "ports" in service] == ["gateway"]
    shared = set(litellm["networks"]) & set(front["networks"])
    assert len(shared) == 1
    assert members(services, shared.pop()) == {"gateway", SERVICE}
    assert SERVICE not in members(services, "default")  # the front's Postgres cannot reach it
    assert litellm["image"] == versions.LITELLM_DATABASE_IMAGE if variant in WITH_DATABASE else versions.LITELLM_IMAGE


@pytest.mark.parametrize("variant", WITH_DATABASE)
def test_litellms_database_is_on_an_internal_network_with_its_own_password(projects, variant):
    spec = compose(projects[variant])
    services = spec["services"]
    database = services[DATABASE_SERVICE]
    assert "ports" not in database
    [network] = database["networks"]
    assert spec["networks"][network] == {"internal": True}
    assert members(services, network) == {SERVICE, DATABASE_SERVICE}
    own = sso_front.COMPOSE_POSTGRES_PASSWORD
    assert database["environment"]["POSTGRES_PASSWORD"] == f"${{{own}:?run scripts/init-secrets.sh first}}"
    assert re.fullmatch(rf"postgresql://litellm:\$\{{{own}:\?[^}}]+\}}@{DATABASE_SERVICE}:5432/litellm",
                        services[SERVICE]["environment"]["DATABASE_URL"])
    # The front keeps its own database, user and password.
    assert "${POSTGRES_PASSWORD:?" in services["gateway"]["environment"]["APPS_GATEWAY_DATABASE_URL"]
    assert "@postgres:5432/claude_gateway" in services["gateway"]["environment"]["APPS_GATEWAY_DATABASE_URL"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert set(spec["volumes"]) == {"claude-gateway-postgres", "litellm-postgres"}


def test_without_a_database_litellm_has_no_postgres(projects):
    spec = compose(projects["c-no-database"])
    assert set(spec["services"]) == {"gateway", "postgres", SERVICE}
    assert "DATABASE_URL" not in spec["services"][SERVICE]["environment"]
    assert "LITELLM_POSTGRES_PASSWORD" not in (projects["c-no-database"] / "gateway" / ".env.example").read_text()


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_fronts_upstream_is_the_service_name_and_port_litellm_listens_on(projects, variant):
    project = projects[variant]
    litellm = compose(project)["services"][SERVICE]
    config = yaml.safe_load((project / "gateway" / "claude-apps-gateway.yaml").read_text())
    [upstream] = config["upstreams"]
    assert upstream["base_url"] == f"http://{SERVICE}:{litellm_port(litellm)}"
    assert upstream["forward_user_identity"] is True
    key = "LITELLM_FRONT_KEY" if variant in WITH_DATABASE else "LITELLM_MASTER_KEY"
    assert upstream["auth"] == {"api_key": f"${{{key}}}"}
    # Its health check asks the same port inside the container.
    assert f"127.0.0.1:{litellm_port(litellm)}/health/liveliness" in " ".join(litellm["healthcheck"]["test"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_loopback_allowance_and_no_litellm_process_files(projects, variant):
    project = projects[variant]
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts and "docs" not in path.parts:
            assert "CLAUDE_GATEWAY_ALLOW_LOOPBACK" not in path.read_text(errors="replace"), path
    for absent in ("gateway/run-litellm.sh", "gateway/requirements.txt", "scripts/lib/gateway-api.sh"):
        assert not (project / absent).exists(), absent
    assert (project / "gateway" / "Dockerfile").exists() and (project / "gateway" / "run-local.sh").exists()


def test_behind_the_proxy_litellm_uses_it_and_the_front_reaches_litellm_directly(projects):
    services = compose(projects["d"])["services"]
    litellm, front = services[SERVICE]["environment"], services["gateway"]["environment"]
    assert litellm["HTTPS_PROXY"] == "${GATEWAY_HTTPS_PROXY:-http://proxy.example.com:8080}"
    assert SERVICE in front["NO_PROXY"].removesuffix("}").split(":-", 1)[1].split(",")
    assert front["HTTPS_PROXY"] == litellm["HTTPS_PROXY"]
    assert litellm["SSL_CERT_FILE"] == "/etc/claude-gateway/ca-bundle.pem"
    assert "./ca-bundle.pem:/etc/claude-gateway/ca-bundle.pem:ro" in services[SERVICE]["volumes"]
    assert (projects["d"] / "gateway" / "build-ca-bundle.sh").exists()


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_compose_file_validates_against_the_compose_spec(projects, variant):
    # podman-compose 1.0.3 (Debian's) has no `config`, and its `--dry-run up` creates volumes and networks: the
    # compose specification's schema instead.
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec",
                             str(projects[variant] / "gateway" / "docker-compose.yml")], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_generated_secrets_stay_in_gateway_env_and_the_scripts_are_clean(projects, variant, tmp_path, shellcheck):
    project = tmp_path / "project"
    shutil.copytree(projects[variant], project)
    result = subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(tmp_path), capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    env = dict(line.split("=", 1) for line in (project / "gateway" / ".env").read_text().splitlines()
               if line and not line.startswith("#") and line.split("=", 1)[1])
    if variant in WITH_DATABASE:
        assert env["LITELLM_POSTGRES_PASSWORD"] != env["POSTGRES_PASSWORD"]
        assert "DATABASE_URL" not in env  # compose sets LiteLLM's; no LiteLLM runs on this host
    secrets = [value for value in env.values() if len(value) >= 16]
    assert len(secrets) >= 6
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts and not path.name.startswith(".env"):
            text = path.read_text(errors="replace")
            assert not any(secret in text for secret in secrets), path
    # `config` writes what the compose file mounts; the process commands name docker compose instead.
    config = subprocess.run(["gateway/run-local.sh", "config"], cwd=project, env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60, check=False)
    assert config.returncode == 0, config.stderr
    assert (project / "gateway" / "claude-apps-gateway.effective.yaml").is_file()
    start = subprocess.run(["gateway/run-local.sh", "start"], cwd=project, env=clean_env(tmp_path),
                           capture_output=True, text=True, timeout=60, check=False)
    assert start.returncode == 1
    assert start.stderr.strip() == ("run-local.sh: start: the gateway and LiteLLM behind it run in docker compose "
                                    "here: docker compose -f gateway/docker-compose.yml up -d --build "
                                    "(COMPOSE=podman-compose works the same)")
    shellcheck(project)


# ---------------------------------------------------------------------------------------------------------------
# The admin scripts, with a stand-in for `docker compose`
# ---------------------------------------------------------------------------------------------------------------
FRONT_KEY = "sk-" + "f0" * 24
ADMIN_KEY = "r" * 64
# Records each call's arguments; `exec -T SERVICE ...` runs the command here: the binary's version, an `sh -c`
# script (LiteLLM's service name replaced by the stand-in LiteLLM), or a report's JSON.
STUB = r"""#!/bin/sh
printf '%s\n' "$*" >>"$STUB_LOG"
while [ "$#" -gt 0 ] && [ "$1" != -T ]; do shift; done
shift 2
case "$1" in
  /usr/local/bin/claude) echo "2.1.332 (Claude Code)" ;;
  sh) case "$4" in
        *usage_report.py) echo '{"developers": []}' ;;
        *) script=$(printf '%s' "$3" | sed "s#http://litellm:4000#$STUB_LITELLM#g"); exec sh -c "$script" ;;
      esac ;;
  *) exit 99 ;;
esac
"""


class StandInLiteLLM:
    """Liveliness, and GET /v1/models answering 200 only to FRONT_KEY."""

    def __init__(self):
        self.keys_seen: list[str] = []
        seen = self.keys_seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/v1/models":
                    seen.append(self.headers.get("x-api-key", ""))
                    status = 200 if self.headers.get("x-api-key") == FRONT_KEY else 401
                else:
                    status = 200 if self.path == "/health/liveliness" else 404
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def stub_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    stub = tmp_path / "compose-stub"
    stub.write_text(STUB)
    stub.chmod(0o755)
    return clean_env(tmp_path, COMPOSE=str(stub), STUB_LOG=str(tmp_path / "compose.log"), **extra)


def compose_calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "compose.log").read_text().splitlines()


@pytest.mark.parametrize("front_key, verdict", [(FRONT_KEY, "all 7 steps passed"), ("sk-" + "0" * 48, "refused")])
def test_health_check_asks_litellm_from_inside_the_fronts_container(projects, tmp_path, front_key, verdict):
    project = tmp_path / "project"
    shutil.copytree(projects["c"], project)
    (project / "gateway" / ".env").write_text(f"GATEWAY_ADMIN_READ_KEY={ADMIN_KEY}\n")
    with StandInLiteLLM() as litellm, FakeAppsGateway(ADMIN_KEY) as front:
        # LITELLM_FRONT_KEY here stands for the front container's environment, where the check's shell expands it.
        env = stub_env(tmp_path, STUB_LITELLM=litellm.url, GATEWAY_URL=front.url, LITELLM_FRONT_KEY=front_key)
        result = subprocess.run(["scripts/health-check.sh"], cwd=project, env=env, capture_output=True, text=True,
                                timeout=60, check=False)
    lines = result.stdout.splitlines()
    assert lines[4] == "ok    version: the gateway's image runs Claude Code 2.1.332"
    assert lines[5] == ("ok    litellm: http://litellm:4000/health/liveliness answered 200 from the gateway's "
                        "container (LiteLLM behind the front is up)")
    assert litellm.keys_seen == [front_key]
    calls = compose_calls(tmp_path)
    assert len(calls) == 3 and all(" exec -T gateway " in call for call in calls)
    assert not any(front_key in call for call in calls)  # the key stays in the container's environment
    if verdict == "refused":
        assert result.returncode == 1
        assert lines[6].startswith("FAIL  front key: LiteLLM refused the gateway's key (LITELLM_FRONT_KEY, HTTP 401): "
                                   "run scripts/sync-access.sh")
        assert lines[7] == "health check failed at step 7 (front key)"
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        accepted = ("ok    front key: LiteLLM accepts the gateway's key (LITELLM_FRONT_KEY, as its container holds "
                    "it) for GET /v1/models")
        assert lines[6:] == [accepted, verdict]


def test_health_check_names_litellm_when_the_front_cannot_reach_it(projects, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(projects["c"], project)
    (project / "gateway" / ".env").write_text(f"GATEWAY_ADMIN_READ_KEY={ADMIN_KEY}\n")
    with FakeAppsGateway(ADMIN_KEY) as front:
        env = stub_env(tmp_path, STUB_LITELLM="http://127.0.0.1:9", GATEWAY_URL=front.url)
        result = subprocess.run(["scripts/health-check.sh"], cwd=project, env=env, capture_output=True, text=True,
                                timeout=60, check=False)
    assert result.returncode == 1
    failed, verdict = result.stdout.splitlines()[-2:]
    assert failed.startswith("FAIL  litellm: the gateway's container got no answer from http://litellm:4000 (curl: (7)")
    assert verdict == "health check failed at step 6 (litellm)"


def test_usage_report_runs_in_litellms_container_and_writes_its_output_here(projects, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(projects["c"], project)
    env = stub_env(tmp_path)
    html = subprocess.run(["scripts/usage-report.sh", "--format", "html"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert html.returncode == 2 and "--format html needs pygal" in html.stderr
    assert not (tmp_path / "compose.log").exists()
    out = tmp_path / "report.json"
    result = subprocess.run(["scripts/usage-report.sh", "--format", "json", "--output", str(out)], cwd=project,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == '{"developers": []}\n'
    [call] = compose_calls(tmp_path)
    assert call.startswith(f"-f {project}/gateway/docker-compose.yml exec -T {SERVICE} sh -c ")
    assert call.endswith(f"{sso_front.COMPOSE_SCRIPTS}/usage_report.py --source database --alias-contact  (more "
                         "budget:  --end-users --format json")
    assert "LITELLM_MASTER_KEY" in call and "sk-" not in call


def test_sync_access_registers_the_front_key_from_inside_litellms_container(projects):
    text = (projects["c"] / "scripts" / "sync-access.sh").read_text()
    command = text[text.index("exec timeout 300"):]
    assert f"exec -T {SERVICE}" in command
    assert f"LITELLM_URL=http://127.0.0.1:{sso_front.COMPOSE_PORT}" in command
    assert f"python3 {sso_front.COMPOSE_SCRIPTS}/front_key.py sync /dev/stdin" in command
    assert command.rstrip().endswith('<"$access_file"')
    volumes = compose(projects["c"])["services"][SERVICE]["volumes"]
    assert f"../scripts/lib:{sso_front.COMPOSE_SCRIPTS}:ro" in volumes
    assert (projects["c"] / "scripts" / "lib" / "front_key.py").is_file()


def test_conformance_names_the_health_check_for_litellms_hop(projects, tmp_path):
    result = subprocess.run(["scripts/conformance.sh", "--hop", "litellm"], cwd=projects["c"], env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == ("conformance.sh: --hop litellm: LiteLLM publishes no port in docker compose; "
                                     "scripts/health-check.sh checks that hop from the front's container (or set "
                                     "LITELLM_URL)")
    assert '--next-hop "scripts/health-check.sh on the gateway host"' in (
        projects["c"] / "scripts" / "conformance.sh").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["--hop"], "conformance.sh: --hop needs a value: front or litellm"),
    (["--hop", "proxy"], "conformance.sh: --hop takes front or litellm, not 'proxy'")])
def test_conformance_refuses_a_hop_it_does_not_know_in_one_line(projects, tmp_path, args, message):
    result = subprocess.run(["scripts/conformance.sh", *args], cwd=projects["c"], env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (2, message + "\n")
