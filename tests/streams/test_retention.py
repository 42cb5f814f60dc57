"""Retention by age: the running stack (`up`) with ``[privacy] retention = "4s"`` keeps no entry older
than that in any stream, while new ones keep flowing; a recording is deleted; nothing else goes."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from moodstream.streams.bus import Bus
from moodstream.streams.keys import STREAMS, Keys
from moodstream.streams.retention import oldest_ages, period_s, readers
from tests.helpers import moodstream, pipeline_config, wait_for

pytestmark = pytest.mark.slow
RETENTION_S = 4.0
ANY_EMOTION = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def entries_added(client: redis.Redis, key: str) -> int:
    try:
        return int(client.xinfo_stream(key)["entries-added"])
    except redis.ResponseError:
        return 0


def test_nothing_is_kept_longer_than_the_retention(
    tmp_path: Path, redis_base_url: str, prefix: str, client: redis.Redis, assets
) -> None:
    config = pipeline_config(
        tmp_path,
        redis_base_url,
        prefix,
        assets["samples"],
        privacy={"retention": f"{RETENTION_S:.0f}s", "allow_raw_recording": True},
        alerts=[
            {"name": "any", "emotions": ANY_EMOTION, "min_confidence": 0.0, "for_s": 1.0, "cooldown_s": 2.0}
        ],
    )
    bus = Bus(client, Keys(prefix))
    other = "unrelated:{p0}:emotions"  # another deployment's stream on the same server
    client.xadd(other, {"d": b"old"}, id="1-1")
    up = moodstream("up", "--config", str(config))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        wait_for(lambda: entries_added(client, bus.keys.frames), 60, what="frames")
        recording = tmp_path / "desk.msrec"
        rec = moodstream(
            "record", "--config", str(config), "--camera", "desk", "--out", str(recording), "--seconds", "2"
        )
        assert rec.returncode == 0 and recording.exists(), rec.stderr
        bus.publish(bus.keys.frames, b"\x93not a frame")  # a dead letter, to be trimmed too

        def timelines() -> list[str]:
            return [k.decode() for k in client.scan_iter(match=bus.keys.timeline_pattern(), _type="stream")]

        def everything_flowed() -> bool:
            added = {name: entries_added(client, bus.keys.stream(name)) for name in STREAMS}
            return all(added.values()) and any(entries_added(client, t) for t in timelines())

        wait_for(everything_flowed, 120, what="entries in every stream and a timeline bucket")
        limit = RETENTION_S + period_s(RETENTION_S) + 2.0  # the trim's period, and a busy machine

        def all_young() -> bool:
            ages = oldest_ages(bus)
            return all(age is None or age <= limit for age in ages.values()) and ages["emotions"] is not None

        wait_for(all_young, 60, what=f"every stream's oldest entry younger than {limit} s")
        wait_for(lambda: not recording.exists(), 30, what="the recording deleted")
        # New entries keep flowing after trimming, and the consumer groups are intact.
        before = entries_added(client, bus.keys.emotions)
        wait_for(lambda: entries_added(client, bus.keys.emotions) > before, 30, what="new emotions")
        for group in readers("emotions"):
            assert group in {g["name"].decode() for g in client.xinfo_groups(bus.keys.emotions)}
        # Nothing else was trimmed or deleted.
        assert client.xlen(other) == 1
        assert client.exists(bus.keys.latest_recommendation("desk"))
        status = moodstream("status", "--config", str(config))
        assert "oldest entries: frames" in status.stdout, status.stdout
    finally:
        moodstream("down", "--config", str(config))
        client.delete(other)
