"""The Claude apps gateway's container image, live (issue 34): gateway_runtime=docker generates gateway/Dockerfile;
podman builds it (the pinned Debian base replaced by a local mmdebstrap one for the FROM line only,
tests/support/containers.py) and runs it as a user would, with gateway/.env and the generated config mounted, a
read-only root filesystem and only its HOME and /tmp writable.

- the image is the pinned Claude Code, runs as its non-root user, and its health check (/readyz) passes;
- a signed-in developer's `claude -p` on this machine gets the mock provider's reply through the container, which
  migrated Postgres itself at boot;
- SIGTERM (`podman stop`) ends it after its drain, with exit status 0;
- gateway/docker-compose.yml, run with podman-compose as generated, serves https with the certificate gateway/.env
  names, migrates its Postgres, takes an admin call, and stops within its grace period. An override file (no
  registry here) only puts local stand-ins (tests/support/compose-standins/) in place of the official postgres image
  and adds the test OIDC issuer, which the gateway asks for its discovery document at boot, to the compose network;
- gateway_runtime=kubernetes: `podman kube play` of the generated ConfigMap and Deployment with the built image (and
  the Secret and CA ConfigMap scripts/deploy-kubernetes.sh would create) runs the pod as the manifests say (non-root,
  read-only root, emptyDir HOME and /tmp) and it answers /readyz and a developer's request. podman kube play is not a
  cluster (no Service, one published port): the test's copy runs one replica, publishes the port on 127.0.0.1 and
  adds a hostAliases entry for the test name, and changes nothing else.

The container reaches this machine's loopback services (the mock provider over TLS with a test CA, Postgres) through
slirp4netns' host-loopback address under a test name (`--add-host`), which the answers name as any private host; its
port is published on 127.0.0.1 only."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from apps_gateway import mint_session, sign_in
from claude_gateway_template import apps_gateway, versions
from containers import CONTAINERS_CONF, Container, compose, gateway_image, podman, standins_image
from environment import clean_env, free_port
from generated_apps_gateway import HANG_GUARD, TEST_GATEWAY_ENV, UPSTREAM_KEY, fill_in
from mock_provider import DEFAULT_REPLY, RunningMock
from oidc_issuer import RunningIssuer

pytestmark = pytest.mark.live

# The name the container reaches this machine's loopback by (slirp4netns maps 10.0.2.2 to the host's 127.0.0.1).
HOST_NAME = "testhost.internal"
HOST_LOOPBACK = "10.0.2.2"
NETWORK = "slirp4netns:allow_host_loopback=true"
CONFIG_PATH = f"{apps_gateway.CONTAINER_CONFIG_DIR}/claude-apps-gateway.yaml"
ISSUER_SERVICE, ISSUER_PORT = "oidc-issuer", 8443  # the test issuer in the compose network (compose-standins/)
SUPPORT_DIR = Path(__file__).parent / "support"


def container_url(url: str) -> str:
    """A loopback service's URL as the container reaches it."""
    return url.replace("127.0.0.1", HOST_NAME)


@pytest.fixture(scope="module")
def services(gateway_ca, tmp_path_factory):
    """The mock provider and the OIDC issuer over TLS, for the name the container uses, on 127.0.0.1."""
    leaf = gateway_ca.issue(tmp_path_factory.mktemp("services-tls"), names=(HOST_NAME, "127.0.0.1"), chain=True)
    with RunningMock(tls=(str(leaf.cert_path), str(leaf.key_path))) as mock, \
            RunningIssuer(tls=(str(leaf.cert_path), str(leaf.key_path))) as issuer:
        issuer.host = HOST_NAME  # its issuer identifier, as the gateway's config names it
        yield mock, issuer


@pytest.fixture(scope="module")
def project(copie_module, template_repo, services, gateway_ca, gateway_db):
    mock, issuer = services
    port = free_port()
    result = copie_module.copy(template_dir=template_repo, extra_answers={
        "cost_tracking": True, "gateway_engine": "claude_apps_gateway", "gateway_runtime": "docker",
        "gateway_port": port, "gateway_bind": "127.0.0.1", "gateway_url": f"http://127.0.0.1:{port}",
        "oidc_issuer": issuer.url, "oidc_client_id": issuer.client_id,
        "anthropic_base_url": container_url(mock.url), "disable_nonessential_traffic": True})
    assert result.exception is None, result.exception
    project = result.project_dir
    init = subprocess.run(["scripts/init-secrets.sh"], cwd=project, capture_output=True, text=True, timeout=60,
                          env=clean_env(project.parent), check=False)
    assert init.returncode == 0, init.stdout + init.stderr
    database = gateway_db.create_database(f"gateway_{port}").replace("127.0.0.1", HOST_NAME)
    fill_in(project / "gateway" / ".env", OIDC_CLIENT_SECRET=issuer.client_secret, ANTHROPIC_API_KEY=UPSTREAM_KEY)
    return project, port, database


