"""The command lines of moodstream's processes, built in one place.

supervisor (stack.py), ``moodstream bench`` and the tests all start workers and dashboards as
separate processes; they all get their commands here, so a process runs the same way under each.
"""

from __future__ import annotations

import sys
from pathlib import Path

from moodstream.config import DashboardSettings
from moodstream.streams.stages import stage_named


def cli(config: str | Path | None, *args: str) -> list[str]:
    """``moodstream [--config FILE] ARGS...`` with this interpreter (no PATH lookup, no venv activation)."""
    return [
        sys.executable,
        "-m",
        "moodstream",
        *(["--config", str(config)] if config is not None else []),
        *args,
    ]


def worker(config: str | Path, stage: str, camera: str | None = None) -> list[str]:
    definition = stage_named(stage)
    if definition.per_camera != (camera is not None):
        need = "needs a camera" if definition.per_camera else "takes no camera"
        raise ValueError(f"stage {stage!r} {need}")
    return cli(config, "worker", stage, *(["--camera", camera] if camera is not None else []))


def dashboard(config: str | Path, cfg: DashboardSettings) -> list[str]:
    """The dashboard, behind the CPU priority its settings ask for."""
    return [*cfg.priority_prefix(), *cli(config, "dashboard")]
