"""``moodstream bench --timeline``: what each of the page's timeline ranges costs the dashboard to load.

A private key prefix on the configured Redis gets one camera's full history, laid down with the entry
ids it would have had: a day of the rollup stage's 10 s buckets, and the newest hour of emotion events at
``rate`` per second in its partition's stream (the default, 5.5/s, fills ``events_maxlen`` in an hour,
as 4 cameras with a face each do). Each range's request is then timed as the endpoint runs it, and the
prefix deleted.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from moodstream.config import Settings
from moodstream.dashboard.timeline import timeline
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import EMOTIONS, ROLLUP_S, EmotionEvent, TimelineBucket

# The page's ranges and their buckets (moodstream/dashboard/static/timeline.js).
RANGES = ((300, 1.0), (3600, 10.0), (86400, 300.0))
CAMERA = "bench-cam"


def _probs(i: int) -> dict[str, float]:
    top = EMOTIONS[i % len(EMOTIONS)]
    return {e: (0.7 if e == top else 0.05) for e in EMOTIONS}


def _lay_down(bus: Bus, now: float, rate: float) -> tuple[int, int]:
    """A day of rollups and an hour of events, each entry under the id its time gives it."""
    starts = [TimelineBucket.start_of(now) - ROLLUP_S * i for i in range(int(86400 / ROLLUP_S), 0, -1)]
    rollups = [
        TimelineBucket(CAMERA, ts, sums=[v * 50 for v in _probs(i).values()], events=50, tracks=[1]).encode()
        for i, ts in enumerate(starts)
    ]
    ids = [f"{int((ts + ROLLUP_S) * 1000)}-0" for ts in starts]
    for i in range(0, len(rollups), 1000):
        bus.publish_many(bus.keys.timeline(CAMERA), rollups[i : i + 1000], ids[i : i + 1000])
    count = int(3600 * rate)
    times = [now - 3600 + i / rate for i in range(count)]
    events = [EmotionEvent(CAMERA, ts, 1, "sad", 0.7, _probs(i)).encode() for i, ts in enumerate(times)]
    event_ids = [f"{int(ts * 1000)}-{i}" for i, ts in enumerate(times)]
    for i in range(0, count, 1000):
        bus.publish_many(
            bus.keys.camera_stream("emotions", CAMERA), events[i : i + 1000], event_ids[i : i + 1000]
        )
    return len(rollups), count


def run_timeline_bench(settings: Settings, url: str, rounds: int = 5, rate: float = 5.5) -> dict[str, Any]:
    bus = Bus.for_settings(settings, url, prefix="bench-" + uuid.uuid4().hex[:8])
    try:
        now = time.time()
        rollups, events = _lay_down(bus, now, rate)
        views = []
        for span, bucket in RANGES:
            took = []
            for _ in range(rounds):
                start = time.perf_counter()
                points = timeline(bus, CAMERA, now - span, now, bucket)["points"]
                took.append((time.perf_counter() - start) * 1000)
            views.append(
                {
                    "range_s": span,
                    "bucket_s": bucket,
                    "points": len(points),
                    "ms": round(statistics.median(took), 1),
                    "ms_min": round(min(took), 1),
                    "ms_max": round(max(took), 1),
                }
            )
        return {"rollups": rollups, "events": events, "events_per_s": rate, "rounds": rounds, "views": views}
    finally:
        bus.delete_all()


def format_timeline(result: dict[str, Any]) -> str:
    lines = [
        f"one camera: {result['rollups']} rollups (a day), {result['events']} events "
        f"(an hour at {result['events_per_s']}/s); median of {result['rounds']} rounds",
        "range      bucket  points  ms (min-max)",
    ]
    for v in result["views"]:
        lines.append(
            f"{v['range_s']:>7} s  {v['bucket_s']:>5g} s  {v['points']:>6}  "
            f"{v['ms']} ({v['ms_min']}-{v['ms_max']})"
        )
    return "\n".join(lines)