@pytest.fixture(scope="module")
def image(project):
    return gateway_image(project[0])[0]


def run_args(project: Path, port: int, database: str, ca_path: Path) -> list[str]:
    """`podman run` as a user runs the image (the compose file says the same): gateway/.env, the config and the CA
    mounted read-only, the port published on loopback, nothing writable but HOME and /tmp."""
    home = apps_gateway.CONTAINER_HOME
    args = ["--network", NETWORK, "--add-host", f"{HOST_NAME}:{HOST_LOOPBACK}", "-p", f"127.0.0.1:{port}:8080",
            "--env-file", str(project / "gateway" / ".env"), "-e", f"APPS_GATEWAY_DATABASE_URL={database}",
            "-e", f"NODE_EXTRA_CA_CERTS={apps_gateway.CONTAINER_CA_FILE}",
            "-v", f"{project / 'gateway' / 'claude-apps-gateway.yaml'}:{CONFIG_PATH}:ro",
            "-v", f"{ca_path}:{apps_gateway.CONTAINER_CA_FILE}:ro",
            "--read-only", "--tmpfs", f"{home}:rw,mode=1777", "--tmpfs", "/tmp"]
    for name, value in TEST_GATEWAY_ENV.items():
        args += ["-e", f"{name}={value}"]
    return args


