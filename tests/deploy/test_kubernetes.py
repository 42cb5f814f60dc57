"""The Kubernetes manifests: every overlay renders with kustomize, every object is valid against the
Kubernetes 1.32 schemas (kubernetes-validate, strict) or KEDA's (deploy/kubernetes/schemas), and what
they say agrees with the code: stream and group names, stages, cameras, probes and budgets."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest

from moodstream.streams.keys import Keys
from moodstream.streams.stages import consumers
from tests.deploy.manifests import KUBERNETES, KUBERNETES_VERSION, OVERLAYS, Rendered, render

KEDA_SCHEMA = json.loads((KUBERNETES / "schemas" / "keda.sh_v1alpha1.json").read_text())


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, tmp_path: Path) -> Rendered:
    return render(KUBERNETES / "overlays" / request.param, tmp_path)


def keda_errors(obj: dict) -> list[str]:
    schema = {**KEDA_SCHEMA, "$ref": f"#/$defs/{obj['kind']}"}
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]


def test_the_overlays_are_the_documented_ones() -> None:
    assert OVERLAYS == ["gpu", "redis-cluster", "redis-cluster-tls", "single-redis"]


def test_every_object_is_valid_against_its_schema(overlay: Rendered) -> None:
    for obj in overlay.objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"].startswith("keda.sh/"):
            assert not keda_errors(obj), f"{where}: {keda_errors(obj)}"
        else:
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                raise AssertionError(f"{where}: {exc.message} at {list(exc.path)}") from None


def test_the_keda_schema_refuses_what_kubernetes_would_silently_drop() -> None:
    scaled = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {
            "scaleTargetRef": {"name": "x"},
            "minReplicas": 1,
            "triggers": [
                {"type": "redis-streams", "metadata": {"address": "r:6379", "stream": "s", "lagCount": 5}}
            ],
        },
    }
    errors = " ".join(keda_errors(scaled))
    assert "'minReplicas' was unexpected" in errors and "5 is not of type 'string'" in errors


def test_each_consuming_stage_scales_on_its_own_streams_lag(overlay: Rendered) -> None:
    settings = overlay.settings
    keys = Keys(settings.redis.prefix, settings.streams.partitions)
    node = urlsplit(settings.redis.url)
    auth = overlay.by_kind["TriggerAuthentication"]
    for stage in consumers():
        assert stage.reads is not None
        scaled = overlay.by_kind["ScaledObject"][f"moodstream-{stage.name}"]["spec"]
        assert scaled["scaleTargetRef"]["name"] in overlay.by_kind["Deployment"]
        assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
        triggers = scaled["triggers"]
        assert sorted(t["metadata"]["stream"] for t in triggers) == sorted(keys.streams(stage.reads))
        for trigger in triggers:
            meta = trigger["metadata"]
            assert meta["consumerGroup"] == stage.group
            assert int(meta["lagCount"]) > 0
            assert trigger["authenticationRef"]["name"] in auth
            if settings.redis.cluster:
                assert trigger["type"] == "redis-cluster-streams"
                assert f"{node.hostname}:{node.port}" in meta["addresses"].split(",")
            else:
                # KEDA runs in its own namespace: the Service's full name, in the deployment's namespace.
                namespace = overlay.deployment(scaled["scaleTargetRef"]["name"])["metadata"]["namespace"]
                assert trigger["type"] == "redis-streams"
                assert meta["address"] == f"{node.hostname}.{namespace}.svc.cluster.local:{node.port}"


def test_every_worker_runs_a_real_stage_with_probes_and_a_grace_period(overlay: Rendered) -> None:
    assert overlay.settings.runtime.health_file, "the probes read [runtime] health_file"
    workers = {
        name: d
        for name, d in overlay.by_kind["Deployment"].items()
        if d["metadata"]["labels"].get("moodstream.io/worker")
    }
    stages = {d["spec"]["template"]["spec"]["containers"][0]["args"][1] for d in workers.values()}
    assert stages == {"capture", *(s.name for s in consumers())}
    for name, deployment in workers.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"][0] == "worker", name
        assert container["readinessProbe"]["exec"]["command"] == ["moodstream", "health"], name
        assert container["livenessProbe"]["exec"]["command"] == ["moodstream", "health", "--live"], name
        assert pod["terminationGracePeriodSeconds"] >= 10, name
        assert (
            pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
        )
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/etc/moodstream", "/tmp"} <= mounts, name
        assert Path(overlay.settings.runtime.health_file).is_relative_to("/tmp")


def test_each_camera_has_exactly_one_capture_that_never_overlaps(overlay: Rendered) -> None:
    captures = [
        d
        for d in overlay.by_kind["Deployment"].values()
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "capture"
    ]
    args = [d["spec"]["template"]["spec"]["containers"][0]["args"] for d in captures]
    assert all(a[:3] == ["worker", "capture", "--camera"] for a in args)
    cameras = [a[3] for a in args]
    assert sorted(cameras) == sorted(c.id for c in overlay.settings.cameras)
    for deployment in captures:
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"]["type"] == "Recreate"


def test_every_scalable_stage_and_the_dashboard_have_a_disruption_budget(overlay: Rendered) -> None:
    budgets = overlay.by_kind["PodDisruptionBudget"]
    for name in [*(f"moodstream-{s.name}" for s in consumers()), "moodstream-dashboard"]:
        pod_labels = overlay.deployment(name)["spec"]["template"]["metadata"]["labels"]
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items(), name


def test_only_the_gpu_overlay_asks_for_gpus(overlay: Rendered) -> None:
    classifier = overlay.deployment("moodstream-classifier")["spec"]["template"]["spec"]["containers"][0]
    wants_gpu = "nvidia.com/gpu" in classifier["resources"].get("limits", {})
    assert wants_gpu == classifier["image"].startswith("moodstream-gpu:")


def test_the_dashboard_is_exposed_only_with_a_token_and_keeps_a_client_on_one_replica(
    overlay: Rendered,
) -> None:
    from moodstream.config import ConfigError
    from moodstream.dashboard.auth import check_exposure

    assert overlay.settings.dashboard.message_queue == "redis"
    with pytest.raises(ConfigError, match="MOODSTREAM_DASHBOARD_TOKEN"):
        check_exposure(overlay.settings.dashboard)
    (container,) = overlay.deployment("moodstream-dashboard")["spec"]["template"]["spec"]["containers"]
    token = next(e for e in container["env"] if e["name"] == "MOODSTREAM_DASHBOARD_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "moodstream-dashboard", "key": "token"}
    assert overlay.by_kind["Service"]["moodstream-dashboard"]["spec"]["sessionAffinity"] == "ClientIP"


def test_redis_is_the_trust_boundary(overlay: Rendered) -> None:
    """Every moodstream container gets the password from the Secret; our own Redis requires it, evicts
    nothing silently, and lets in only moodstream's pods and KEDA's operator."""
    for name, deployment in overlay.by_kind["Deployment"].items():
        if name == "moodstream-redis":
            continue
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            # Each process connects as its role's ACL user with that role's own password.
            env = {e["name"]: e for e in container.get("env", [])}
            role = "capture" if container["args"][1:2] == ["capture"] else container["args"][-1]
            role = "dashboard" if container["args"] == ["dashboard"] else role
            assert env["MOODSTREAM__REDIS__USERNAME"]["value"] == role, name
            ref = env["MOODSTREAM_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "moodstream-redis", "key": f"password-{role}"}, name
    dashboard = overlay.deployment("moodstream-dashboard")["spec"]["template"]["spec"]["containers"][0]
    webcams = {e["name"]: e for e in dashboard["env"]}["MOODSTREAM_REDIS_PASSWORD_WEBCAMS"]
    assert webcams["valueFrom"]["secretKeyRef"] == {"name": "moodstream-redis", "key": "password-webcams"}
    auth = overlay.by_kind["TriggerAuthentication"]["moodstream-redis"]["spec"]["secretTargetRef"]
    refs = {a["parameter"]: (a["name"], a["key"]) for a in auth}
    assert refs["username"] == ("moodstream-redis", "username-keda")
    assert refs["password"] == ("moodstream-redis", "password-keda")
    if overlay.settings.redis.cluster:
        assert "moodstream-redis" not in overlay.by_kind["Deployment"]
        return
    spec = overlay.deployment("moodstream-redis")["spec"]["template"]["spec"]
    args = spec["containers"][0]["args"]
    assert "--requirepass" not in args and args[args.index("--aclfile") + 1] == "/etc/redis/users.acl"
    acl = next(v for v in spec["volumes"] if v["name"] == "acl")["secret"]
    assert acl["secretName"] == "moodstream-redis" and acl["items"] == [
        {"key": "users.acl", "path": "users.acl"}
    ]
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    redis = overlay.deployment("moodstream-redis")["spec"]["template"]["spec"]["containers"][0]
    probe = " ".join(redis["readinessProbe"]["exec"]["command"])
    assert " -a " not in probe and "REDIS_PASSWORD" not in probe, "a password in argv shows in ps"
    assert {e["name"]: e for e in redis["env"]}["REDISCLI_AUTH"]["valueFrom"]["secretKeyRef"][
        "key"
    ] == "password"
    policy = overlay.by_kind["NetworkPolicy"]["moodstream-redis"]["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "moodstream-redis"}
    (rule,) = policy["ingress"]
    assert rule["from"][0] == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "moodstream"}}}
    assert rule["from"][1]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}


def test_over_tls_every_pod_and_keda_get_the_certificates(tmp_path: Path) -> None:
    overlay = render(KUBERNETES / "overlays" / "redis-cluster-tls", tmp_path)
    redis = overlay.settings.redis
    assert redis.url.startswith("rediss://") and redis.cluster
    files = {redis.tls_ca_file, redis.tls_cert_file, redis.tls_key_file}
    assert files == {
        "/etc/moodstream-tls/ca.crt",
        "/etc/moodstream-tls/tls.crt",
        "/etc/moodstream-tls/tls.key",
    }
    for name, deployment in overlay.by_kind["Deployment"].items():
        spec = deployment["spec"]["template"]["spec"]
        volume = next(v for v in spec["volumes"] if v["name"] == "redis-tls")
        assert volume["secret"]["secretName"] == "moodstream-redis-tls", name
        mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
        assert mounts["redis-tls"] == "/etc/moodstream-tls", name
    auth = overlay.by_kind["TriggerAuthentication"]["moodstream-redis"]["spec"]["secretTargetRef"]
    refs = {a["parameter"]: (a["name"], a["key"]) for a in auth}
    assert refs["tls"] == ("moodstream-redis", "tls")
    assert {refs[p] for p in ("ca", "cert", "key")} == {
        ("moodstream-redis-tls", "ca.crt"),
        ("moodstream-redis-tls", "tls.crt"),
        ("moodstream-redis-tls", "tls.key"),
    }
