"""The gateway on Kubernetes (gateway_runtime=kubernetes): gateway/kubernetes/ validated offline against the
Kubernetes OpenAPI schemas (kubernetes-validate, the oldest and newest versions targeted), what each manifest must
say, and scripts/deploy-kubernetes.sh with a fake `kubectl` that records its calls (no cluster, no real kubectl
is installable here). Projects are rendered once per module (copier in-process)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from answers import complete_answers
from claude_gateway_template import apps_gateway, gateway, rules, versions
from environment import clean_env
from generated import kubernetes_manifests as manifests
from generated import kubernetes_resources as resources
from golden_trees import render_all
from hypothesis import given, settings
from hypothesis import strategies as st

PROXY = "http://proxy.example.com:8080"
URL = "https://llm-gateway.example.com"
K8S = {"cost_tracking": True, "gateway_runtime": "kubernetes", "gateway_url": URL}
VARIANTS = {
    "c-database-external": {**K8S, "spend_database": True, "kubernetes_redis": "external"},
    "c-in-cluster": {**K8S, "spend_database": False, "kubernetes_redis": "in_cluster"},
    "d-database-in-cluster": {**K8S, "corporate_proxy": True, "proxy_url": PROXY, "spend_database": True,
                              "corporate_ca_cert": "/etc/ssl/corp-root.pem", "kubernetes_redis": "in_cluster"},
    "d-external-workers": {**K8S, "corporate_proxy": True, "proxy_url": PROXY, "spend_database": False,
                           "kubernetes_redis": "external", "gateway_workers": 2, "providers": ["anthropic", "bedrock"]},
}
VERSIONS = [f"{gateway.KUBERNETES_MIN_VERSION}.0", f"{gateway.KUBERNETES_NEWEST_VERSION}.0"]
JOB = "litellm-migrate-" + versions.LITELLM_VERSION.replace(".", "-")


@pytest.fixture(scope="module")
def projects(template_repo, tmp_path_factory) -> dict[str, Path]:
    return render_all(template_repo, tmp_path_factory.mktemp("kubernetes"), VARIANTS)


def kind(project: Path, wanted: str, name: str = "litellm") -> dict:
    return next(r for r in resources(project) if r["kind"] == wanted and r["metadata"]["name"] == name)


def pod_specs(project: Path) -> list[tuple[str, dict]]:
    return [(r["metadata"]["name"], r["spec"]["template"]["spec"]) for r in resources(project)
            if r["kind"] in ("Deployment", "Job")]


# -------------------------------------------------------------------------------------------------------
# Offline schema validation, every manifest, the oldest and the newest Kubernetes targeted
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(projects, variant, version):
    checked = 0
    for docs in manifests(projects[variant]).values():
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)  # raises on an unknown or mistyped field
            assert doc["metadata"]["namespace" if doc["kind"] != "Namespace" else "name"] == gateway.KUBERNETES_NAMESPACE
            checked += 1
    assert checked >= 9


@pytest.mark.parametrize("variant", VARIANTS)
def test_kustomization_lists_every_manifest(projects, variant):
    folder = projects[variant] / "gateway" / "kubernetes"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    on_disk = sorted(p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(kustomization["resources"]) == on_disk
    assert kustomization["namespace"] == gateway.KUBERNETES_NAMESPACE
    answers = VARIANTS[variant]
    assert ("migration-job.yaml" in on_disk) == answers["spend_database"]
    assert ("redis-deployment.yaml" in on_disk) == (answers["kubernetes_redis"] == "in_cluster")
    assert ("proxy-configmap.yaml" in on_disk) == bool(answers.get("corporate_proxy"))
    # The local runtimes' files are not generated next to the manifests.
    assert not (projects[variant] / "gateway" / "docker-compose.yml").exists()
    assert not (projects[variant] / "gateway" / "run-local.sh").exists()


# -------------------------------------------------------------------------------------------------------
# What the manifests must say
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_container_runs_non_root_with_limits_and_pinned_images(projects, variant):
    for name, spec in pod_specs(projects[variant]):
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] > 0, name
            assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"]
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            image, _, tag = container["image"].rpartition(":")
            assert image and tag and "latest" not in tag, container["image"]
    images = [line for p in (projects[variant] / "gateway" / "kubernetes").glob("*.yaml")
              for line in p.read_text().splitlines() if line.strip().startswith("image:")]
    assert images and not [line for line in images if "latest" in line]


@pytest.mark.parametrize("variant", VARIANTS)
def test_long_running_containers_have_probes(projects, variant):
    for resource in resources(projects[variant]):
        if resource["kind"] != "Deployment":
            continue  # the migration Job runs to completion: a probe could only restart it midway
        for container in resource["spec"]["template"]["spec"]["containers"]:
            assert container["livenessProbe"] and container["readinessProbe"], resource["metadata"]["name"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_gateway_deployment_rolls_safely(projects, variant):
    answers = VARIANTS[variant]
    deployment = kind(projects[variant], "Deployment")
    spec, pod = deployment["spec"], deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["terminationGracePeriodSeconds"] >= 600
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    assert container["image"] == f"ghcr.io/berriai/litellm-non_root:v{versions.LITELLM_VERSION}"
    assert container["securityContext"]["runAsUser"] == gateway.NON_ROOT_UID
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"mountPath": "/tmp", "name": "tmp"} in container["volumeMounts"]
    assert {v["name"]: v for v in pod["volumes"]}["tmp"]["emptyDir"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/liveliness"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    assert container["args"][container["args"].index("--num_workers") + 1] == str(answers.get("gateway_workers", 1))
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert ("DISABLE_SCHEMA_UPDATE" in env) == answers["spend_database"]
    assert "ANTHROPIC_BASE_URL" not in env
    assert {"secretRef": {"name": "litellm-secrets"}} == container["envFrom"][-1]  # the Secret wins
    hpa, pdb = kind(projects[variant], "HorizontalPodAutoscaler"), kind(projects[variant], "PodDisruptionBudget")
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["scaleTargetRef"]["name"] == "litellm"
    assert pdb["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("variant", VARIANTS)
def test_configmap_holds_exactly_the_gateway_config_and_its_hash_rolls_the_pods(projects, variant):
    project = projects[variant]
    config = (project / "gateway" / "litellm_config.yaml").read_text()
    digest = hashlib.sha256(config.encode()).hexdigest()
    # Named after its content: a new config is a new ConfigMap, the running pods keep theirs.
    assert kind(project, "ConfigMap", f"litellm-config-{digest[:10]}")["data"] == {"litellm_config.yaml": config}
    sources = kind(project, "Deployment")["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]
    assert sources[0] == {"configMap": {"name": f"litellm-config-{digest[:10]}"}}
    annotations = kind(project, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["checksum/config"] == hashlib.sha256(config.encode()).hexdigest()
    router = yaml.safe_load(config)["router_settings"]
    assert router["redis_url"] == "os.environ/REDIS_URL" and "redis_host" not in router


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_secret_value_in_any_manifest(projects, variant):
    """Secrets only by name: every env value that names a key, password or URL comes from the Secret."""
    for name, spec in pod_specs(projects[variant]):
        for container in spec["containers"]:
            for env in container.get("env", []):
                if any(word in env["name"] for word in ("KEY", "PASSWORD", "TOKEN", "DATABASE_URL", "REDIS_URL")):
                    assert "value" not in env and env["valueFrom"]["secretKeyRef"]["name"] == "litellm-secrets"
    assert not [r for r in resources(projects[variant]) if r["kind"] == "Secret"]
    text = "".join(p.read_text() for p in (projects[variant] / "gateway" / "kubernetes").glob("*"))
    assert not re.search(r"sk-[A-Za-z0-9]{8}|:[^/@\s]+@", text)  # no key, no URL with credentials


@pytest.mark.parametrize("variant", VARIANTS)
def test_network_policy_and_ingress(projects, variant):
    answers = VARIANTS[variant]
    policy = kind(projects[variant], "NetworkPolicy")["spec"]
    assert policy["ingress"][0]["from"] == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": gateway.INGRESS_NAMESPACE}}}]
    ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
    assert 53 in ports and (5432 in ports) == answers["spend_database"]
    if answers.get("corporate_proxy"):
        assert 443 not in ports and 8080 in ports  # only the corporate proxy
    else:
        https = next(rule for rule in policy["egress"] if rule["ports"][0]["port"] == 443)
        assert set(https["to"][0]["ipBlock"]["except"]) == set(gateway.PRIVATE_RANGES)
    ingress = kind(projects[variant], "Ingress")
    assert ingress["spec"]["tls"] == [{"hosts": ["llm-gateway.example.com"], "secretName": "litellm-tls"}]
    assert int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"


def test_pattern_d_mounts_the_union_ca_bundle_and_sets_the_proxy(projects):
    project = projects["d-database-in-cluster"]
    container = kind(project, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "SSL_CERT_FILE", "value": "/etc/claude-gateway/ca-bundle.pem"} in container["env"]
    assert {"configMapRef": {"name": "litellm-proxy-env"}} in container["envFrom"]
    proxy_env = kind(project, "ConfigMap", "litellm-proxy-env")["data"]
    assert proxy_env["HTTPS_PROXY"] == PROXY and ".svc" in proxy_env["NO_PROXY"]


def test_migration_job_is_versioned_and_only_migrates(projects):
    job = kind(projects["c-database-external"], "Job", JOB)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["litellm"] and container["args"] == ["--skip_server_startup"]
    assert {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "litellm-secrets", "key": "DATABASE_URL"}}} \
        in container["env"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_kubernetes_needs_the_ingress_https_url():
    base = complete_answers(**{**K8S, "gateway_url": ""})
    assert rules.answer_error("gateway_url", base).startswith(
        "gateway_url: empty, but the gateway runs on Kubernetes (gateway_runtime=kubernetes)")
    for url in ("http://llm.example.com", "https://llm.example.com/gw", "https://10.0.0.1", "https://llm.example.com:8443"):
        message = rules.answer_error("gateway_url", {**base, "gateway_url": url})
        assert message.startswith("gateway_url: ") and "\n" not in message, url
    assert rules.answer_error("gateway_url", {**base, "gateway_url": URL}) == ""


@pytest.mark.parametrize("host", ["llm_gw.example.com", "-llm.example.com", "llm-.example.com", "llm..example.com",
                                  "llm.example.com.", "a" * 64 + ".example.com", ("a" * 62 + ".") * 4 + "com"])
def test_an_ingress_host_must_be_an_rfc_1123_name(host):
    """Kubernetes refuses such an Ingress at deploy time; generation refuses it in one line."""
    answers = complete_answers(**{**K8S, "gateway_url": f"https://{host}"})
    message = rules.answer_error("gateway_url", answers)
    assert message.startswith(f"gateway_url: 'https://{host[:60]}") and "RFC 1123" in message, message
    assert "\n" not in message


@given(labels=st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True), min_size=2, max_size=5))
@settings(max_examples=100, deadline=None)
def test_every_rfc_1123_host_is_accepted(labels):
    host = ".".join(labels)
    if host.replace(".", "").isdigit():
        return  # an IP address: refused as such
    assert rules.answer_error("gateway_url", complete_answers(**{**K8S, "gateway_url": f"https://{host}"})) == ""


# -------------------------------------------------------------------------------------------------------
# scripts/deploy-kubernetes.sh with a fake kubectl
# -------------------------------------------------------------------------------------------------------
FAKE_KUBECTL = r"""#!/usr/bin/env bash
# A stand-in for kubectl: records each call's arguments, answers what deploy-kubernetes.sh reads.
printf '%s\n' "$*" >>"$KUBECTL_LOG"
case "$*" in
  "version --client -o json")
    printf '{\n  "clientVersion": {\n    "major": "1",\n    "minor": "%s",\n    "gitVersion": "v1.%s.0"\n  },\n  "kustomizeVersion": "v5.0.4"\n}\n' "$KUBECTL_MINOR" "$KUBECTL_MINOR" ;;
  kustomize*) cat "$2"/*.yaml ;;
  *" get "*)  # what is in the cluster: a file per object in $KUBECTL_STATE
    for arg; do case $arg in secret/*|configmap/*) [ -e "$KUBECTL_STATE/${arg/\//.}" ] || exit 1 ;; esac; done ;;
  *"create secret generic"*|*"create configmap"*)
    set -- $*; while [ "$1" != create ]; do shift; done
    object=$2.$([ "$2" = secret ] && echo "$4" || echo "$3")
    [ ! -e "$KUBECTL_STATE/$object" ] || { echo "AlreadyExists" >&2; exit 1; }
    touch "$KUBECTL_STATE/$object"
    for arg; do
      case $arg in --from-env-file=*) cp "${arg#*=}" "$KUBECTL_SECRET_COPY"; echo "${arg#*=}" >"$KUBECTL_SECRET_COPY.path" ;; esac
    done ;;
  *" delete "*)
    for arg; do case $arg in secret/*|configmap/*) rm -f "$KUBECTL_STATE/${arg/\//.}" ;; esac; done ;;
  *"apply -f -"*) cat >>"$KUBECTL_LOG.applied"; echo "job/x configured" ;;
  *"apply -f /"*) for arg; do case $arg in /*) cat "$arg" >>"$KUBECTL_LOG.applied" ;; esac; done ;;
  *"rollout status"*) [ -z "${KUBECTL_FAIL_ROLLOUT:-}" ] || { echo "timed out" >&2; exit 1; } ;;
esac
"""


def deploy(project: Path, tmp_path: Path, *args: str, kubectl: bool = True, minor: str = "30", **extra: str):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    if kubectl:
        fake = fake_bin / "kubectl"
        fake.write_text(FAKE_KUBECTL)
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    else:  # only bash: this machine may have a kubectl of its own in /usr/bin
        (fake_bin / "bash").symlink_to(shutil.which("bash"))
    log, secret, state = tmp_path / "kubectl.log", tmp_path / "secret.env", tmp_path / "cluster"
    log.write_text("")
    state.mkdir(exist_ok=True)
    path = f"{fake_bin}:/usr/bin:/bin" if kubectl else str(fake_bin)
    env = clean_env(tmp_path, PATH=path, KUBECTL_LOG=str(log), KUBECTL_MINOR=minor, KUBECTL_SECRET_COPY=str(secret),
                    KUBECTL_STATE=str(state), **extra)
    result = subprocess.run(["scripts/deploy-kubernetes.sh", *args], cwd=project, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    return result, log.read_text().splitlines(), secret


@pytest.fixture(scope="module")
def with_env(projects):
    """The database project with gateway/.env as init-secrets.sh writes it, filled in as the README says."""
    project = projects["c-database-external"]
    home = project.parent / "home"
    home.mkdir(exist_ok=True)
    init = subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(home), capture_output=True,
                          text=True, timeout=60, check=False)
    assert init.returncode == 0, init.stderr
    with (project / "gateway" / ".env").open("a") as env:
        env.write("ANTHROPIC_API_KEY=sk-ant-upstream-secret-value\n"
                  "DATABASE_URL=postgresql://litellm:db-secret-value@db.example.com:5432/litellm\n"
                  "REDIS_URL=rediss://:redis-secret-value@redis.example.com:6380/0\n")
    return project


def test_deploy_order_is_secret_then_awaited_migration_then_manifests(with_env, tmp_path):
    result, calls, secret = deploy(with_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    def first(fragment: str) -> int:
        return next(i for i, call in enumerate(calls) if fragment in call)

    secret_at = first("create secret generic litellm-secrets-")
    job_at, wait_at = first("apply -f -"), first(f"wait --for=condition=complete job/{JOB}")
    dry_at, rollout_at = first("--dry-run=server"), first("rollout status deployment/litellm")
    assert secret_at < job_at < wait_at < dry_at < rollout_at
    applies = [call for call in calls if "apply -f /" in call and "namespace.yaml" not in call]
    assert "--dry-run=server" in applies[0] and "--dry-run" not in applies[1]  # a server-side dry run first
    # The Secret holds exactly the keys the pods read; no value ever was on a command line.
    keys = dict(line.split("=", 1) for line in secret.read_text().splitlines())
    assert set(keys) == {"LITELLM_MASTER_KEY", "LITELLM_SALT_KEY", "DATABASE_URL", "REDIS_URL", "ANTHROPIC_API_KEY"}
    log = "\n".join(calls)
    for value in keys.values():
        assert value not in log and value not in result.stdout + result.stderr
    temporary = Path(Path(f"{secret}.path").read_text().strip())
    assert temporary.is_absolute() and not temporary.exists()  # the mode-600 temporary file is gone


def test_dry_run_prints_what_it_would_apply_and_changes_nothing(with_env, tmp_path):
    result, calls, _ = deploy(with_env, tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert re.search(r"secret/litellm-secrets-[0-9a-f]{10} with keys: LITELLM_MASTER_KEY LITELLM_SALT_KEY DATABASE_URL",
                     result.stdout)
    assert "kind: Deployment" in result.stdout and f"job/{JOB}" in result.stdout
    assert "secret-value" not in result.stdout
    assert not [call for call in calls if "apply" in call or "create" in call]


@pytest.mark.parametrize(("setup", "says"), [
    ("no-kubectl", "needs kubectl 1.27 or newer, which is not in PATH"),
    ("old-kubectl", "kubectl 1.26 is too old; needs 1.27 or newer"),
    ("no-env", "gateway/.env is missing; run scripts/init-secrets.sh"),
    ("no-redis-url", "gateway/.env has no value for REDIS_URL"),
])
def test_refusals_name_the_problem_in_one_line_and_change_nothing(projects, tmp_path, setup, says):
    project = projects["c-in-cluster"] if setup == "no-env" else projects["d-external-workers"]
    if setup == "no-redis-url":
        home = tmp_path / "home"
        home.mkdir()
        subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(home), check=True,
                       capture_output=True, timeout=60)
    result, calls, _ = deploy(project, tmp_path, kubectl=setup != "no-kubectl",
                              minor="26" if setup == "old-kubectl" else "30")
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "nothing was changed" in lines[0], result.stderr
    assert not [call for call in calls if "apply" in call or "create" in call]


def release_names(calls: list[str]) -> list[str]:
    return [re.search(r"create (?:secret generic|configmap) (\S+)", call).group(1) for call in calls
            if " create " in call]


def test_every_reference_uses_the_release_names(with_env, tmp_path):
    result, calls, _ = deploy(with_env, tmp_path)
    assert result.returncode == 0, result.stderr
    secret, local = release_names(calls)
    assert re.fullmatch(r"litellm-secrets-[0-9a-f]{10}", secret) and re.fullmatch(r"litellm-config-local-[0-9a-f]{10}",
                                                                                     local)
    applied = (tmp_path / "kubectl.log.applied").read_text()
    assert f"name: {secret}\n" in applied and f"name: {local}\n" in applied
    assert not re.search(r"name: litellm-(secrets|config-local)\n", applied)  # no reference to a plain name is left


def test_a_failed_rollout_leaves_the_running_release_as_it_was(with_env, tmp_path):
    """The running release's Secret and ConfigMap are never changed; what the failed run created is deleted again
    and the Deployment is rolled back."""
    first, first_calls, _ = deploy(with_env, tmp_path)
    assert first.returncode == 0, first.stderr
    running = sorted(p.name for p in (tmp_path / "cluster").iterdir())
    assert len(running) == 2
    env_file = with_env / "gateway" / ".env"
    before = env_file.read_text()
    try:
        env_file.write_text(before.replace("sk-ant-upstream-secret-value", "sk-ant-rotated-secret-value"))
        result, calls, _ = deploy(with_env, tmp_path, KUBECTL_FAIL_ROLLOUT="1")
    finally:
        env_file.write_text(before)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("deploy-kubernetes.sh:")]  # kubectl's own
    assert line.startswith("deploy-kubernetes.sh: deployment/litellm did not become ready, rolled back to the running")
    [new_secret] = release_names(calls)  # the ConfigMap's content is the same: kept, not created again
    assert new_secret != release_names(first_calls)[0]
    assert f"delete secret/{new_secret} --ignore-not-found" in "\n".join(calls)
    assert [call for call in calls if " delete " in call] == [call for call in calls if new_secret in call and
                                                            " delete " in call]
    assert any("rollout undo deployment/litellm" in call for call in calls)
    assert sorted(p.name for p in (tmp_path / "cluster").iterdir()) == running  # the running release's objects


def test_generated_kubernetes_trees_pass_shellcheck(projects, shellcheck):
    for project in projects.values():
        assert "scripts/deploy-kubernetes.sh" in shellcheck(project)


@pytest.mark.parametrize("text", ["a\nb\n", "a\n\n  b\nc", "x\n\n\n", "  lead\nx\n", "é 中 😀\n", "a\n \nb\n", "",
                                  "tab\tin\n", "\u2028x\n"])
def test_yaml_block_reads_back_exactly(text):
    from claude_gateway_template.common import yaml_block

    document = "data:\n  k: " + yaml_block(text, 2) + "\n  j: 1\n"
    assert yaml.safe_load(document)["data"] == {"k": text, "j": 1}


# -------------------------------------------------------------------------------------------------------
# The Claude apps gateway on Kubernetes (issue 34): its own manifests and deploy script
# -------------------------------------------------------------------------------------------------------
APPS = {**K8S, "gateway_engine": "claude_apps_gateway", "oidc_issuer": "https://login.example.com",
        "oidc_client_id": "claude-gateway", "gateway_url": "https://claude-gateway.example.com"}
APPS_VARIANTS = {
    "apps-c": APPS,
    "apps-d-ca": {**APPS, "corporate_proxy": True, "proxy_url": PROXY, "corporate_ca_cert": "/etc/ssl/corp-root.pem",
                  "providers": ["anthropic", "bedrock"]},
}
APP = "claude-apps-gateway"


@pytest.fixture(scope="module")
def apps_projects(template_repo, tmp_path_factory) -> dict[str, Path]:
    return render_all(template_repo, tmp_path_factory.mktemp("apps-kubernetes"), APPS_VARIANTS)


@pytest.mark.parametrize("variant", APPS_VARIANTS)
@pytest.mark.parametrize("version", VERSIONS)
def test_apps_gateway_manifests_validate_against_the_kubernetes_schemas(apps_projects, variant, version):
    project = apps_projects[variant]
    kinds = []
    for docs in manifests(project).values():
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)
            kinds.append(doc["kind"])
    assert sorted(kinds) == sorted(["Namespace", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget",
                                    "NetworkPolicy", "Ingress"])
    kustomization = yaml.safe_load((project / "gateway" / "kubernetes" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(manifests(project))
    assert kustomization["images"] == [{"name": APP, "newTag": versions.CLAUDE_CODE_VERSION}]
    # No migration Job (the gateway migrates at boot), no local runtime's files, the image's Dockerfile.
    assert not (project / "gateway" / "run-local.sh").exists()
    assert not (project / "gateway" / "claude-apps-gateway.service").exists()
    assert not (project / "gateway" / "docker-compose.yml").exists()
    assert (project / "gateway" / "Dockerfile").is_file()


@pytest.mark.parametrize("variant", APPS_VARIANTS)
def test_apps_gateway_deployment_is_non_root_read_only_probed_and_drains(apps_projects, variant):
    project = apps_projects[variant]
    deployment = kind(project, "Deployment", APP)
    spec, pod = deployment["spec"], deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert spec["replicas"] >= 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert container["image"] == f"{APP}:{versions.CLAUDE_CODE_VERSION}"
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["runAsUser"] == apps_gateway.CONTAINER_UID
    assert security["readOnlyRootFilesystem"] is True and security["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert apps_gateway.CONTAINER_HOME in mounts and "/tmp" in mounts  # the only writable places
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] > pause + apps_gateway.DRAIN_SECONDS
    assert container["envFrom"] == [{"secretRef": {"name": f"{APP}-secrets"}}]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["DISABLE_AUTOUPDATER"] == "1"
    assert not [name for name in env if any(w in name for w in ("KEY", "SECRET", "PASSWORD", "DATABASE_URL"))]
    assert ("NODE_EXTRA_CA_CERTS" in env) == ("corporate_ca_cert" in APPS_VARIANTS[variant])
    assert ("HTTPS_PROXY" in env) == bool(APPS_VARIANTS[variant].get("corporate_proxy"))
    assert kind(project, "PodDisruptionBudget", APP)["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("variant", APPS_VARIANTS)
def test_apps_gateway_configmap_is_the_config_and_the_pods_plain_http_behind_the_ingress(apps_projects, variant):
    project = apps_projects[variant]
    text = (project / "gateway" / "claude-apps-gateway.yaml").read_text()
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert kind(project, "ConfigMap", f"{APP}-config-{digest[:10]}")["data"] == {"claude-apps-gateway.yaml": text}
    pod = kind(project, "Deployment", APP)["spec"]["template"]
    assert pod["metadata"]["annotations"]["checksum/config"] == digest
    assert {"name": "config", "configMap": {"name": f"{APP}-config-{digest[:10]}"}} in pod["spec"]["volumes"]
    listen = yaml.safe_load(text)["listen"]
    assert listen == {"host": "0.0.0.0", "port": apps_gateway.CONTAINER_PORT,
                      "public_url": "https://claude-gateway.example.com"}  # no tls: the Ingress terminates it


@pytest.mark.parametrize("variant", APPS_VARIANTS)
def test_apps_gateway_ingress_routes_developers_only_and_streams(apps_projects, variant):
    project = apps_projects[variant]
    ingress = kind(project, "Ingress", APP)
    assert ingress["spec"]["tls"] == [{"hosts": ["claude-gateway.example.com"], "secretName": f"{APP}-tls"}]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    paths = [p["path"] for p in ingress["spec"]["rules"][0]["http"]["paths"]]
    assert "/v1/messages" in paths and "/oauth" in paths and "/managed" in paths and "/.well-known" in paths
    # The admin API is never routed: no path is a prefix of it.
    assert not [p for p in paths if "/v1/organizations/spend_limits".startswith(p.rstrip("/") + "/") or p == "/"]
    policy = kind(project, "NetworkPolicy", APP)["spec"]
    ports = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
    assert 53 in ports and 5432 in ports
    if APPS_VARIANTS[variant].get("corporate_proxy"):
        assert 443 not in ports and 8080 in ports
    else:
        assert 443 in ports
    assert kind(project, "Service", APP)["spec"]["ports"][0]["port"] == apps_gateway.CONTAINER_PORT


@pytest.fixture(scope="module")
def apps_with_env(apps_projects):
    project = apps_projects["apps-c"]
    home = project.parent / "home-apps"
    home.mkdir(exist_ok=True)
    init = subprocess.run(["scripts/init-secrets.sh"], cwd=project, env=clean_env(home), capture_output=True,
                          text=True, timeout=60, check=False)
    assert init.returncode == 0, init.stderr
    text = (project / "gateway" / ".env").read_text()
    text = text.replace("\nOIDC_CLIENT_SECRET=\n", "\nOIDC_CLIENT_SECRET=oidc-secret-value\n")
    text = text.replace("\nAPPS_GATEWAY_DATABASE_URL=\n",
                        "\nAPPS_GATEWAY_DATABASE_URL=postgresql://gw:db-secret-value@db.example.com:5432/gw\n")
    text = text.replace("\nANTHROPIC_API_KEY=\n", "\nANTHROPIC_API_KEY=sk-ant-upstream-secret-value\n")
    (project / "gateway" / ".env").write_text(text)
    return project


def test_apps_gateway_deploy_creates_the_secret_then_applies_then_awaits_the_rollout(apps_with_env, tmp_path):
    result, calls, secret = deploy(apps_with_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    def first(fragment: str) -> int:
        return next(i for i, call in enumerate(calls) if fragment in call)

    assert first(f"create secret generic {APP}-secrets-") < first("--dry-run=server") \
        < first(f"rollout status deployment/{APP}")
    assert not [call for call in calls if " job" in call or "wait --for" in call]  # no migration Job
    keys = dict(line.split("=", 1) for line in secret.read_text().splitlines())
    assert set(keys) == {"GATEWAY_SESSION_SECRET", "GATEWAY_ADMIN_READ_KEY", "GATEWAY_ADMIN_WRITE_KEY",
                         "GATEWAY_ACCESS_SYNC_KEY", "OIDC_CLIENT_SECRET", "APPS_GATEWAY_DATABASE_URL", "ANTHROPIC_API_KEY"}
    log = "\n".join(calls) + result.stdout + result.stderr
    assert not [value for value in keys.values() if value in log]
    [secret_name] = release_names(calls)
    applied = (tmp_path / "kubectl.log.applied").read_text()
    assert f"name: {secret_name}\n" in applied and f"name: {APP}-secrets\n" not in applied


def test_apps_gateway_deploy_runs_the_effective_config_after_a_sync(apps_with_env, tmp_path):
    fragment = apps_with_env / "gateway" / "claude-apps-gateway.access.yaml"
    fragment.write_text(json.dumps({"managed": {"policies": [
        {"match": {"groups": ["contractors"]}, "cli": {"env": {"DISABLE_TELEMETRY": "1"}}}]}}))
    try:
        result, calls, _ = deploy(apps_with_env, tmp_path)
    finally:
        fragment.unlink()
    assert result.returncode == 0, result.stdout + result.stderr
    names = release_names(calls)
    config = next(name for name in names if name.startswith(f"{APP}-config-"))
    applied = (tmp_path / "kubectl.log.applied").read_text()
    assert f"name: {config}\n" in applied  # the Deployment reads the effective config's ConfigMap
    template = kind(apps_with_env, "Deployment", APP)["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    assert template != config and f"        - name: config\n          configMap:\n            name: {template}\n" \
        not in applied


def test_apps_gateway_kubernetes_trees_pass_shellcheck(apps_projects, shellcheck):
    for project in apps_projects.values():
        assert "scripts/deploy-kubernetes.sh" in shellcheck(project)
