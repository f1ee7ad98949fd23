"""The Claude apps gateway with LiteLLM behind it on Kubernetes (gateway_engine=claude_apps_gateway_with_litellm,
gateway_runtime=kubernetes): both engines' manifests side by side in gateway/kubernetes/, LiteLLM reachable from the
front's pods only, the front's upstream at LiteLLM's Service, and the one scripts/deploy-kubernetes.sh, run with a
fake `kubectl` that records its calls (no cluster and no LiteLLM image here; `podman kube play` is no API server).
Projects are rendered once per module (copier in-process)."""

from __future__ import annotations

import re
import stat
import subprocess
from collections import Counter
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from answers import complete_answers
from claude_gateway_template import apps_gateway, gateway, rules, sso_front
from environment import clean_env
from generated import kubernetes_manifests as manifests
from generated import kubernetes_resources as resources
from golden_trees import render_all

ENGINE = "claude_apps_gateway_with_litellm"
PROXY = "http://proxy.example.com:8080"
FRONT = apps_gateway.KUBERNETES_NAME
BASE = {"cost_tracking": True, "gateway_engine": ENGINE, "gateway_runtime": "kubernetes",
        "gateway_url": "https://claude-gateway.corp.example.com", "oidc_issuer": "https://login.example.com"}
VARIANTS = {
    "c-database": {**BASE, "providers": ["anthropic", "bedrock"], "spend_database": True,
                   "kubernetes_redis": "external"},
    "c-no-database": {**BASE, "spend_database": False, "kubernetes_redis": "external"},
    "d-database-in-cluster": {**BASE, "corporate_proxy": True, "proxy_url": PROXY, "spend_database": True,
                              "corporate_ca_cert": "/etc/ssl/corp-root.pem", "kubernetes_redis": "in_cluster"},
    "d-no-database": {**BASE, "corporate_proxy": True, "proxy_url": PROXY, "spend_database": False,
                      "kubernetes_redis": "in_cluster"},
}
VERSIONS = [f"{gateway.KUBERNETES_MIN_VERSION}.0", f"{gateway.KUBERNETES_NEWEST_VERSION}.0"]
SECRET_VALUES = {
    "OIDC_CLIENT_SECRET": "oidc-secret-value",
    "APPS_GATEWAY_DATABASE_URL": "postgresql://gw:gw-db-secret-value@db.example.com:5432/gw",
    "DATABASE_URL": "postgresql://litellm:litellm-db-secret-value@db.example.com:5432/litellm",
    "REDIS_URL": "rediss://:redis-secret-value@redis.example.com:6380/0",
    "ANTHROPIC_API_KEY": "sk-ant-upstream-secret-value",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLESECRETVALUE",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-access-secret-value",
}


@pytest.fixture(scope="module")
def projects(template_repo, tmp_path_factory) -> dict[str, Path]:
    return render_all(template_repo, tmp_path_factory.mktemp("sso-front-kubernetes"), VARIANTS)


