"""Rendering the kustomize overlays and reading what the tests check in them."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from moodstream.config import Settings, load_settings
from tests.helpers import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(p.name for p in (KUBERNETES / "overlays").iterdir() if p.is_dir())
KUBERNETES_VERSION = "1.32"


def kubectl() -> str:
    path = shutil.which("kubectl")
    assert path, "kubectl is not installed: `make deploy-tools` installs it (kustomize renders the manifests)"
    return path


@dataclass
class Rendered:
    """One overlay's objects, by kind, and the moodstream config its ConfigMap carries."""

    objects: list[dict[str, Any]]
    settings: Settings
    by_kind: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for obj in self.objects:
            self.by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj

    def deployment(self, name: str) -> dict[str, Any]:
        return self.by_kind["Deployment"][name]


def render(path: Path, tmp_path: Path) -> Rendered:
    result = subprocess.run(
        [kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"kubectl kustomize {path}: {result.stderr}"
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    config = next(o for o in objects if o["kind"] == "ConfigMap" and "moodstream.toml" in o["data"])
    file = tmp_path / f"{path.name}.toml"
    file.write_text(config["data"]["moodstream.toml"])
    return Rendered(objects, load_settings(file, environ={}))
