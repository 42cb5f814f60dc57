"""Redis Streams into Socket.IO rooms: the events bridge and the stats publisher.

The bridge follows the public emotion and recommendation streams without a
consumer group (every dashboard sees every event; nothing is acked or
removed) and emits each event to the rooms ``all`` and ``cam:<id>``.

With several dashboard processes sharing a Socket.IO message queue, one
emit reaches every process's clients, so exactly one process bridges: it
holds a short lease in Redis and records how far it got, and when it stops
another takes the lease and carries on from there.

Stats are per process (they include this process's own clients), so every
process emits its own, to its own clients only.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from moodstream.dashboard.clients import ALL_ROOM, camera_room
from moodstream.ops.observe import Status, collect_status, disclosed, public_decoders
from moodstream.runtime.backoff import Backoff, OnceLog
from moodstream.runtime.metrics import Counters
from moodstream.streams import dashboard_cursor, leases
from moodstream.streams.bus import Bus
from moodstream.streams.client import CONNECTION_ERRORS
from moodstream.streams.schemas import (
    BridgeCursor,
    DashboardStatus,
    SchemaError,
)

log = logging.getLogger(__name__)

LEASE_MS = 5000
# A successor resumes from the recorded position only if it is this recent; otherwise from now,
# rather than flooding viewers with stale events.
RESUME_WINDOW_S = 30.0
CURSOR_EVERY_S = 0.5

EmitEvent = Callable[[str, dict[str, Any], list[str]], None]
Stopped = Callable[[], bool]
Wait = Callable[[float], Any]


class EventBridge:
    def __init__(
        self,
        bus: Bus,
        emit: EmitEvent,
        shared: bool,
        errors: Counters,
        aggregate: frozenset[str] = frozenset(),
    ) -> None:
        self.aggregate = aggregate  # cameras whose per-face events never leave (observe.disclosed)
        self.bus = bus
        self.emit = emit
        self.shared = shared
        self.errors = errors  # the process's heartbeat counters: an unreadable cursor counts there
        self.token = uuid.uuid4().hex
        self.leader = not shared
        self.counters = {"events": 0, "bad_events": 0}
        self.positions: dict[str, str] | None = None  # where bridging got to in each stream
        self._bad_cursor = OnceLog(log, logging.ERROR)
        # Every partition's public streams, merged in time order by ``tail``.
        self._decoders = public_decoders(bus.keys)

    def _saved_positions(self) -> dict[str, str] | None:
        raw = dashboard_cursor.load(self.bus)
        if raw is None:
            return None
        try:
            positions = BridgeCursor.decode(raw).positions
            newest_ms = max(int(v.split("-")[0]) for v in positions.values())
        except (SchemaError, ValueError) as exc:
            self.errors.inc("errors")
            key = self.bus.keys.dashboard_cursor()
            self._bad_cursor(
                key, "%s: the bridge cursor cannot be decoded (%s); following from now", key, exc
            )
            return None
        if set(positions) != set(self._decoders) or time.time() * 1000 - newest_ms >= RESUME_WINDOW_S * 1000:
            return None
        return positions

    def _start_positions(self) -> dict[str, str]:
        saved = self._saved_positions() if self.shared else None
        return saved or {stream: self.bus.last_id(stream) for stream in self._decoders}

    def forward(self, stream: str, entry_id: str, payload: bytes | None) -> None:
        if payload is None:
            self.counters["bad_events"] += 1
            return
        try:
            event = self._decoders[stream].decode(payload)
        except SchemaError as exc:
            self.counters["bad_events"] += 1
            log.warning("skipping an undecodable event on %s: %s", stream, exc)
            return
        # The id is what a client resumes from after a disconnection.
        body = disclosed({**event.public(), "id": entry_id}, self.aggregate)
        if body is None:  # an aggregate-only camera's face: it stays in the pipeline
            return
        self.emit(body["type"], body, [ALL_ROOM, camera_room(event.camera)])
        self.counters["events"] += 1

    def _save(self, positions: dict[str, str]) -> None:
        dashboard_cursor.save(self.bus, BridgeCursor(positions=dict(positions)).encode())

    def run(self, stopped: Stopped, wait: Wait) -> None:
        """Forward events; ``self.positions`` outlives a run that an error ended, so the restarted run
        (moodstream/runtime/liveness.py: guarded) goes on from where this one got to."""
        backoff = Backoff()
        last_saved = 0.0
        lease = self.bus.keys.dashboard_lease()
        try:
            while not stopped():
                try:
                    if self.shared:
                        self.leader = leases.hold_lease(self.bus, lease, self.token, LEASE_MS)
                        if not self.leader:
                            self.positions = None
                            wait(1.0)
                            continue
                    if self.positions is None:
                        self.positions = self._start_positions()
                        log.info("bridging events from %s", self.positions)
                    for entry in self.bus.tail(self.positions, block_ms=500):
                        self.positions[entry.stream] = entry.id
                        self.forward(entry.stream, entry.id, entry.payload)
                    if self.shared and time.monotonic() - last_saved >= CURSOR_EVERY_S:
                        self._save(self.positions)
                        last_saved = time.monotonic()
                    backoff.reset()
                except CONNECTION_ERRORS as exc:
                    delay = backoff.next()
                    log.warning("events: Redis unavailable (%s); retrying in %.1fs", exc, delay)
                    wait(delay)
        finally:
            self._hand_over(lease, self.positions)

    def _hand_over(self, lease: str, positions: dict[str, str] | None) -> None:
        """On the way out: record where this process got to and let a successor take over at once."""
        if not (self.shared and self.leader):
            return
        try:
            if positions:
                self._save(positions)
            leases.release_lease(self.bus, lease, self.token)
        except CONNECTION_ERRORS:
            pass


def stats_payload(status: Status, dashboard: DashboardStatus) -> dict[str, Any]:
    """The ``stats`` event: per-stage rates, backlog and latency, the cameras, and this dashboard."""
    stages = {
        name: {
            "workers": s.workers,
            "rate": s.rate,
            "skip_rate": s.skip_rate,
            "processed": s.processed,
            "skipped": s.skipped,
            "errors": s.errors,
            "dead": s.dead,
            "pending": s.pending,
            "lag": s.lag,
            "latency_ms": s.latency_ms,
        }
        for name, s in status.stages.items()
    }
    cameras = [
        {
            "camera": c.camera,
            "state": c.state or "unknown",
            "fps": round(float(c.fps or 0.0), 2),
            "frames": int(c.frames or 0),
            "error": c.error or "",
        }
        for c in status.cameras
        if c.camera
    ]
    return {
        "type": "stats",
        "ts": status.ts,
        "stages": stages,
        "cameras": cameras,
        "dead_letters": status.dead_letters,
        "dashboard": asdict(dashboard),
    }


class LatestStats:
    """The newest ``stats`` payload this process made: for late subscribers, the API and the pump."""

    def __init__(self) -> None:
        self.payload: dict[str, Any] | None = None

    def get(self) -> dict[str, Any] | None:
        return self.payload

    def cameras(self) -> list[str]:
        return [c["camera"] for c in self.payload["cameras"]] if self.payload else []


class StatsPublisher:
    """Every ``interval_s``: collect the system's status, send it to this process's clients, and beat."""

    def __init__(
        self,
        bus: Bus,
        emit: Callable[[dict[str, Any]], None],
        info: Callable[[], DashboardStatus],
        interval_s: float,
        latest: LatestStats,
        beat: Callable[[], None],
    ) -> None:
        self.bus = bus
        self.emit = emit
        self.info = info
        self.interval_s = interval_s
        self.latest = latest
        self.beat = beat

    def collect(self) -> dict[str, Any]:
        self.latest.payload = stats_payload(collect_status(self.bus), self.info())
        return self.latest.payload

    def run(self, stopped: Stopped, wait: Wait) -> None:
        backoff = Backoff()
        while not stopped():
            try:
                self.emit(self.collect())
                self.beat()
                backoff.reset()
                wait(self.interval_s)
            except CONNECTION_ERRORS as exc:
                delay = backoff.next()
                log.warning("stats: Redis unavailable (%s); retrying in %.1fs", exc, delay)
                wait(delay)
