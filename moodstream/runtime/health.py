"""A worker's health file, and the check a container probe runs against it.

Kubernetes and compose decide readiness and liveness per container, without Redis in the loop: a
probe that asked Redis would fail every pod at once while Redis restarts, and restart them all for
nothing. So each worker writes its own state to a local file (``[runtime] health_file``), and
``moodstream health`` reads it. Liveness asks only that the process keeps looping; readiness also asks
that it reaches Redis and that none of its loops is stalled.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from moodstream.streams.schemas import Health, SchemaError


def write(path: Path, health: Health) -> None:
    """Replace the file atomically: a probe never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(health.encode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class Verdict:
    ok: bool
    line: str


def check(path: Path, max_age_s: float, live_only: bool = False, now: float | None = None) -> Verdict:
    """Whether the worker that writes ``path`` is alive (``live_only``) or ready, with a one-line reason."""
    what = "alive" if live_only else "ready"
    try:
        health = Health.decode(path.read_bytes())
    except FileNotFoundError:
        return Verdict(False, f"not {what}: no health file at {path} (the worker has not started yet)")
    except (OSError, SchemaError) as exc:
        return Verdict(False, f"not {what}: cannot read {path}: {exc}")
    age = (time.time() if now is None else now) - health.ts
    who = f"{health.stage} worker {health.worker}"
    if age > max_age_s:
        return Verdict(False, f"not {what}: {who} last reported {age:.0f} s ago (limit {max_age_s:g} s)")
    if health.stalled:
        return Verdict(False, f"not {what}: {who} has stalled loops: {', '.join(health.stalled)}")
    if not live_only and not health.redis:
        return Verdict(False, f"not {what}: {who} cannot reach Redis ({health.error or 'no answer'})")
    return Verdict(True, f"{what}: {who}, reported {max(age, 0.0):.1f} s ago")
