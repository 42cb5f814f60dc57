"""Fuzz, as a test: hostile entries in every stage's input stream while the whole pipeline runs.

Every worker stays up, every hostile entry is dead-lettered with a reason, and real frames interleaved
with them still come through as emotion events.
"""

from __future__ import annotations

from pathlib import Path

import redis

from moodstream.bench.fuzzing import inject
from moodstream.streams import dead_letters
from moodstream.streams.bus import Bus
from moodstream.streams.keys import Keys
from moodstream.streams.schemas import Classified, SchemaError
from moodstream.streams.stages import STAGES
from tests.helpers import WorkerProcess, pipeline_config, wait_for

PER_STREAM = 2000


def test_hostile_entries_in_every_stream_are_dead_lettered_and_real_frames_still_flow(
    tmp_path: Path, redis_base_url: str, prefix: str, client: redis.Redis, assets
) -> None:
    # Every group that reads a stream dead-letters each hostile entry: keep all of them to count.
    streams = {"dead_maxlen": 50_000}
    config = pipeline_config(tmp_path, redis_base_url, prefix, assets["samples"], streams=streams)
    bus = Bus(client, Keys(prefix))
    workers = [
        WorkerProcess(config, stage.name, camera, log_dir=tmp_path)
        for stage in STAGES
        for camera in (["lobby", "desk"] if stage.per_camera else [None])
    ]
    try:
        wait_for(lambda: bus.stream_length(bus.keys.emotions) > 0, 180, interval=0.5, what="first emotions")
        detector = next(w for w in workers if w.stage == "detector")
        rss_before = rss_mb(detector.pid)
        before = bus.stream_length(bus.keys.dead)
        total = inject(bus, PER_STREAM, lambda cond, what: wait_for(cond, 120, interval=0.1, what=what))
        wait_for(
            lambda: bus.stream_length(bus.keys.dead) - before >= total,
            300,
            interval=1.0,
            what=f"{total} dead letters",
        )
        assert all(w.alive() for w in workers), [w.output()[-1500:] for w in workers if not w.alive()]
        letters = dead_letters.newest(bus, count=total)
        assert all(letter.reason for letter in letters)
        reasons = " ".join(letter.reason for letter in letters)
        assert "JPEG header" in reasons and "exceeds max_frame_pixels" in reasons  # the bombs, refused
        grown = rss_mb(detector.pid) - rss_before
        assert grown < 64, f"the detector's memory grew by {grown:.0f} MB"
        after = bus.history(bus.keys.classified, count=1_000_000)[-1].id  # the newest, hostile or not

        def real_frames_classified() -> bool:
            fresh = bus.history(bus.keys.classified, since_id=f"({after}")
            return any(_classified_camera(e.payload) in ("lobby", "desk") for e in fresh)

        wait_for(real_frames_classified, 60, interval=0.5, what="real frames classified after the fuzz")
    finally:
        for w in workers:
            w.stop()


def rss_mb(pid: int) -> float:
    """A process's resident memory (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _classified_camera(payload: bytes | None) -> str | None:
    try:
        return Classified.decode(payload).camera if payload else None
    except SchemaError:
        return None
