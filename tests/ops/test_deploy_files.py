"""deploy/: what can be checked without a Docker engine or a Kubernetes cluster.

Every YAML parses; every service, volume, network, mounted file and env file compose names exists;
the set-up job registers every search attribute; the Kubernetes manifests reference only ConfigMaps,
Secrets, Deployments and ports that exist; the commands the containers run are CLI commands.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import Settings
from ops.cli import app as cli_app
from ops.dev_server import DYNAMIC_CONFIG
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


def k8s_files() -> list[Path]:
    """The manifests of the app and of its rollout jobs (kustomization files aside)."""
    return sorted(path for path in K8S.rglob("*.yaml") if path.name != "kustomization.yaml")


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    documents = []
    for path in k8s_files():
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
    # "${PUBLISH_ADDRESS:-127.0.0.1}:${PATHWAYS_API_PUBLISHED_PORT:-8000}:8000" -> the published port part
    published_api_port = services["api"]["ports"][0].rsplit(":", 1)[0].split("}:", 1)[1]
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
    for path in [DEPLOY / "compose.yaml", DEPLOY / "Dockerfile", *k8s_files()]:
        used |= set(re.findall(r"\bPATHWAYS_[A-Z0-9_]+\b", path.read_text()))
    # Compose's own interpolation variables (${PATHWAYS_API_PUBLISHED_PORT:-8000}) are not settings.
    interpolation = {
        name
        for name in re.findall(r"\$\{(PATHWAYS_[A-Z0-9_]+)", (DEPLOY / "compose.yaml").read_text())
        if name not in known
    }
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


def test_kustomizations_list_existing_files_and_leave_the_example_secret_out() -> None:
    listed: set[Path] = set()
    for path in kustomizations():
        kustomization = yaml.safe_load(path.read_text())
        for resource in kustomization["resources"]:
            assert (path.parent / resource).exists(), (path, resource)
            listed.add((path.parent / resource).resolve())
        assert "secret.example.yaml" not in kustomization["resources"]
    # Every manifest but the example Secret is applied through a kustomization.
    assert {path.resolve() for path in k8s_files()} - listed == {(K8S / "secret.example.yaml").resolve()}


def test_every_workload_image_is_set_by_its_kustomization() -> None:
    """`kubectl apply -k` sets one image everywhere: every Deployment and Job names the placeholder, and
    every kustomization that applies them maps it to the same registry image and tag."""
    for name, spec in pod_specs():
        for container in spec["containers"]:
            assert container["image"] == "pathways", (name, container["image"])
    mappings = []
    for path in kustomizations():
        kustomization = yaml.safe_load(path.read_text())
        [image] = [entry for entry in kustomization["images"] if entry["name"] == "pathways"]
        mappings.append((image["newName"], image["newTag"]))
    assert len(mappings) == 2 and len(set(mappings)) == 1, mappings


@pytest.mark.parametrize("name", [name for name, _ in pod_specs()])
def test_every_kubernetes_workload_passes_pod_security_restricted(name: str) -> None:
    """The checks of the Pod Security Standard "restricted" profile (kubernetes.io/docs/concepts/security/
    pod-security-standards) that a manifest decides: non-root, RuntimeDefault seccomp, no privilege
    escalation, every capability dropped, no host namespaces, ports or paths, no privileged container."""
    [spec] = [spec for workload, spec in pod_specs() if workload == name]
    pod = spec.get("securityContext", {})
    assert not any(spec.get(key) for key in ("hostNetwork", "hostPID", "hostIPC")), name
    assert all("hostPath" not in volume for volume in spec.get("volumes", [])), name
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        context = container.get("securityContext", {})
        assert context.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, (name, container["name"])
        assert context.get("runAsUser", pod.get("runAsUser", 0)) != 0, (name, container["name"])
        seccomp = context.get("seccompProfile", pod.get("seccompProfile", {}))
        assert seccomp.get("type") in {"RuntimeDefault", "Localhost"}, (name, container["name"])
        assert context.get("allowPrivilegeEscalation") is False, (name, container["name"])
        assert context.get("privileged", False) is False, (name, container["name"])
        assert "ALL" in context.get("capabilities", {}).get("drop", []), (name, container["name"])
        assert set(context.get("capabilities", {}).get("add", [])) <= {"NET_BIND_SERVICE"}, (name, container["name"])
        assert all("hostPort" not in port for port in container.get("ports", [])), (name, container["name"])


def test_compose_publishes_ports_on_loopback_unless_told_otherwise() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("${PUBLISH_ADDRESS:-127.0.0.1}:"), (name, port)


SMTP_SETTINGS = {"PATHWAYS_SMTP_ENABLED", "PATHWAYS_SMTP_HOST", "PATHWAYS_SMTP_PORT", "PATHWAYS_SMTP_SECURITY"}
SMTP_SECRETS = {"PATHWAYS_SMTP_USERNAME", "PATHWAYS_SMTP_PASSWORD"}


def test_email_settings_are_in_compose_the_configmap_the_secret_example_and_the_runbook() -> None:
    environment = compose()["services"]["api"]["environment"]
    assert SMTP_SETTINGS | {"PATHWAYS_SMTP_FROM_ADDRESS"} <= set(environment)
    [config] = of_kind("ConfigMap")
    assert SMTP_SETTINGS | {"PATHWAYS_SMTP_FROM_ADDRESS"} <= set(config["data"])
    assert not SMTP_SECRETS & set(config["data"]), "passwords belong in the Secret"
    [secret] = of_kind("Secret")
    assert set(secret["stringData"]) >= SMTP_SECRETS
    assert set(re.findall(r"PATHWAYS_SMTP_[A-Z_]+", (DEPLOY / "pathways.env.example").read_text())) >= SMTP_SECRETS
    runbook = (DEPLOY / "README.md").read_text()
    assert all(name in runbook for name in SMTP_SETTINGS | SMTP_SECRETS)


HELM_VALUES = DEPLOY / "temporal" / "helm-values.yaml"


def test_temporal_helm_values_are_pinned_and_persist_to_postgresql() -> None:
    values = yaml.safe_load(HELM_VALUES.read_text())
    assert "--version 1.6.0" in HELM_VALUES.read_text()
    for component in (values["server"], values["admintools"], values["web"]):
        assert re.fullmatch(r"\d+\.\d+\.\d+", str(component["image"]["tag"])), component["image"]
    persistence = values["server"]["config"]["persistence"]
    for store in (persistence["defaultStore"], persistence["visibilityStore"]):
        sql = persistence["datastores"][store]["sql"]
        assert sql["pluginName"] == "postgres12"
        assert "password" not in sql and sql["existingSecret"], "the password comes from a Secret"
        assert sql["tls"]["enabled"] is True
    pod = values["server"]["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["seccompProfile"]["type"] == "RuntimeDefault"


def test_the_web_ui_is_read_only_and_the_server_authorizes_every_call() -> None:
    """The Helm values let the Web UI terminate, reset and signal, and the server took any caller (issue 35):
    the UI now ships read-only in both deployments, and the server's own authorizer checks each call's JWT."""
    values = yaml.safe_load(HELM_VALUES.read_text())
    web_env = {item["name"]: item.get("value") for item in values["web"]["additionalEnv"]}
    assert web_env["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    compose_ui = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["temporal-ui"]["environment"]
    assert compose_ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    authorization = values["server"]["config"]["authorization"]
    assert (authorization["authorizer"], authorization["claimMapper"]) == ("default", "default")
    assert authorization["permissionsClaimName"] == "permissions"
    assert all(uri.startswith("https://") for uri in authorization["jwtKeyProvider"]["keySourceURIs"])
    runbook = (DEPLOY / "README.md").read_text()
    assert "## The Temporal side" in runbook and "pathways:read" in runbook and "pathways:write" in runbook


def test_every_cluster_gets_the_dev_servers_dynamic_config() -> None:
    """What `make run` sets on its dev server, the compose server and the Helm values set too."""
    compose_config = yaml.safe_load((DEPLOY / "temporal" / "dynamicconfig.yaml").read_text())
    helm_config = yaml.safe_load(HELM_VALUES.read_text())["server"]["dynamicConfig"]
    for setting in DYNAMIC_CONFIG:
        key, _, value = setting.partition("=")
        for config in (compose_config, helm_config):
            assert str(config[key][0]["value"]).lower() == value, (key, config.get(key))


# The pre-allocated custom search attribute columns of SQL visibility on PostgreSQL 12+, per type
# (temporalio/temporal, schema/postgresql/v12/visibility/schema.sql: Bool01-03, Keyword01-10, ...).
POSTGRES_VISIBILITY_COLUMNS = {
    "Bool": 3,
    "Datetime": 3,
    "Double": 3,
    "Int": 3,
    "Keyword": 10,
    "Text": 3,
    "KeywordList": 3,
}


def test_search_attributes_fit_sql_visibility_on_postgresql() -> None:
    used = Counter(key._metadata_type for key in ALL_SEARCH_ATTRIBUTES)
    for kind, count in used.items():
        assert kind in POSTGRES_VISIBILITY_COLUMNS, f"{kind} search attributes do not exist in SQL visibility"
        room = POSTGRES_VISIBILITY_COLUMNS[kind]
        assert count <= room, f"{count} {kind} search attributes, but SQL visibility on PostgreSQL has {room}"
