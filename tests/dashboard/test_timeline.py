"""The timeline endpoint's history against real Redis: the recommender's 10 s rollups for the long
views, the raw emotion events after the newest rollup, and raw events alone for fine buckets; and its
benchmark."""

import json
import time
from pathlib import Path

from moodstream.dashboard.timeline import timeline
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import EMOTIONS, EmotionEvent, TimelineBucket
from tests.helpers import moodstream


def probs(label: str) -> dict[str, float]:
    return {e: (0.8 if e == label else 0.2 / 6) for e in EMOTIONS}


def test_long_views_read_rollups_then_the_raw_events_after_them(bus: Bus) -> None:
    base = (time.time() // 300) * 300 - 600
    # A minute rolled up (happy, 10 events per bucket), and 66 s of raw events: the same minute, then sad.
    for i in range(6):
        sums = [10 * p for p in probs("happy").values()]
        rollup = TimelineBucket("lobby", base + 10 * i, sums=sums, events=10, tracks=[1])
        bus.publish(bus.keys.timeline("lobby"), rollup.encode())
    raw = [
        EmotionEvent("lobby", base + i, 1, label, 0.8, probs(label))
        for i in range(66)
        for label in ["happy" if i < 60 else "sad"]
    ]
    bus.publish_many(bus.keys.emotions, [ev.encode() for ev in raw])

    tens = timeline(bus, "lobby", base, base + 70, bucket_s=10)["points"]
    assert [(p["ts"] - base, p["events"], p["label"]) for p in tens] == [
        *((10.0 * i, 10, "happy") for i in range(6)),
        (60.0, 6, "sad"),  # after the newest rollup: from the raw events, none counted twice
    ]
    day = timeline(bus, "lobby", base + 1, base + 70, bucket_s=300)
    assert day["since"] == base  # whole buckets
    assert [(p["ts"], p["events"]) for p in day["points"]] == [(base, 66)]
    fine = timeline(bus, "lobby", base + 55, base + 70, bucket_s=1)["points"]  # raw alone
    assert [p["label"] for p in fine] == ["happy"] * 5 + ["sad"] * 6
    assert fine[0]["probs"]["happy"] == 0.8


def test_without_rollups_a_long_view_reads_the_raw_events(bus: Bus) -> None:
    base = (time.time() // 10) * 10 - 60
    events = [EmotionEvent("porch", base + i * 0.5, i % 2, "fear", 0.8, probs("fear")) for i in range(40)]
    bus.publish_many(bus.keys.emotions, [ev.encode() for ev in events])
    points = timeline(bus, "porch", base, base + 60, bucket_s=10)["points"]
    assert [(p["ts"] - base, p["events"], p["faces"]) for p in points] == [(0.0, 20, 2), (10.0, 20, 2)]
    assert timeline(bus, "nobody", base, base + 60, bucket_s=10)["points"] == []


def test_the_timeline_benchmark_times_each_range_and_leaves_nothing(
    tmp_path: Path, redis_base_url: str, client
) -> None:
    config = tmp_path / "moodstream.toml"
    config.write_text(f'[redis]\nurl = "{redis_base_url}"\n')
    before = set(client.scan_iter(match="bench-*", count=1000))
    done = moodstream("bench", "--config", str(config), "--timeline", "--rounds", "1", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["rollups"], result["events"]) == (8640, 19800)
    views = {v["range_s"]: v for v in result["views"]}
    assert {span: v["bucket_s"] for span, v in views.items()} == {300: 1.0, 3600: 10.0, 86400: 300.0}
    assert 300 <= views[300]["points"] <= 301 and 360 <= views[3600]["points"] <= 361
    assert 288 <= views[86400]["points"] <= 289
    assert set(client.scan_iter(match="bench-*", count=1000)) == before
