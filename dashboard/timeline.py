"""A camera's emotion history, as the timeline chart draws it.

Emotion events are per face track; the chart shows the camera's mood, so
events are averaged into fixed time buckets (the page does the same with
live events). Stream ids are millisecond timestamps, so ``since`` becomes a
range start and old history is never scanned.
"""

from __future__ import annotations

import math
from typing import Any

from moodstream.services.common.bus import Bus
from moodstream.services.common.schemas import EMOTIONS, EmotionEvent, SchemaError

PAGE = 1000


def bucket_events(events: list[EmotionEvent], bucket_s: float) -> list[dict[str, Any]]:
    buckets: dict[int, dict[str, Any]] = {}
    for ev in events:
        key = math.floor(ev.ts / bucket_s)
        b = buckets.setdefault(key, {"sums": [0.0] * len(EMOTIONS), "n": 0, "tracks": set()})
        for i, e in enumerate(EMOTIONS):
            b["sums"][i] += ev.probs[e]
        b["n"] += 1
        b["tracks"].add(ev.track)
    points = []
    for key in sorted(buckets):
        b = buckets[key]
        probs = {e: round(s / b["n"], 4) for e, s in zip(EMOTIONS, b["sums"], strict=True)}
        points.append(
            {
                "ts": round(key * bucket_s, 3),
                "probs": probs,
                "label": max(probs, key=probs.__getitem__),
                "faces": len(b["tracks"]),
                "events": b["n"],
            }
        )
    return points


def timeline(
    bus: Bus, camera: str, since: float, until: float, bucket_s: float = 1.0, limit: int = 50_000
) -> dict[str, Any]:
    events: list[EmotionEvent] = []
    start = f"{max(0, int(since * 1000))}-0"
    end_ms = int(until * 1000)
    scanned = 0
    while scanned < limit:
        entries = bus.history(bus.keys.camera_stream("emotions", camera), since_id=start, count=PAGE)
        if not entries:
            break
        for entry in entries:
            if entry.payload is None:
                continue
            try:
                ev = EmotionEvent.decode(entry.payload)
            except SchemaError:
                continue
            if ev.camera == camera and since <= ev.ts <= until:
                events.append(ev)
        scanned += len(entries)
        last = entries[-1].id
        if int(last.split("-")[0]) > end_ms or len(entries) < PAGE:
            break
        start = "(" + last
    return {
        "camera": camera,
        "since": since,
        "until": until,
        "bucket_s": bucket_s,
        "points": bucket_events(events, bucket_s),
    }
