"""The stage registry: what each pipeline stage reads, writes and runs, said once.

Stream names here are the names of ``Keys`` properties (keys.py turns them into Redis keys under the
deployment's prefix); a consuming stage's consumer group is named after it. ``keys.py``, ``stack``,
the CLI, ``status``, ``bench`` and the tests read this table, and docs/architecture.md's contracts
table is checked against it. A stage's code is imported only when that stage runs, so reading the
registry never loads TensorFlow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moodstream.config import Settings


@dataclass(frozen=True)
class Stage:
    name: str
    reads: str | None  # the stream it consumes; None: capture reads a camera
    writes: str | None  # the pipeline stream it publishes to; None: only keys of its own (also_writes)
    runner: str  # "module:function" under moodstream
    per_camera: bool = False  # one process per camera, rather than any number of instances
    stateful: bool = False  # keeps per-camera state in Redis, under a per-camera lease
    also_writes: tuple[str, ...] = ()  # Keys methods of the other keys it writes

    @property
    def group(self) -> str | None:
        """The consumer group the stage's instances share (None for capture, which reads no stream)."""
        return self.name if self.reads else None

    def load(self) -> Callable[..., int]:
        module, _, function = self.runner.partition(":")
        return getattr(importlib.import_module(f"moodstream.{module}"), function)

    def run(self, settings: Settings, camera: str | None = None) -> int:
        """Run one worker of this stage in this process until it is stopped."""
        runner = self.load()
        return runner(settings, camera) if self.per_camera else runner(settings)


STAGES: tuple[Stage, ...] = (
    Stage(
        "capture",
        None,
        "frames",
        "capture.worker:run",
        per_camera=True,
        also_writes=("latest_frame", "capture_cursor"),
    ),
    Stage(
        "detector",
        "frames",
        "detections",
        "detector.worker:run",
        also_writes=("detector_tracks", "latest_frame"),
    ),
    Stage("classifier", "detections", "classified", "classifier.worker:run"),
    Stage(
        "smoother",
        "classified",
        "emotions",
        "smoother.worker:run",
        stateful=True,
        also_writes=("overlay", "state"),
    ),
    Stage(
        "recommender",
        "emotions",
        "recommendations",
        "recommender.worker:run",
        stateful=True,
        also_writes=("latest_recommendation", "state", "spotify_search"),
    ),
    Stage("alerter", "emotions", "alerts", "alerter.worker:run", stateful=True, also_writes=("state",)),
    Stage(
        "rollup",
        "emotions",
        None,
        "rollup.worker:run",
        stateful=True,
        also_writes=("state", "timeline", "retention_lease", "recordings"),
    ),
)
NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
_BY_NAME = {s.name: s for s in STAGES}


def stage_named(name: str) -> Stage:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r} (stages: {', '.join(NAMES)})") from None


def consumers() -> tuple[Stage, ...]:
    """The stages that read a stream through a consumer group (all but capture)."""
    return tuple(s for s in STAGES if s.reads is not None)
