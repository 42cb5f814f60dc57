"""docs/architecture.md's "Adding a stage", walked for every stage in the registry: its package, its
registry row, its keys, its config section, its compose service, its Kubernetes objects and its status row
are all there and agree."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from moodstream.config import Settings
from moodstream.streams.keys import STREAMS, Keys
from moodstream.streams.stages import STAGES, Stage
from tests.deploy.manifests import KUBERNETES, Rendered, render
from tests.helpers import ROOT

IDS = [s.name for s in STAGES]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render(KUBERNETES / "overlays" / "single-redis", tmp_path_factory.mktemp("k8s"))


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_its_package_has_a_run_function(stage: Stage) -> None:
    module, _, function = stage.runner.partition(":")
    path = ROOT / "moodstream" / Path(*module.split(".")).with_suffix(".py")
    assert path.exists(), f"{stage.name}: {path.relative_to(ROOT)} is missing"
    assert ast.get_docstring(ast.parse((path.parent / "__init__.py").read_text())), "say what the stage does"
    tree = ast.parse(path.read_text())
    assert function in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_its_registry_row_names_streams_and_keys_that_exist(stage: Stage) -> None:
    assert stage.reads is None or stage.reads in STREAMS
    assert stage.writes is None or stage.writes in STREAMS
    assert stage.writes is not None or stage.also_writes, "a stage writes something"
    assert stage.group == (stage.name if stage.reads else None)
    for key in stage.also_writes:
        assert hasattr(Keys, key), f"{stage.name} writes {key}, which keys.py does not make"
    if stage.stateful:
        assert "state" in stage.also_writes


@pytest.mark.parametrize("stage", [s for s in STAGES if not s.per_camera], ids=lambda s: s.name)
def test_its_config_section_says_how_many_instances_up_starts(stage: Stage) -> None:
    section = Settings.model_fields[stage.name].annotation
    assert "instances" in section.model_fields
    assert section.model_fields["instances"].description


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_compose_runs_it(stage: Stage) -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    commands = [s.get("command", [])[:2] for s in services.values()]
    assert ["worker", stage.name] in commands


@pytest.mark.parametrize("stage", STAGES, ids=IDS)
def test_kubernetes_runs_scales_and_protects_it(stage: Stage, base: Rendered) -> None:
    deployments = base.by_kind["Deployment"]
    runs = [
        name
        for name, d in deployments.items()
        if d["spec"]["template"]["spec"]["containers"][0].get("args", [])[:2] == ["worker", stage.name]
    ]
    assert runs, f"no Deployment runs `worker {stage.name}`"
    if stage.reads is not None:  # capture is one pod per camera (Recreate): no budget, scaled by hand
        budgets = base.by_kind["PodDisruptionBudget"].values()
        components = {
            d["metadata"]["labels"]["app.kubernetes.io/component"] for d in map(deployments.get, runs)
        }
        selected = {b["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component") for b in budgets}
        assert components <= selected, f"{stage.name} has no PodDisruptionBudget"
        scaled = base.by_kind["ScaledObject"][f"moodstream-{stage.name}"]["spec"]
        assert scaled["scaleTargetRef"]["name"] == f"moodstream-{stage.name}"
        assert {t["metadata"]["consumerGroup"] for t in scaled["triggers"]} == {stage.group}


def test_the_dashboards_stats_require_every_stage() -> None:
    schema = json.loads((ROOT / "moodstream" / "dashboard" / "schemas" / "stats.json").read_text())
    assert set(schema["properties"]["stages"]["required"]) == set(IDS)
