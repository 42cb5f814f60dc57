"""Worker heartbeats: each worker's newest ``Heartbeat`` under its own key, expiring when it stops
beating, so status and probes see exactly the live workers."""

from __future__ import annotations

import logging

from moodstream.runtime.backoff import OnceLog
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Heartbeat, SchemaError

log = logging.getLogger(__name__)
_unreadable = OnceLog(log)


def beat(bus: Bus, stage: str, worker: str, payload: bytes, ttl_s: float) -> None:
    bus._client.set(bus.keys.heartbeat(stage, worker), payload, px=max(1000, int(ttl_s * 1000)))


def forget(bus: Bus, stage: str, worker: str) -> None:
    bus._client.delete(bus.keys.heartbeat(stage, worker))


def live(bus: Bus, stage: str = "*") -> list[Heartbeat]:
    """The latest heartbeat of every live worker of ``stage`` (``*``: of all); ones that do not decode are
    logged once and left out."""
    keys = list(bus._client.scan_iter(match=bus.keys.heartbeat_pattern(stage), count=500))
    out = []
    for raw in bus.mget(keys):
        if raw is None:  # expired between the scan and the read
            continue
        try:
            out.append(Heartbeat.decode(raw))
        except SchemaError as exc:
            _unreadable(str(exc), "skipping a heartbeat that cannot be decoded: %s", exc)
    return out


def count(bus: Bus, stage: str = "*") -> int:
    """How many workers of ``stage`` beat now, whether or not this version can read their heartbeats
    (``up`` asks whether a prefix is in use, by any version)."""
    return sum(1 for _ in bus._client.scan_iter(match=bus.keys.heartbeat_pattern(stage), count=500))