def wait_ready(url: str, container: Container, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if not container.running():
            break
        time.sleep(0.3)
    raise AssertionError(f"the container did not answer /readyz within {timeout} s:\n{container.logs()[-4000:]}")


@pytest.fixture(scope="module")
def container(project, image, gateway_ca):
    path, port, database = project
    with Container(image, run_args(path, port, database, gateway_ca.cert_path), stop_timeout=20) as running:
        wait_ready(f"http://127.0.0.1:{port}", running)
        yield running


def test_the_image_is_the_pinned_claude_code_as_a_non_root_user(image):
    result = podman("run", "--rm", "--entrypoint", "/usr/local/bin/claude", image, "--version", timeout=120)
    assert result.stdout.strip().startswith(versions.CLAUDE_CODE_VERSION)
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    assert inspected["Config"]["User"] == f"{apps_gateway.CONTAINER_UID}:{apps_gateway.CONTAINER_UID}"
    assert "DISABLE_AUTOUPDATER=1" in inspected["Config"]["Env"]
    assert "/readyz" in " ".join(inspected["Healthcheck"]["Test"])


def test_the_health_check_passes_and_postgres_was_migrated_at_boot(container):
    result = podman("healthcheck", "run", container.id, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr + container.logs()[-3000:]
    assert "migration 8 applied" in container.logs() or "migrations up to date" in container.logs()
    assert container.exec("id", "-u").stdout.strip() == str(apps_gateway.CONTAINER_UID)
    assert container.exec("touch", "/usr/local/bin/x").returncode != 0  # the root filesystem is read-only


def test_a_signed_in_developer_gets_the_providers_reply_through_the_container(project, container, services, claude_bin):
    path, port, _ = project
    mock, _ = services
    home = path.parent / "home-dev"
    home.mkdir(exist_ok=True)
    installed = subprocess.run(["client/install.sh"], cwd=path, capture_output=True, text=True, timeout=60,
                               env=clean_env(home), check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    secret = dict(line.split("=", 1) for line in (path / "gateway" / ".env").read_text().splitlines()
                  if line and not line.startswith("#"))["GATEWAY_SESSION_SECRET"]
    sign_in(home, f"http://127.0.0.1:{port}", secret, "dev@example.com", "dev@example.com", ["engineering"])
    before = len(mock.messages_requests())
    result = subprocess.run(["sh", "-c", '. ./client/env.sh && exec "$CLAUDE_BIN" -p "say hi"'], cwd=path,
                            env=clean_env(home, CLAUDE_BIN=claude_bin), capture_output=True, text=True,
                            timeout=HANG_GUARD, stdin=subprocess.DEVNULL, check=False)
    assert result.returncode == 0, result.stdout + result.stderr + container.logs()[-3000:]
    assert DEFAULT_REPLY in result.stdout
    sent = mock.messages_requests()[before:]
    assert sent and {r.headers.get("x-api-key") for r in sent} == {UPSTREAM_KEY}
    assert '"evt":"inference"' in container.logs()


def test_sigterm_stops_it_after_its_drain(project, image, gateway_ca):
    path, _, database = project
    port = free_port()
    with Container(image, run_args(path, port, database, gateway_ca.cert_path), stop_timeout=20) as running:
        wait_ready(f"http://127.0.0.1:{port}", running)
        started = time.monotonic()
        podman("stop", "-t", "20", running.id, timeout=80)
        stopped = time.monotonic() - started
        state = json.loads(podman("inspect", running.id).stdout)[0]["State"]
    assert state["ExitCode"] == 0, state
    assert stopped < 15, f"podman stop took {stopped:.1f} s: SIGTERM did not end it (it was killed at the timeout)"


def test_podman_ran_with_the_repositorys_configuration():
    assert CONTAINERS_CONF.is_file()
    info = json.loads(podman("info", "--format", "json").stdout)
    assert info["host"]["ociRuntime"]["name"] == "runc"


# ---- compose -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose_project(copie_module, template_repo, gateway_ca):
    """Pattern C on compose over https (the gateway serves the certificate itself), the config written by
    `gateway/run-local.sh config` as the compose file's header says."""
    port = free_port()
    result = copie_module.copy(template_dir=template_repo, extra_answers={
        "cost_tracking": True, "gateway_engine": "claude_apps_gateway", "gateway_runtime": "docker",
        "gateway_port": port, "gateway_bind": "127.0.0.1", "gateway_url": f"https://localhost:{port}",
        "oidc_issuer": f"https://{ISSUER_SERVICE}:{ISSUER_PORT}", "oidc_client_id": "claude-gateway-test",
        # A private CA: the gateway checks its own certificate's chain at boot (NODE_EXTRA_CA_CERTS, mounted).
        "corporate_ca_cert": str(gateway_ca.cert_path)})
    assert result.exception is None, result.exception
    project = result.project_dir
    leaf = gateway_ca.issue(project.parent / f"tls-{port}", names=("localhost", "127.0.0.1"), chain=True)
    gateway_ca.issue(project.parent / "tls-issuer", names=(ISSUER_SERVICE,), chain=True)
    os.chown(leaf.key_path, apps_gateway.CONTAINER_UID, -1)  # what the compose file asks: the container's user reads it
    for step in (["scripts/init-secrets.sh"], ["gateway/run-local.sh", "config"]):
        if step[0] == "gateway/run-local.sh":
            fill_in(project / "gateway" / ".env", OIDC_CLIENT_SECRET="issuer-test-client-secret", ANTHROPIC_API_KEY=UPSTREAM_KEY,
                    GATEWAY_TLS_CERT=str(leaf.cert_path), GATEWAY_TLS_KEY=str(leaf.key_path))
        done = subprocess.run(step, cwd=project, capture_output=True, text=True, timeout=60,
                              env=clean_env(project.parent), check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    return project, port


def test_compose_runs_the_gateway_and_its_postgres(compose_project, gateway_ca, tmp_path):
    project, port = compose_project
    image, _ = gateway_image(project)
    podman("tag", image, apps_gateway.image())  # the compose file's image: built, so compose does not build it
    override = tmp_path / "test-override.yml"
    standins = standins_image()
    override.write_text(json.dumps({"services": {
        "postgres": {"image": standins},
        ISSUER_SERVICE: {"image": standins, "entrypoint": [
            "python3", "/usr/local/bin/issuer-standin", ISSUER_SERVICE, str(ISSUER_PORT), "/tls/cert.pem",
            "/tls/key.pem"], "volumes": [f"{SUPPORT_DIR}:/opt/support:ro", f"{project.parent / 'tls-issuer'}:/tls:ro"]},
    }}))
    files = [project / "gateway" / "docker-compose.yml", override]
    name = f"agw-test-{port}"
    context = ssl.create_default_context(cafile=str(gateway_ca.cert_path))
    secrets = dict(line.split("=", 1) for line in (project / "gateway" / ".env").read_text().splitlines()
                   if line and not line.startswith("#"))
    try:
        compose(project / "gateway", name, files, "up", "-d")
        deadline, status = time.monotonic() + 90, None
        while time.monotonic() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"https://localhost:{port}/readyz", timeout=3, context=context) as reply:
                    status = reply.status
            except OSError:
                time.sleep(1)
        logs = "\n".join(podman("logs", f"{name}_{service}_1", check=False).stdout
                          + podman("logs", f"{name}_{service}_1", check=False).stderr for service in ("postgres", ISSUER_SERVICE, "gateway"))
        assert status == 200, logs[-4000:] + podman("ps", "-a").stdout
        assert "migration 8 applied" in logs
        request = urllib.request.Request(
            f"https://localhost:{port}/v1/organizations/spend_limits", method="POST",
            data=json.dumps({"scope": {"type": "organization"}, "amount": "5000", "period": "monthly"}).encode(),
            headers={"x-api-key": secrets["GATEWAY_ADMIN_WRITE_KEY"], "content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10, context=context) as reply:
            assert reply.status in (200, 201)
        gateway_id = podman("ps", "-q", "--filter", f"label=io.podman.compose.project={name}",
                            "--filter", "label=com.docker.compose.service=gateway").stdout.split()
        assert gateway_id and podman("healthcheck", "run", gateway_id[0], check=False).returncode == 0
        started = time.monotonic()
        compose(project / "gateway", name, files, "stop", timeout=120)
        assert time.monotonic() - started < apps_gateway.STOP_TIMEOUT_SECONDS + 20
    finally:
        compose(project / "gateway", name, files, "down", "-v", check=False, timeout=180)
        podman("network", "rm", "-f", f"{name}_default", check=False)  # podman-compose 1.0.3 leaves it


# ---- Kubernetes: podman kube play -----------------------------------------------------------------------------------
def test_podman_kube_play_runs_the_deployment_and_configmap(copie_module, template_repo, services, gateway_ca,
                                                           gateway_db, tmp_path):
    mock, issuer = services
    result = copie_module.copy(template_dir=template_repo, extra_answers={
        "cost_tracking": True, "gateway_engine": "claude_apps_gateway", "gateway_runtime": "kubernetes",
        "gateway_url": "https://claude-gateway.example.com", "oidc_issuer": issuer.url,
        "oidc_client_id": issuer.client_id, "anthropic_base_url": container_url(mock.url),
        "corporate_ca_cert": str(gateway_ca.cert_path)})
    assert result.exception is None, result.exception
    project = result.project_dir
    image, _ = gateway_image(project)
    podman("tag", image, apps_gateway.image())
    folder = project / "gateway" / "kubernetes"
    [configmap] = [d for d in yaml.safe_load_all((folder / "configmap.yaml").read_text()) if d]
    [deployment] = [d for d in yaml.safe_load_all((folder / "deployment.yaml").read_text()) if d]
    pod = deployment["spec"]["template"]["spec"]
    port = free_port()
    deployment["spec"]["replicas"] = 1
    pod["containers"][0]["ports"][0].update(hostIP="127.0.0.1", hostPort=port)
    pod["hostAliases"] = [{"ip": HOST_LOOPBACK, "hostnames": [HOST_NAME]}]
    for name, value in TEST_GATEWAY_ENV.items():
        pod["containers"][0]["env"].append({"name": name, "value": value})
    ca = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{apps_gateway.KUBERNETES_NAME}-ca"},
          "data": {"ca.pem": gateway_ca.cert_path.read_text()}}
    played = tmp_path / "play.yaml"
    played.write_text(yaml.safe_dump_all([configmap, ca, deployment]))
    session_secret = "kube-play-session-secret-" + "0" * 40
    values = {"GATEWAY_SESSION_SECRET": session_secret, "GATEWAY_ADMIN_READ_KEY": "r" * 64,
              "GATEWAY_ADMIN_WRITE_KEY": "w" * 64, "GATEWAY_ACCESS_SYNC_KEY": "a" * 64,
              "OIDC_CLIENT_SECRET": issuer.client_secret, "ANTHROPIC_API_KEY": UPSTREAM_KEY,
              "APPS_GATEWAY_DATABASE_URL": gateway_db.create_database("gateway_kube").replace("127.0.0.1", HOST_LOOPBACK)}
    # podman kube play reads a Secret named in envFrom from podman's own secrets (JSON, values base64).
    secret_name = f"{apps_gateway.KUBERNETES_NAME}-secrets"
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in values.items()}))
    podman("secret", "rm", secret_name, check=False)
    podman("secret", "create", secret_name, str(secret_file))
    secret_file.unlink()
    try:
        podman("kube", "play", "--network", NETWORK, str(played))
        container = Container(image, [])
        container.id = podman("ps", "-q", "--filter", "name=-gateway$").stdout.split()[0]
        wait_ready(f"http://127.0.0.1:{port}", container)
        assert container.exec("id", "-u").stdout.strip() == str(apps_gateway.CONTAINER_UID)
        assert container.exec("touch", "/etc/x").returncode != 0  # readOnlyRootFilesystem
        token = mint_session(session_secret, "https://claude-gateway.example.com", "kube@example.com",
                             "kube@example.com", ["engineering"])
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/messages", method="POST", data=json.dumps({
            "model": "claude-sonnet-5-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}).encode(),
            headers={"authorization": f"Bearer {token}", "content-type": "application/json",
                     "anthropic-version": "2023-06-01"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status == 200 and DEFAULT_REPLY in reply.read().decode()
    finally:
        podman("kube", "down", str(played), check=False, timeout=120)
        podman("volume", "rm", "-f", configmap["metadata"]["name"], ca["metadata"]["name"], check=False)
        podman("secret", "rm", secret_name, check=False)