def find(project: Path, kind: str, name: str) -> dict:
    [found] = [r for r in resources(project) if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def pod_labels(project: Path) -> dict[str, dict]:
    """Every pod template's labels, by its Deployment's or Job's name."""
    return {r["metadata"]["name"]: r["spec"]["template"]["metadata"]["labels"] for r in resources(project)
            if r["kind"] in ("Deployment", "Job")}


def container_port(deployment: dict, name: str = "http") -> int:
    [port] = [p["containerPort"] for c in deployment["spec"]["template"]["spec"]["containers"]
              for p in c.get("ports", []) if p["name"] == name]
    return port


# -------------------------------------------------------------------------------------------------------
# The manifests
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(projects, variant, version):
    for doc in resources(projects[variant]):
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("variant", VARIANTS)
def test_both_engines_side_by_side_without_a_clash(projects, variant):
    project, answers = projects[variant], VARIANTS[variant]
    names = [(r["kind"], r["metadata"]["name"]) for r in resources(project)]
    assert [pair for pair, count in Counter(names).items() if count > 1] == []
    kustomization = yaml.safe_load((project / "gateway" / "kubernetes" / "kustomization.yaml").read_text())
    on_disk = sorted(manifests(project))
    assert sorted(kustomization["resources"]) == on_disk and len(set(kustomization["resources"])) == len(on_disk)
    # The front's files keep their plain names; every LiteLLM resource lives in a litellm-*.yaml file and is named so.
    for name, docs in manifests(project).items():
        for doc in docs:
            owner = doc["metadata"].get("labels", {}).get("app.kubernetes.io/name", "")
            if doc["kind"] == "Namespace":
                continue
            if owner.startswith("litellm"):
                assert name.startswith("litellm-") and doc["metadata"]["name"].startswith("litellm"), (name, doc)
            else:
                assert owner == FRONT and not name.startswith("litellm-"), (name, doc)
    assert {"deployment.yaml", "service.yaml", "configmap.yaml", "ingress.yaml", "networkpolicy.yaml",
            "poddisruptionbudget.yaml", "litellm-deployment.yaml", "litellm-service.yaml", "litellm-configmap.yaml",
            "litellm-poddisruptionbudget.yaml", "litellm-horizontalpodautoscaler.yaml",
            "litellm-networkpolicy.yaml"} <= set(on_disk)
    assert ("litellm-migration-job.yaml" in on_disk) == answers["spend_database"]
    assert ("litellm-redis-deployment.yaml" in on_disk) == (answers["kubernetes_redis"] == "in_cluster")
    assert ("litellm-proxy-configmap.yaml" in on_disk) == bool(answers.get("corporate_proxy"))
    # Neither engine's local runtime files, nor LiteLLM's own Kubernetes page (the topic page covers both).
    for absent in ("gateway/docker-compose.yml", "gateway/run-local.sh", "gateway/run-litellm.sh", "docs/kubernetes.md"):
        assert not (project / absent).exists(), absent


@pytest.mark.parametrize("variant", VARIANTS)
def test_litellm_has_no_ingress_and_a_cluster_ip_service(projects, variant):
    project = projects[variant]
    ingresses = [r for r in resources(project) if r["kind"] == "Ingress"]
    assert [i["metadata"]["name"] for i in ingresses] == [FRONT]
    backends = {path["backend"]["service"]["name"] for rule in ingresses[0]["spec"]["rules"]
                for path in rule["http"]["paths"]}
    assert backends == {FRONT}
    service = find(project, "Service", gateway.KUBERNETES_NAME)["spec"]
    assert service["type"] == "ClusterIP" and "externalIPs" not in service and "nodePort" not in str(service)
    deployment = find(project, "Deployment", gateway.KUBERNETES_NAME)
    assert selects(service["selector"], deployment["spec"]["template"]["metadata"]["labels"])
    assert not selects(service["selector"], pod_labels(project)[FRONT])


@pytest.mark.parametrize("variant", VARIANTS)
def test_litellm_admits_the_front_pods_only_on_its_port(projects, variant):
    project = projects[variant]
    litellm = find(project, "Deployment", gateway.KUBERNETES_NAME)
    front = find(project, "Deployment", FRONT)
    port = container_port(litellm)
    policy = find(project, "NetworkPolicy", gateway.KUBERNETES_NAME)["spec"]
    assert "Ingress" in policy["policyTypes"]
    assert selects(policy["podSelector"]["matchLabels"], litellm["spec"]["template"]["metadata"]["labels"])
    [rule] = policy["ingress"]
    [source] = rule["from"]
    assert list(source) == ["podSelector"]  # no namespaceSelector, no ipBlock: pods of this namespace only
    selector = source["podSelector"]["matchLabels"]
    assert selector == front["spec"]["selector"]["matchLabels"]
    matched = [name for name, labels in pod_labels(project).items() if selects(selector, labels)]
    assert matched == [FRONT]  # exactly the front's pods: not LiteLLM's, its Redis's or the migration Job's
    assert rule["ports"] == [{"port": port, "protocol": "TCP"}]
    # ...and the front may go out to them, on that port.
    front_policy = find(project, "NetworkPolicy", FRONT)["spec"]
    [egress] = [r for r in front_policy["egress"] if "podSelector" in r["to"][0]]
    assert selects(egress["to"][0]["podSelector"]["matchLabels"], litellm["spec"]["template"]["metadata"]["labels"])
    assert egress["ports"] == [{"port": port, "protocol": "TCP"}]


@pytest.mark.parametrize("variant", VARIANTS)
def test_front_upstream_is_the_litellm_service_without_loopback(projects, variant):
    project = projects[variant]
    service = find(project, "Service", gateway.KUBERNETES_NAME)
    [service_port] = service["spec"]["ports"]
    litellm = find(project, "Deployment", gateway.KUBERNETES_NAME)
    assert service_port["targetPort"] == "http" and container_port(litellm) == gateway.KUBERNETES_PORT
    expected = (f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc:"
                f"{service_port['port']}")
    [configmap] = [r for r in resources(project) if r["kind"] == "ConfigMap"
                   and r["metadata"]["name"].startswith(f"{FRONT}-config-")]
    config = yaml.safe_load(configmap["data"]["claude-apps-gateway.yaml"])
    [upstream] = config["upstreams"]
    assert upstream["base_url"] == expected == sso_front.litellm_url(VARIANTS[variant])
    assert upstream["provider"] == "anthropic" and upstream["forward_user_identity"] is True
    assert upstream["auth"]["api_key"] == "${" + sso_front.front_key_var(VARIANTS[variant]) + "}"
    # The front runs without the loopback switch (only the process runtime needs it).
    for path in [*(project / "gateway").rglob("*"), project / "scripts" / "deploy-kubernetes.sh"]:
        if path.is_file():
            assert "CLAUDE_GATEWAY_ALLOW_LOOPBACK" not in path.read_text(), path
    env = {e["name"]: e.get("value") for e in
           find(project, "Deployment", FRONT)["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    if VARIANTS[variant].get("corporate_proxy"):  # the front reaches LiteLLM directly, never through the proxy
        no_proxy = env["NO_PROXY"].split(",")
        assert f"{gateway.KUBERNETES_NAME}.{gateway.KUBERNETES_NAMESPACE}.svc" in no_proxy and ".svc" in no_proxy
        assert env["HTTPS_PROXY"] == PROXY


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_value_in_any_file(projects, variant):
    project = projects[variant]
    assert not [r for r in resources(project) if r["kind"] == "Secret"]
    for labels_name, spec in [(r["metadata"]["name"], r["spec"]["template"]["spec"]) for r in resources(project)
                              if r["kind"] in ("Deployment", "Job")]:
        for container in spec["containers"]:
            for env in container.get("env", []):
                if any(word in env["name"] for word in ("KEY", "PASSWORD", "TOKEN", "SECRET", "DATABASE_URL",
                                                        "REDIS_URL")):
                    assert "value" not in env, (labels_name, env)
    # Each engine reads its own Secret.
    secret_refs = {r["metadata"]["name"]: {e["secretRef"]["name"] for c in r["spec"]["template"]["spec"]["containers"]
                                           for e in c.get("envFrom", []) if "secretRef" in e}
                   for r in resources(project) if r["kind"] == "Deployment" and r["metadata"]["name"] != "litellm-redis"}
    assert secret_refs == {FRONT: {f"{FRONT}-secrets"}, gateway.KUBERNETES_NAME: {"litellm-secrets"}}
    # No key and no URL with a password but the placeholder `password` of the examples, in any generated file.
    text = "".join(p.read_text(errors="replace") for p in project.rglob("*")
                   if p.is_file() and p.relative_to(project).as_posix() != "gateway/.env")
    assert not re.search(r"sk-[A-Za-z0-9]{8}|://[^/@\s:]*:(?!password@)[^/@\s$]+@", text)


def test_kubernetes_redis_is_checked_for_this_engine():
    errors = rules.answer_errors(complete_answers(**{**VARIANTS["c-database"], "kubernetes_redis": "somewhere"}))
    assert [error for error in errors if error.startswith("kubernetes_redis")]
    assert not rules.answer_errors(complete_answers(**VARIANTS["d-no-database"]))


# -------------------------------------------------------------------------------------------------------
# scripts/deploy-kubernetes.sh, with a fake kubectl
# -------------------------------------------------------------------------------------------------------
FAKE_KUBECTL = r"""#!/usr/bin/env bash
# A stand-in for kubectl: records each call's arguments, answers what the scripts read.
printf '%s\n' "$*" >>"$KUBECTL_LOG"
case "$*" in
  "version --client -o json")
    printf '{\n  "clientVersion": {\n    "major": "1",\n    "minor": "30",\n    "gitVersion": "v1.30.0"\n  }\n}\n' ;;
  kustomize*) cat "$2"/*.yaml ;;
  *" get "*)
    for arg; do case $arg in secret/*|configmap/*) [ -e "$KUBECTL_STATE/${arg/\//.}" ] || exit 1 ;; esac; done ;;
  *"create secret generic"*|*"create configmap"*)
    set -- $*; while [ "$1" != create ]; do shift; done
    object=$2.$([ "$2" = secret ] && echo "$4" || echo "$3")
    touch "$KUBECTL_STATE/$object"
    for arg; do case $arg in --from-env-file=*) cp "${arg#*=}" "$KUBECTL_STATE/$object.env" ;; esac; done ;;
  *" delete "*)
    for arg; do case $arg in secret/*|configmap/*) rm -f "$KUBECTL_STATE/${arg/\//.}" ;; esac; done ;;
  *"apply -f -"*) cat >>"$KUBECTL_LOG.applied" ;;
  *"apply -f /"*) for arg; do case $arg in /*) cat "$arg" >>"$KUBECTL_LOG.applied" ;; esac; done ;;
  *"rollout status deployment/"*)
    case "$*" in *"deployment/${KUBECTL_FAIL_ROLLOUT:-none} "*) echo "timed out" >&2; exit 1 ;; esac ;;
  *" port-forward "*)
    [ -z "${KUBECTL_FORWARD_FAILS:-}" ] || { echo 'error: services "litellm" not found' >&2; exit 1; }
    echo "Forwarding from 127.0.0.1:$KUBECTL_FORWARD_PORT -> 4000"
    echo "Forwarding from [::1]:$KUBECTL_FORWARD_PORT -> 4000"
    exec sleep 30 ;;
esac
"""


def fake_env(tmp_path: Path, **extra: str) -> tuple[dict[str, str], Path, Path]:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    fake = fake_bin / "kubectl"
    fake.write_text(FAKE_KUBECTL)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    log, state = tmp_path / "kubectl.log", tmp_path / "cluster"
    log.write_text("")
    state.mkdir(exist_ok=True)
    env = clean_env(tmp_path, PATH=f"{fake_bin}:/usr/bin:/bin", KUBECTL_LOG=str(log), KUBECTL_STATE=str(state),
                    **extra)
    return env, log, state


def deploy(project: Path, tmp_path: Path, *args: str, **extra: str):
    env, log, state = fake_env(tmp_path, **extra)
    result = subprocess.run(["scripts/deploy-kubernetes.sh", *args], cwd=project, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    return result, log.read_text().splitlines(), state


def with_env(project: Path) -> Path:
    """gateway/.env as init-secrets.sh writes it, filled in as the docs say."""
    if (project / "gateway" / ".env").exists():
        return project
    home = project.parent / f"home-{project.name}"
    home.mkdir(exist_ok=True)
    init = subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(home), capture_output=True,
                          text=True, timeout=60, check=False)
    assert init.returncode == 0, init.stdout + init.stderr
    lines = []
    for line in (project / "gateway" / ".env").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={SECRET_VALUES[name]}" if line == f"{name}=" and name in SECRET_VALUES else line)
    (project / "gateway" / ".env").write_text("\n".join(lines) + "\n")
    return project


def secret_keys(state: Path, prefix: str) -> dict[str, str]:
    [path] = state.glob(f"secret.{prefix}-secrets-*.env")
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


@pytest.mark.parametrize("variant", ["c-database", "d-no-database"])
def test_deploy_creates_a_secret_per_engine_then_migrates_then_rolls_litellm_then_the_front(projects, variant,
                                                                                           tmp_path):
    project, answers = with_env(projects[variant]), VARIANTS[variant]
    result, calls, state = deploy(project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    def first(fragment: str) -> int:
        return next(i for i, call in enumerate(calls) if fragment in call)

    front_at, litellm_at = first(f"create secret generic {FRONT}-secrets-"), first("create secret generic litellm-secrets-")
    dry_at = first("--dry-run=server")
    assert front_at < dry_at and litellm_at < dry_at
    if answers["spend_database"]:
        job = gateway.migration_job_name()
        assert litellm_at < first(f"wait --for=condition=complete job/{job}") < dry_at
    else:
        assert not [call for call in calls if "wait --for" in call]
    assert first("rollout status deployment/litellm ") < first(f"rollout status deployment/{FRONT} ")
    # The front's Secret holds its own keys and its key at LiteLLM; LiteLLM's holds LiteLLM's. Never both ways.
    front, litellm = secret_keys(state, FRONT), secret_keys(state, "litellm")
    front_key = sso_front.front_key_var(answers)
    assert front_key in front and "OIDC_CLIENT_SECRET" in front and "GATEWAY_SESSION_SECRET" in front
    assert {"LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "REDIS_URL", "ANTHROPIC_API_KEY"} <= set(litellm)
    assert not {"LITELLM_SALT_KEY", "ANTHROPIC_API_KEY", "REDIS_URL", "DATABASE_URL"} & set(front)
    assert not {"OIDC_CLIENT_SECRET", "GATEWAY_SESSION_SECRET", "APPS_GATEWAY_DATABASE_URL",
                sso_front.FRONT_KEY} & set(litellm)
    if answers["spend_database"]:
        assert "LITELLM_MASTER_KEY" not in front and "DATABASE_URL" in litellm
    else:
        assert front["LITELLM_MASTER_KEY"] == litellm["LITELLM_MASTER_KEY"]
    shown = "\n".join(calls) + result.stdout + result.stderr
    assert not [value for value in {**front, **litellm}.values() if value in shown]
    # The manifests name this release's Secrets and ConfigMaps, not the plain names.
    applied = (tmp_path / "kubectl.log.applied").read_text()
    for plain in (f"{FRONT}-secrets", "litellm-secrets", "litellm-config-local"):
        assert f"name: {plain}\n" not in applied and re.search(rf"name: {plain}-[0-9a-f]{{10}}\n", applied), plain


def test_a_failed_litellm_rollout_is_undone_and_the_front_not_rolled(projects, tmp_path):
    project = with_env(projects["c-database"])
    result, calls, _ = deploy(project, tmp_path, KUBECTL_FAIL_ROLLOUT="litellm")
    assert result.returncode == 1
    assert "deployment/litellm did not become ready" in result.stderr
    assert any("rollout undo deployment/litellm" in call for call in calls)
    assert not [call for call in calls if f"rollout status deployment/{FRONT}" in call]


def test_dry_run_names_both_secrets_and_changes_nothing(projects, tmp_path):
    project = with_env(projects["c-database"])
    result, calls, _ = deploy(project, tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"secret/{FRONT}-secrets-" in result.stdout and "secret/litellm-secrets-" in result.stdout
    assert f"job/{gateway.migration_job_name()}" in result.stdout
    assert not [call for call in calls if " create " in call or " apply " in call]


# -------------------------------------------------------------------------------------------------------
# The admin scripts' route to LiteLLM: a bounded kubectl port-forward
# -------------------------------------------------------------------------------------------------------
def kube_forward(project: Path, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    env, _, _ = fake_env(tmp_path, KUBECTL_FORWARD_PORT="41234", **extra)
    script = ('. scripts/lib/common.sh; kube_forward claude-gateway litellm 4000 20 || exit 1; '
              'echo "url=$kube_forward_url"; kill -0 "$kube_forward_pid" && echo up; kill "$kube_forward_pid"; '
              'wait "$kube_forward_pid" 2>/dev/null; kill -0 "$kube_forward_pid" 2>/dev/null || echo stopped')
    return subprocess.run(["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def test_kube_forward_gives_a_local_url_and_stops_by_its_pid(projects, tmp_path):
    result = kube_forward(projects["c-database"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["url=http://127.0.0.1:41234", "up", "stopped"]
    assert "port-forward service/litellm :4000" in (tmp_path / "kubectl.log").read_text()


def test_kube_forward_failure_is_one_line(projects, tmp_path):
    result = kube_forward(projects["c-database"], tmp_path, KUBECTL_FORWARD_FAILS="1")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [(
        'bash: kubectl port-forward to service/litellm in namespace claude-gateway did not start: '
        'error: services "litellm" not found')]


@pytest.mark.parametrize("script", ["sync-access.sh", "health-check.sh", "conformance.sh"])
def test_admin_scripts_reach_litellm_through_the_forward(projects, script):
    text = (projects["c-database"] / "scripts" / script).read_text()
    call = (f'kube_forward {gateway.KUBERNETES_NAMESPACE} {gateway.KUBERNETES_NAME} {gateway.KUBERNETES_PORT} '
            f'{gateway.PORT_FORWARD_SECONDS}')
    assert call in text and '[ -z "${LITELLM_URL:-}" ]' in text  # LITELLM_URL overrides the route
    after = text.split(call, 1)[1].split('exit "$status"', 1)[0]  # up to the end of the LiteLLM step
    assert "LITELLM_URL=$kube_forward_url" in after and 'kill "$kube_forward_pid"' in after
    assert "exec " not in after  # the EXIT trap must still run to stop the forward
    if script != "conformance.sh":  # (there the cluster URL is only the offline run's placeholder)
        assert sso_front.litellm_url(VARIANTS["c-database"]) not in text  # never the cluster URL from outside


def test_generated_trees_pass_shellcheck(projects, shellcheck):
    for project in projects.values():
        checked = shellcheck(project)
        assert {"scripts/deploy-kubernetes.sh", "scripts/sync-access.sh", "scripts/lib/common.sh"} <= set(checked)
