"""Worker heartbeats: what every process tells ``status``, ``bench``, the dashboard and ``/metrics``.

Each worker rewrites its own expiring key every ``[runtime] heartbeat_s``; a key that expires is a
worker that stopped. Counters only grow, and latency histograms use fixed buckets
(moodstream/runtime/metrics.py), so readers add up any number of workers and subtract two snapshots of
one. What only one kind of process knows travels in ``detail``, one typed record per kind.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from moodstream.streams.schemas.codec import Record


@dataclass
class CaptureStatus(Record):
    """A camera as its capture worker sees it (``source`` is the description, never the URL)."""

    KIND = "capture"
    camera: str
    source: str
    kind: str
    state: str
    error: str
    reconnects: int
    frames: int
    # Added later (a capture from before them reads as the defaults): what the camera's frames cost.
    decoder: str = ""  # "software", or the hardware decoder; "" until the source opened
    decode_ms: float = 0.0  # CPU ms to take in a frame (grab and, if kept, conversion); a moving average
    last_frame_ts: float = 0.0  # capture's wall clock when it last grabbed a frame; 0: none yet
    view_state: str = ""  # the viewers' stream's state when detection reads another (detect_source)


@dataclass
class ClassifierStatus(Record):
    KIND = "classifier"
    model: str
    device: str
    batches: int


@dataclass
class MusicStatus(Record):
    """The music provider's circuit and counters (Spotify; the catalog alone reports none)."""

    breaker: str
    last_error: str
    searches: int
    failures: int
    skipped_while_open: int
    empty: int
    bad_cache_entries: int


@dataclass
class RecommenderStatus(Record):
    KIND = "recommender"
    provider: str
    strategy: str
    music: MusicStatus | None


@dataclass
class DashboardStatus(Record):
    """One dashboard process: its viewers, whether it bridges events, and its video counters."""

    KIND = "dashboard"
    clients: int = 0
    leader: bool = False
    frames_sent: int = 0
    frames_acked: int = 0
    frames_dropped: int = 0
    ack_timeouts: int = 0
    events: int = 0
    bad_events: int = 0


StageDetail = CaptureStatus | ClassifierStatus | RecommenderStatus | DashboardStatus


@dataclass
class Heartbeat(Record):
    KIND = "heartbeat"
    stage: str
    worker: str
    host: str
    pid: int
    started: float
    ts: float
    counters: dict[str, int]
    rates: dict[str, float]
    latency_hist: list[int]  # since the worker started: benchmarks subtract two snapshots
    latency_recent: list[int]  # since its previous heartbeat: what status shows
    detail: StageDetail | None
    # The process's loops that have not completed a pass for [runtime] loop_stall_s (e.g. "main",
    # "bridge"): a process that beats but does no work says so, rather than looking healthy.
    stalled: list[str] = field(default_factory=list)
    # The process's CPU seconds since it started, all its threads: benchmarks subtract two heartbeats
    # to get each stage's CPU per frame from the worker's own clock.
    cpu_s: float = 0.0

    @classmethod
    def of_this_process(
        cls, stage: str, worker: str, started: float, snap: Any, detail: StageDetail | None, **more: Any
    ) -> Heartbeat:
        """This process's heartbeat now, from its counters' snapshot (``runtime.metrics.Snapshot``)."""
        return cls(
            stage=stage,
            worker=worker,
            host=socket.gethostname(),
            pid=os.getpid(),
            started=started,
            ts=time.time(),
            counters=snap.counters,
            rates=snap.rates,
            latency_hist=snap.latency_hist,
            latency_recent=snap.latency_recent,
            detail=detail,
            **more,
        )


@dataclass
class Health(Record):
    """A worker's own view of itself, in a local file that an orchestrator's probe reads.

    The Redis heartbeat cannot tell a probe apart "Redis is down" (the pod is fine: restarting it helps
    nothing) from "this process is stuck" (restart it). The worker rewrites this file on every heartbeat
    and on every failed attempt to reach Redis, so its age says whether the process loops, and ``redis``
    and ``stalled`` say whether it can do its work.
    """

    KIND = "health"
    stage: str
    worker: str
    ts: float
    redis: bool  # its last attempt to reach Redis succeeded
    stalled: list[str] = field(default_factory=list)
    error: str = ""  # the kind of the last Redis error while ``redis`` is false
