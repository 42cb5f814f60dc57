"""A camera's emotion history, as the timeline chart draws it.

Emotion events are per face track; the chart shows the camera's mood, so events are averaged into
fixed time buckets (the page does the same with live events). Two sources feed it:

- the emotion streams hold every event, but only for minutes (``[streams] events_maxlen`` per
  partition, shared by its cameras);
- the camera's timeline stream holds the rollup stage's 10 s buckets (``TimelineBucket``) for days.

A view whose bucket is a multiple of 10 s (the page's 1 h and 24 h) takes the rollups up to the newest
one, and the raw events after it; a finer view, or a camera no rollup worker folds, reads raw events
alone. Stream ids are millisecond timestamps, so ``since`` becomes a range start and old history is
never scanned.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from moodstream.streams.bus import Bus
from moodstream.streams.schemas import (
    EMOTIONS,
    ROLLUP_S,
    EmotionEvent,
    SchemaError,
    TimelineBucket,
)

PAGE = 1000
T = TypeVar("T", EmotionEvent, TimelineBucket)


class Buckets:
    """Events and rollups summed into buckets of ``bucket_s`` seconds, aligned to multiples of it: the
    rollups' own accumulator, at the view's grain."""

    def __init__(self, camera: str, bucket_s: float):
        self.camera = camera
        self.bucket_s = bucket_s
        self._by_key: dict[int, TimelineBucket] = {}

    def _at(self, ts: float) -> TimelineBucket:
        key = math.floor(ts / self.bucket_s)
        if key not in self._by_key:
            self._by_key[key] = TimelineBucket(self.camera, key * self.bucket_s)
        return self._by_key[key]

    def add_event(self, ev: EmotionEvent) -> None:
        self._at(ev.ts).add(ev)

    def add_rollup(self, rollup: TimelineBucket) -> None:
        self._at(rollup.ts).merge(rollup)

    def points(self) -> list[dict[str, Any]]:
        out = []
        for key in sorted(self._by_key):
            b = self._by_key[key]
            if not b.events:
                continue
            probs = {e: round(s / b.events, 4) for e, s in zip(EMOTIONS, b.sums, strict=True)}
            out.append(
                {
                    "ts": round(key * self.bucket_s, 3),
                    "probs": probs,
                    "label": max(probs, key=probs.__getitem__),
                    "faces": len(b.tracks),
                    "events": b.events,
                }
            )
        return out


def _scan(bus: Bus, stream: str, since: float, until: float, limit: int) -> list[bytes]:
    """Payloads of ``stream`` added from ``since`` on, page by page, up to ``until`` or ``limit``."""
    payloads: list[bytes] = []
    start = f"{max(0, int(since * 1000))}-0"
    end_ms = until * 1000
    while len(payloads) < limit:
        entries = bus.history(stream, since_id=start, count=PAGE)
        payloads += [e.payload for e in entries if e.payload is not None]
        if len(entries) < PAGE or int(entries[-1].id.split("-")[0]) > end_ms:
            break
        start = "(" + entries[-1].id
    return payloads


def _decoded(payloads: list[bytes], kind: type[T], camera: str, since: float, until: float) -> list[T]:
    """The camera's records in [since, until]; anything that does not decode is passed over (the
    pipeline dead-letters it where it is consumed)."""
    out = []
    for payload in payloads:
        try:
            record = kind.decode(payload)
        except SchemaError:
            continue
        if record.camera == camera and since <= record.ts <= until:
            out.append(record)
    return out


def _rollups(bus: Bus, camera: str, since: float, until: float, limit: int) -> list[TimelineBucket]:
    """The camera's rollups for buckets that start in [since, until]. A bucket is published once the
    camera's first event after it arrives, so its entry id is later than its end: the scan starts at
    ``since`` and runs to the stream's end (rollups are few: 360 an hour)."""
    payloads = _scan(bus, bus.keys.timeline(camera), since, math.inf, limit)
    return _decoded(payloads, TimelineBucket, camera, since, until)


def _events(bus: Bus, camera: str, since: float, until: float, limit: int) -> list[EmotionEvent]:
    payloads = _scan(bus, bus.keys.camera_stream("emotions", camera), since, until, limit)
    return _decoded(payloads, EmotionEvent, camera, since, until)


def timeline(
    bus: Bus, camera: str, since: float, until: float, bucket_s: float = 1.0, limit: int = 50_000
) -> dict[str, Any]:
    buckets = Buckets(camera, bucket_s)
    raw_since = since
    if bucket_s % ROLLUP_S == 0:
        since = math.floor(since / bucket_s) * bucket_s  # whole buckets, as the rollups have them
        rollups = _rollups(bus, camera, since, until, limit)
        for rollup in rollups:
            buckets.add_rollup(rollup)
        raw_since = max((r.ts + ROLLUP_S for r in rollups), default=since)
    for ev in _events(bus, camera, raw_since, until, limit):
        buckets.add_event(ev)
    return {
        "camera": camera,
        "since": since,
        "until": until,
        "bucket_s": bucket_s,
        "points": buckets.points(),
    }
