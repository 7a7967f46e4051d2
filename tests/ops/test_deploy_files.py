"""deploy/: what can be checked without a Docker engine or a Kubernetes cluster.

Every YAML parses; every service, volume, network, mounted file and env file compose names exists;
the set-up job registers every search attribute; the Kubernetes manifests reference only ConfigMaps,
Secrets, Deployments and ports that exist; the commands the containers run are CLI commands.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from ops.cli import app as cli_app
from tests.ops.helpers import REPO_ROOT
from workflows.search_attributes import ALL_SEARCH_ATTRIBUTES

DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "k8s"
SETUP_SCRIPT = DEPLOY / "scripts" / "setup-temporal-namespace.sh"
# Settings other engineers are adding (the API's codec endpoint).
PENDING_SETTINGS = {"PATHWAYS_CODEC_CORS_ORIGINS"}


def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((path, document))
    return documents


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for _, d in k8s_documents() if d["kind"] == kind]


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    return [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in of_kind("Deployment") + of_kind("Job")]


def cli_commands() -> set[str]:
    return {command.name or "" for command in cli_app.registered_commands}


def registered_by_setup_script() -> set[tuple[str, str]]:
    return set(re.findall(r"^register (\w+) (\w+)$", SETUP_SCRIPT.read_text(), flags=re.MULTILINE))


def test_every_yaml_file_under_deploy_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yaml"))
    assert DEPLOY / "compose.yaml" in files
    for path in files:
        assert list(yaml.safe_load_all(path.read_text())), path


def test_compose_depends_on_names_only_existing_services() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on missing service {dependency}"


def test_compose_volumes_networks_mounts_and_env_files_exist() -> None:
    document = compose()
    declared_volumes = set(document.get("volumes") or {})
    declared_networks = set(document.get("networks") or {})
    for name, service in document["services"].items():
        for network in service.get("networks", []):
            assert network in declared_networks, f"{name}: network {network}"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: mounted {source} missing"
            elif ":" in mount and not source.startswith("/"):
                assert source in declared_volumes, f"{name}: volume {source} not declared"
        for env_file in service.get("env_file", []):
            assert env_file.get("required") is False or (DEPLOY / env_file["path"]).exists()
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).exists()


def test_compose_has_postgres_temporal_with_schema_job_ui_api_two_workers_and_setup_job() -> None:
    services = compose()["services"]
    assert services["temporal"]["depends_on"]["temporal-schema-setup"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["temporal-schema-setup"]["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    for app in ("api", "worker"):
        assert services[app]["depends_on"]["temporal-setup"]["condition"] == "service_completed_successfully"
    assert services["worker"]["deploy"]["replicas"] >= 2


def test_compose_ui_points_at_the_api_codec_endpoint_with_credentials() -> None:
    services = compose()["services"]
    ui = services["temporal-ui"]["environment"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"].endswith("/codec")
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    published_api_port = services["api"]["ports"][0].rsplit(":", 1)[0]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"http://localhost:{published_api_port}/codec"


def test_compose_setup_job_registers_every_search_attribute_with_its_type() -> None:
    job = compose()["services"]["temporal-setup"]
    assert job["command"] == ["/scripts/setup-temporal-namespace.sh"]
    assert "./scripts:/scripts:ro" in job["volumes"]
    expected = {(key.name, key._metadata_type) for key in ALL_SEARCH_ATTRIBUTES}
    assert registered_by_setup_script() == expected


def test_kubernetes_setup_job_runs_the_same_script_shipped_in_the_image() -> None:
    [job] = [d for d in of_kind("Job") if d["metadata"]["name"] == "pathways-temporal-setup"]
    [container] = job["spec"]["template"]["spec"]["containers"]
    script = container["command"][-1]
    assert script == "/app/" + str(SETUP_SCRIPT.relative_to(REPO_ROOT))
    ignored = [line.strip() for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()]
    relative = str(SETUP_SCRIPT.relative_to(REPO_ROOT))
    for pattern in (p for p in ignored if p and not p.startswith("#")):
        assert not fnmatch.fnmatch(relative, pattern) and not relative.startswith(pattern.rstrip("/") + "/")


def app_commands() -> list[tuple[str, str]]:
    commands = []
    for name, service in compose()["services"].items():
        if "build" in service:
            commands.append((f"compose:{name}", service["command"][0]))
    for name, spec in pod_specs():
        for container in spec["containers"]:
            if "args" in container:
                commands.append((f"k8s:{name}", container["args"][0]))
    return commands


@pytest.mark.parametrize(("where", "command"), app_commands())
def test_containers_run_existing_cli_commands(where: str, command: str) -> None:
    assert command in cli_commands(), f"{where} runs unknown command {command}"


def test_every_pathways_variable_in_deploy_files_is_a_setting() -> None:
    known = {f"PATHWAYS_{name.upper()}" for name in Settings.model_fields}
    used: set[str] = set()
    for path in [DEPLOY / "compose.yaml", DEPLOY / "Dockerfile", *K8S.glob("*.yaml")]:
        used |= set(re.findall(r"\bPATHWAYS_[A-Z0-9_]+\b", path.read_text()))
    # Compose's own interpolation variables (${PATHWAYS_API_PUBLISHED_PORT:-8000}) are not settings.
    interpolation = set(re.findall(r"\$\{(PATHWAYS_[A-Z0-9_]+)", (DEPLOY / "compose.yaml").read_text()))
    unknown = used - known - interpolation - PENDING_SETTINGS
    assert unknown == set()


def test_kubernetes_manifests_reference_existing_configmaps_secrets_and_keys() -> None:
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in of_kind("ConfigMap")}
    secrets = {d["metadata"]["name"]: d.get("stringData", {}) for d in of_kind("Secret")}
    for name, spec in pod_specs():
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, name
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, name
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {})
                if "configMapKeyRef" in reference:
                    ref = reference["configMapKeyRef"]
                    assert ref["key"] in config_maps[ref["name"]], (name, ref)
                if "secretKeyRef" in reference:
                    ref = reference["secretKeyRef"]
                    assert ref["key"] in secrets[ref["name"]], (name, ref)


def test_kubernetes_services_pdbs_and_hpa_point_at_existing_deployments_and_ports() -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment")}

    def matching(selector: dict[str, str]) -> list[str]:
        return [
            name
            for name, d in deployments.items()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]

    for service in of_kind("Service"):
        [target] = matching(service["spec"]["selector"])
        ports = {p["name"] for c in deployments[target]["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports
    for budget in of_kind("PodDisruptionBudget"):
        assert len(matching(budget["spec"]["selector"]["matchLabels"])) == 1
    for autoscaler in of_kind("HorizontalPodAutoscaler"):
        assert autoscaler["spec"]["scaleTargetRef"]["name"] in deployments
        assert autoscaler["spec"]["minReplicas"] >= 2


def test_kubernetes_probes_use_declared_ports_and_the_health_paths() -> None:
    deployments = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in of_kind("Deployment")}
    for spec in deployments.values():
        for container in spec["containers"]:
            ports = {p["name"] for p in container["ports"]}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                assert container[probe]["httpGet"]["port"] in ports
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    [api] = deployments["pathways-api"]["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    [worker] = deployments["pathways-worker"]["containers"]
    assert worker["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert worker["livenessProbe"]["httpGet"]["path"] == "/livez"


def test_workers_get_more_time_to_stop_than_their_graceful_shutdown() -> None:
    [config] = of_kind("ConfigMap")
    graceful = float(config["data"]["PATHWAYS_GRACEFUL_SHUTDOWN_SECONDS"])
    [worker] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "pathways-worker"]
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > graceful
    service = compose()["services"]["worker"]
    assert int(service["stop_grace_period"].rstrip("s")) > float(
        service["environment"]["PATHWAYS_GRACEFUL_SHUTDOWN_SECONDS"]
    )


def test_kustomization_lists_existing_files_and_leaves_the_example_secret_out() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).exists(), resource
    assert "secret.example.yaml" not in kustomization["resources"]
