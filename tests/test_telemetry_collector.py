"""The usage-telemetry collector a repository can run (telemetry/): parsed and checked, not run (no collector or
Prometheus binary, and no image registry, is reachable here). The collector config's wiring (every component a
pipeline names exists, the ports), the compose project and the Kubernetes manifests (validated offline with
kubernetes-validate, as tests/test_kubernetes.py does) against the collector config, the Prometheus scrape config
and the clients' endpoint, and the Prometheus names scripts/usage-report.sh reads, derived here from the exporter's
documented translation. Projects are rendered once per module (copier in-process)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from claude_gateway_template import gateway, telemetry, versions
from golden_trees import render, render_all
from otlp_translation import metric_name

APPS = {"cost_tracking": True, "gateway_engine": "claude_apps_gateway", "gateway_runtime": "process",
        "oidc_issuer": "https://login.example.com"}
K8S = {"cost_tracking": True, "gateway_runtime": "kubernetes", "gateway_url": "https://llm-gateway.example.com",
       "spend_database": False, "kubernetes_redis": "in_cluster"}
VARIANTS = {
    "a-loopback": {"otel_endpoint": "http://127.0.0.1:14318"},
    "b-https": {"corporate_proxy": True, "proxy_url": "http://proxy.example.com:8080",
                "otel_endpoint": "https://otel.example.com:4318", "otel_header": "Authorization"},
    "c-litellm": {"cost_tracking": True, "otel_endpoint": "https://otel.example.com"},
    "c-apps-gateway": {**APPS, "otel_endpoint": "https://otel.example.com:4318"},
    "c-kubernetes": {**K8S, "otel_endpoint": "https://otel.example.com"},
}
COMPOSE_VARIANTS = [name for name in VARIANTS if "kubernetes" not in name]
K8S_VERSIONS = [f"{gateway.KUBERNETES_MIN_VERSION}.0", f"{gateway.KUBERNETES_NEWEST_VERSION}.0"]


@pytest.fixture(scope="module")
def projects(template_repo, tmp_path_factory) -> dict[str, Path]:
    return render_all(template_repo, tmp_path_factory.mktemp("telemetry"),
                      {name: {"usage_telemetry": True, **answers} for name, answers in VARIANTS.items()})


def load(project: Path, rel: str):
    return yaml.safe_load((project / rel).read_text())


def port_of(endpoint: str) -> int:
    return int(endpoint.rpartition(":")[2])


# -------------------------------------------------------------------------------------------------------
# The collector config: its wiring
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_component_a_pipeline_names_is_defined(projects, variant):
    """What the collector checks at start (a pipeline naming an undefined receiver, processor or exporter is a
    config error), checked on the parsed file."""
    config = load(projects[variant], "telemetry/otel-collector.yaml")
    service = config["service"]
    assert set(service["extensions"]) <= set(config["extensions"])
    assert set(service["pipelines"]) == {"metrics", "logs"}  # Claude Code sends both (OTEL_LOGS_EXPORTER=otlp)
    used = {kind: set() for kind in ("receivers", "processors", "exporters")}
    for name, pipeline in service["pipelines"].items():
        for kind in used:
            assert pipeline[kind], (name, kind)
            missing = set(pipeline[kind]) - set(config[kind])
            assert not missing, f"pipeline {name} names undefined {kind}: {missing}"
            used[kind] |= set(pipeline[kind])
    for kind, names in used.items():
        assert set(config[kind]) == names, f"{kind} defined but in no pipeline: {set(config[kind]) - names}"
    assert service["pipelines"]["metrics"]["exporters"] == ["prometheus"]
    assert service["pipelines"]["metrics"]["processors"][0] == "memory_limiter"  # first, as its README asks


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_receiver_takes_otlp_http_and_grpc_and_the_exporter_translation_is_pinned(projects, variant):
    config = load(projects[variant], "telemetry/otel-collector.yaml")
    protocols = config["receivers"]["otlp"]["protocols"]
    assert port_of(protocols["http"]["endpoint"]) == telemetry.OTLP_HTTP_PORT == 4318
    assert port_of(protocols["grpc"]["endpoint"]) == telemetry.OTLP_GRPC_PORT == 4317
    exporter = config["exporters"]["prometheus"]
    # Each setting is explicit: a default that changes between releases would rename every series the report reads.
    assert exporter["translation_strategy"] == "UnderscoreEscapingWithSuffixes"
    assert exporter["add_metric_suffixes"] is True  # the same translation for releases before translation_strategy
    assert exporter["resource_to_telemetry_conversion"] == {"enabled": True}  # `developer` becomes a label
    assert port_of(exporter["endpoint"]) == telemetry.EXPORTER_PORT
    text = (projects[variant] / "telemetry/otel-collector.yaml").read_text()
    assert versions.OTEL_COLLECTOR_IMAGE in text


# -------------------------------------------------------------------------------------------------------
# Compose: the collector, a Prometheus, and the ports the clients and the scrape config use
# -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", COMPOSE_VARIANTS)
def test_compose_runs_the_pinned_collector_with_this_config_and_publishes_the_clients_port(projects, variant):
    project = projects[variant]
    compose = load(project, "telemetry/docker-compose.yml")
    collector = compose["services"][telemetry.COLLECTOR_SERVICE]
    assert collector["image"] == versions.OTEL_COLLECTOR_IMAGE == "otel/opentelemetry-collector-contrib:0.147.0"
    source, target = collector["volumes"][0].split(":")[:2]
    assert (project / "telemetry" / source).resolve() == project / "telemetry/otel-collector.yaml"
    assert f"--config={target}" in collector["command"]
    config = load(project, "telemetry/otel-collector.yaml")
    http_port = port_of(config["receivers"]["otlp"]["protocols"]["http"]["endpoint"])
    published = {int(p.split(":")[2]): (p.split(":")[0], int(p.split(":")[1])) for p in collector["ports"]}
    assert http_port in published and telemetry.OTLP_GRPC_PORT in published
    endpoint = urlsplit(VARIANTS[variant]["otel_endpoint"])
    bind, host_port = published[http_port]
    if endpoint.scheme == "http":  # clients reach this very port on this machine
        assert (bind, host_port) == ("127.0.0.1", endpoint.port)
    else:  # behind a TLS terminator
        assert host_port == http_port
    # The collector's :8889 stays inside the compose network; Prometheus scrapes it there.
    assert telemetry.EXPORTER_PORT not in published


@pytest.mark.parametrize("variant", COMPOSE_VARIANTS)
def test_prometheus_scrapes_the_exporter_the_collector_config_opens(projects, variant):
    project = projects[variant]
    compose = load(project, "telemetry/docker-compose.yml")
    prometheus = compose["services"][telemetry.PROMETHEUS_SERVICE]
    assert prometheus["image"] == versions.PROMETHEUS_IMAGE and "latest" not in prometheus["image"]
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    assert mounts["./prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert prometheus["ports"] == [f"127.0.0.1:{telemetry.PROMETHEUS_PORT}:{telemetry.PROMETHEUS_PORT}"]
    assert telemetry.PROMETHEUS_DEFAULT_URL == f"http://127.0.0.1:{telemetry.PROMETHEUS_PORT}"
    scrape = load(project, "telemetry/prometheus.yml")
    [job] = scrape["scrape_configs"]
    [target] = [t for group in job["static_configs"] for t in group["targets"]]
    host, _, port = target.rpartition(":")
    assert host in compose["services"]  # the collector's compose service name
    exporter = load(project, "telemetry/otel-collector.yaml")["exporters"]["prometheus"]
    assert int(port) == port_of(exporter["endpoint"])
    assert not (project / "telemetry/kubernetes").exists()


def test_the_apps_gateway_relays_to_the_collector_the_compose_project_runs(projects):
    project = projects["c-apps-gateway"]
    config = load(project, "gateway/claude-apps-gateway.yaml")
    [target] = config["telemetry"]["forward_to"]
    assert target["url"] == VARIANTS["c-apps-gateway"]["otel_endpoint"]
    assert port_of(target["url"]) == telemetry.published_port(VARIANTS["c-apps-gateway"])


# -------------------------------------------------------------------------------------------------------
# Kubernetes: beside the gateway's manifests
# -------------------------------------------------------------------------------------------------------
def k8s_manifests(project: Path) -> list[dict]:
    folder = project / "telemetry/kubernetes"
    return [doc for path in sorted(folder.glob("*.yaml")) if path.name != "kustomization.yaml"
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s(project: Path, kind: str) -> dict:
    return next(doc for doc in k8s_manifests(project) if doc["kind"] == kind)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_the_collector_manifests_validate_against_the_kubernetes_schemas(projects, version):
    docs = k8s_manifests(projects["c-kubernetes"])
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)  # raises on an unknown or mistyped field
        assert doc["metadata"]["namespace"] == gateway.KUBERNETES_NAMESPACE  # the gateway's namespace
    assert sorted(doc["kind"] for doc in docs) == ["ConfigMap", "Deployment", "Ingress", "NetworkPolicy", "Service"]


def test_the_kubernetes_wiring_matches_the_collector_config_and_the_scrape_config(projects):
    project = projects["c-kubernetes"]
    folder = project / "telemetry/kubernetes"
    kustomization = load(project, "telemetry/kubernetes/kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(p.name for p in folder.glob("*.yaml")
                                                        if p.name != "kustomization.yaml")
    config_text = (project / "telemetry/otel-collector.yaml").read_text()
    config = yaml.safe_load(config_text)
    configmap = k8s(project, "ConfigMap")
    assert configmap["metadata"]["name"] == f"otel-collector-config-{hashlib.sha256(config_text.encode()).hexdigest()[:10]}"
    assert configmap["data"] == {"config.yaml": config_text}  # word for word
    pod = k8s(project, "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == versions.OTEL_COLLECTOR_IMAGE
    assert pod["volumes"][0]["configMap"]["name"] == configmap["metadata"]["name"]
    mount = container["volumeMounts"][0]["mountPath"]
    assert f"--config={mount}/config.yaml" in container["args"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True and pod["automountServiceAccountToken"] is False
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    receivers = config["receivers"]["otlp"]["protocols"]
    assert container_ports["otlp-http"] == port_of(receivers["http"]["endpoint"])
    assert container_ports["otlp-grpc"] == port_of(receivers["grpc"]["endpoint"])
    assert container_ports["metrics"] == port_of(config["exporters"]["prometheus"]["endpoint"])
    assert container_ports["health"] == port_of(config["extensions"]["health_check"]["endpoint"])
    assert container["livenessProbe"]["httpGet"]["port"] == "health"
    service = k8s(project, "Service")
    service_ports = {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}
    for name in ("otlp-http", "otlp-grpc", "metrics"):
        assert service_ports[name] == (container_ports[name], name)
    assert service["spec"]["selector"] == k8s(project, "Deployment")["spec"]["selector"]["matchLabels"]
    # Clients: https://<otel_endpoint host> -> the Ingress -> the Service's otlp-http port.
    ingress = k8s(project, "Ingress")["spec"]
    host = urlsplit(VARIANTS["c-kubernetes"]["otel_endpoint"]).hostname
    assert ingress["tls"][0]["hosts"] == [host] and ingress["rules"][0]["host"] == host
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "otlp-http"}}
    # Prometheus: the Service's metrics port, by its cluster name.
    scrape = load(project, "telemetry/prometheus.yml")
    [target] = [t for job in scrape["scrape_configs"] for group in job["static_configs"] for t in group["targets"]]
    assert target == f"{service['metadata']['name']}.{gateway.KUBERNETES_NAMESPACE}.svc:{service_ports['metrics'][0]}"
    policy = k8s(project, "NetworkPolicy")["spec"]
    admitted = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert admitted == {container_ports["otlp-http"], container_ports["otlp-grpc"], container_ports["metrics"]}
    assert not (project / "telemetry/docker-compose.yml").exists()


def test_no_collector_without_telemetry(template_repo, tmp_path):
    render(template_repo, {}, tmp_path / "a")
    assert not (tmp_path / "a/telemetry").exists()


# -------------------------------------------------------------------------------------------------------
# The Prometheus names the report reads
# -------------------------------------------------------------------------------------------------------
def test_the_report_reads_the_exporters_names_for_the_clis_metrics():
    """tests/support/otlp_translation.py writes the exporter's documented translation (cited there)."""
    assert metric_name("http.server.duration", "s", False) == "http_server_duration_seconds"  # its README
    assert metric_name("requests.count", "1", True) == "requests_count_total"  # its doc comment
    # The CLI's counters and units (2.1.332; tests/test_live_telemetry.py checks both on a real export).
    assert metric_name(telemetry.COST_METRIC, telemetry.COST_UNIT, True) == telemetry.PROMETHEUS_COST \
        == "claude_code_cost_usage_USD_total"
    assert metric_name(telemetry.TOKEN_METRIC, telemetry.TOKEN_UNIT, True) == telemetry.PROMETHEUS_TOKENS \
        == "claude_code_token_usage_tokens_total"
