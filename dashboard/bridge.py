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
from typing import Any

import msgpack

from services.common.bus import CONNECTION_ERRORS, Bus
from services.common.runtime import Backoff
from services.common.schemas import EmotionEvent, RecommendationEvent, SchemaError
from services.observe import collect_status

from .clients import ALL_ROOM, camera_room

log = logging.getLogger(__name__)

LEASE_MS = 5000
# A successor resumes from the recorded position only if it is this recent; otherwise from now,
# rather than flooding viewers with stale events.
RESUME_WINDOW_S = 30.0

EmitEvent = Callable[[str, dict[str, Any], list[str]], None]


class EventBridge:
    def __init__(self, bus: Bus, emit: EmitEvent, shared: bool) -> None:
        self.bus = bus
        self.emit = emit
        self.shared = shared
        self.token = uuid.uuid4().hex
        self.leader = not shared
        self.counters = {"events": 0, "bad_events": 0}
        self._decoders: dict[str, type[EmotionEvent] | type[RecommendationEvent]] = {
            bus.keys.emotions: EmotionEvent,
            bus.keys.recommendations: RecommendationEvent,
        }

    def _start_positions(self) -> dict[str, str]:
        keys = self.bus.keys
        if self.shared:
            raw = self.bus.get(keys.dashboard_cursor())
            if raw:
                try:
                    saved = msgpack.unpackb(raw, raw=False)
                    newest_ms = max(int(str(v).split("-")[0]) for v in saved.values())
                    if set(saved) == set(self._decoders) and time.time() * 1000 - newest_ms < (
                        RESUME_WINDOW_S * 1000
                    ):
                        return {str(k): str(v) for k, v in saved.items()}
                except (ValueError, TypeError, AttributeError, msgpack.UnpackException):
                    pass
        return {stream: self.bus.last_id(stream) for stream in self._decoders}

    def forward(self, stream: str, payload: bytes | None) -> None:
        if payload is None:
            self.counters["bad_events"] += 1
            return
        try:
            event = self._decoders[stream].decode(payload)
        except SchemaError as exc:
            self.counters["bad_events"] += 1
            log.warning("skipping an undecodable event on %s: %s", stream, exc)
            return
        body = event.public()
        self.emit(body["type"], body, [ALL_ROOM, camera_room(event.camera)])
        self.counters["events"] += 1

    def run(self, stopped: Callable[[], bool], wait: Callable[[float], Any]) -> None:
        positions: dict[str, str] | None = None
        backoff = Backoff()
        last_saved = 0.0
        lease = self.bus.keys.dashboard_lease()
        try:
            while not stopped():
                try:
                    if self.shared:
                        self.leader = self.bus.hold_lease(lease, self.token, LEASE_MS)
                        if not self.leader:
                            positions = None
                            wait(1.0)
                            continue
                    if positions is None:
                        positions = self._start_positions()
                        log.info("bridging events from %s", positions)
                    for entry in self.bus.tail(positions, block_ms=500):
                        positions[entry.stream] = entry.id
                        self.forward(entry.stream, entry.payload)
                    if self.shared and time.monotonic() - last_saved >= 0.5:
                        self.bus.set_latest(
                            self.bus.keys.dashboard_cursor(), msgpack.packb(positions), ttl_s=3600
                        )
                        last_saved = time.monotonic()
                    backoff.reset()
                except CONNECTION_ERRORS as exc:
                    delay = backoff.next()
                    log.warning("events: Redis unavailable (%s); retrying in %.1fs", exc, delay)
                    wait(delay)
        finally:
            if self.shared and self.leader:
                try:
                    if positions:
                        self.bus.set_latest(
                            self.bus.keys.dashboard_cursor(), msgpack.packb(positions), ttl_s=3600
                        )
                    self.bus.release_lease(lease, self.token)
                except CONNECTION_ERRORS:
                    pass


def stats_payload(status: dict[str, Any], dashboard: dict[str, Any]) -> dict[str, Any]:
    """The ``stats`` event: per-stage rates, backlog and latency, the cameras, and this dashboard."""
    stages = {}
    for stage, s in status["stages"].items():
        stages[stage] = {
            "workers": s["workers"],
            "rate": s["rate"],
            "skip_rate": s["skip_rate"],
            "processed": s["processed"],
            "skipped": s["skipped"],
            "errors": s["errors"],
            "dead": s["dead"],
            "pending": s.get("pending"),
            "lag": s.get("lag"),
            "latency_ms": s["latency_ms"],
        }
    cameras = [
        {
            "camera": c["camera"],
            "state": c["state"] or "unknown",
            "fps": round(float(c["fps"] or 0.0), 2),
            "frames": int(c["frames"] or 0),
            "error": c["error"] or "",
        }
        for c in status["cameras"]
        if c.get("camera")
    ]
    return {
        "type": "stats",
        "ts": status["ts"],
        "stages": stages,
        "cameras": cameras,
        "dead_letters": status["dead_letters"],
        "dashboard": dashboard,
    }


class StatsPublisher:
    def __init__(
        self,
        bus: Bus,
        emit: Callable[[dict[str, Any]], None],
        dashboard_info: Callable[[], dict[str, Any]],
        interval_s: float,
        on_collect: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.bus = bus
        self.emit = emit
        self.dashboard_info = dashboard_info
        self.interval_s = interval_s
        self.on_collect = on_collect
        self.latest: dict[str, Any] | None = None

    def cameras(self) -> list[str]:
        return [c["camera"] for c in self.latest["cameras"]] if self.latest else []

    def collect(self) -> dict[str, Any]:
        self.latest = stats_payload(collect_status(self.bus), self.dashboard_info())
        if self.on_collect is not None:
            self.on_collect(self.latest)
        return self.latest

    def run(self, stopped: Callable[[], bool], wait: Callable[[float], Any]) -> None:
        backoff = Backoff()
        while not stopped():
            try:
                self.emit(self.collect())
                backoff.reset()
                wait(self.interval_s)
            except CONNECTION_ERRORS as exc:
                delay = backoff.next()
                log.warning("stats: Redis unavailable (%s); retrying in %.1fs", exc, delay)
                wait(delay)
