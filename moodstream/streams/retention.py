"""Retention by age (``[privacy] retention``): nothing about the people filmed is kept longer.

The count caps of ``[streams]`` bound how much is kept; this bounds how old it may be. Each period,
one rollup worker of the deployment (whichever holds a short lease) trims every pipeline stream,
dead letter stream and camera timeline with ``XTRIM MINID``, by Redis's own clock. An entry that a
consumer group has not finished is kept until it is: work in hand is never lost to retention.
``record``'s files are deleted by the rollup workers of the host that wrote them; the Spotify cache's
entries expire within the retention (recommender/provider.py).
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from moodstream.streams import consumer_groups
from moodstream.streams.bus import Bus
from moodstream.streams.keys import STREAMS
from moodstream.streams.stages import consumers

log = logging.getLogger(__name__)

SEP = "\0"  # between host and path in the recordings index (neither holds a NUL)


def period_s(retention_s: float) -> float:
    """How often to trim: a tenth of the retention, between 1 s and a minute."""
    return min(60.0, max(1.0, retention_s / 10))


def readers(name: str) -> list[str]:
    """The consumer groups that read the pipeline stream ``name``."""
    return [stage.group for stage in consumers() if stage.reads == name and stage.group]


def trim_streams(bus: Bus, retention_s: float) -> dict[str, int]:
    """Trim every stream and timeline to the retention; returns the entries deleted per stream."""
    cutoff = (bus.server_time_ms() - int(retention_s * 1000), 0)
    deleted: dict[str, int] = {}
    for name in STREAMS:
        groups = readers(name)
        for stream in bus.keys.streams(name):
            finished = consumer_groups.finished_before(bus, stream, groups)
            if finished is not None:
                until = min(cutoff, finished)
                deleted[stream] = int(
                    bus._client.xtrim(stream, minid=f"{until[0]}-{until[1]}", approximate=False)
                )
    for key in bus._client.scan_iter(match=bus.keys.timeline_pattern(), count=1000, _type="stream"):
        stream = key.decode() if isinstance(key, bytes) else key
        deleted[stream] = int(bus._client.xtrim(stream, minid=f"{cutoff[0]}-0", approximate=False))
    return deleted


def register_recording(bus: Bus, path: Path, finished_ms: int) -> None:
    """Note a file ``record`` wrote, so that it is deleted once older than the retention."""
    bus._client.zadd(bus.keys.recordings(), {f"{socket.gethostname()}{SEP}{path.resolve()}": finished_ms})


def delete_old_recordings(bus: Bus, retention_s: float) -> list[Path]:
    """Delete this host's recordings older than the retention; returns those deleted."""
    cutoff = bus.server_time_ms() - int(retention_s * 1000)
    host = socket.gethostname()
    deleted: list[Path] = []
    for raw in bus._client.zrangebyscore(bus.keys.recordings(), "-inf", cutoff):
        member = raw.decode() if isinstance(raw, bytes) else raw
        owner, _, path = member.partition(SEP)
        if owner != host:
            continue  # another host's file: its own rollup workers delete it
        Path(path).unlink(missing_ok=True)
        bus._client.zrem(bus.keys.recordings(), raw)
        deleted.append(Path(path))
    return deleted


class Retention:
    """Run from a worker's loop: trims when a period has passed and this worker holds the lease."""

    def __init__(self, bus: Bus, retention_s: float | None) -> None:
        self.bus = bus
        self.retention_s = retention_s
        self.next_due = 0.0

    def maybe_run(self, now: float) -> None:
        if self.retention_s is None or now < self.next_due:
            return
        period = period_s(self.retention_s)
        self.next_due = now + period
        for path in delete_old_recordings(self.bus, self.retention_s):
            log.info("retention: deleted recording %s", path)
        lease = self.bus.keys.retention_lease()
        if self.bus._client.set(lease, b"1", nx=True, px=max(1, int(period * 1000) - 100)):
            trimmed = sum(trim_streams(self.bus, self.retention_s).values())
            if trimmed:
                log.debug("retention: trimmed %d entries older than %.0f s", trimmed, self.retention_s)


def oldest_ages(bus: Bus) -> dict[str, float | None]:
    """How old each stream's oldest entry is, in seconds by Redis's clock (over every partition; the
    cameras' timelines as ``timeline``); None for a stream that holds nothing."""
    now_ms = bus.server_time_ms()
    names = {stream: name for name in STREAMS for stream in bus.keys.streams(name)}
    timelines = bus._client.scan_iter(match=bus.keys.timeline_pattern(), count=1000, _type="stream")
    names.update({(k.decode() if isinstance(k, bytes) else k): "timeline" for k in timelines})
    pipe = bus._client.pipeline(transaction=False)
    for stream in names:
        pipe.xrange(stream, "-", "+", count=1)
    ages: dict[str, float | None] = {name: None for name in (*STREAMS, "timeline")}
    for stream, first in zip(names, pipe.execute(raise_on_error=False), strict=True):
        if first and not isinstance(first, Exception):  # a key of another type: not an age to show
            raw = first[0][0]
            age = (now_ms - int((raw.decode() if isinstance(raw, bytes) else raw).split("-")[0])) / 1000
            ages[names[stream]] = max(age, ages[names[stream]] or 0.0)
    return ages
