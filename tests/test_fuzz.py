"""Fuzz, as a test: hostile entries in every stage's input stream while the whole pipeline runs.

Every worker stays up, every hostile entry is dead-lettered with a reason, and real frames interleaved
with them still come through as emotion events.
"""

from __future__ import annotations

import random
from pathlib import Path

import msgpack
import redis

from moodstream.services.common.bus import Bus
from moodstream.services.common.keys import Keys
from moodstream.services.common.schemas import Classified, SchemaError
from moodstream.services.common.stages import STAGES
from tests.helpers import WorkerProcess, pipeline_config, wait_for

PER_STREAM = 2000
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


def hostile(kind: str, rng: random.Random, i: int) -> bytes:
    """One of the issue's kinds of bad entry, for a message type ``kind``."""
    header = {"v": 1, "t": kind, "camera": "lobby", "seq": i, "ts": 1.0, "w": 64, "h": 64}
    choice = i % 7
    if choice == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))  # random bytes
    if choice == 1:
        return msgpack.packb(header)[: rng.randint(1, 8)]  # truncated msgpack
    if choice == 2:
        return msgpack.packb({**header, "seq": "seven", "faces": {}, "crop": "x"})  # wrong types
    if choice == 3:
        return msgpack.packb({**header, "faces": [[[0, 0, 1, 1], b""]] * 5000, "crop": 8})  # huge array
    if choice == 4:
        return msgpack.packb({**header, "v": 99})  # wrong version
    if choice == 5:
        return msgpack.packb({**header, "jpeg": JPEG_HEAD + bytes(50), "live": False})  # garbage JPEG body
    bad = rng.choice([{"seq": -5}, {"w": 0}, {"ts": -1e300}])  # out of range
    return msgpack.packb({**header, **bad, "faces": [], "crop": 8, "model": "m", "live": False})


def test_hostile_entries_in_every_stream_are_dead_lettered_and_real_frames_still_flow(
    tmp_path: Path, redis_base_url: str, prefix: str, client: redis.Redis, assets
) -> None:
    config = pipeline_config(tmp_path, redis_base_url, prefix, assets["samples"])
    bus = Bus(client, Keys(prefix))
    workers = [
        WorkerProcess(config, stage.name, camera, log_dir=tmp_path)
        for stage in STAGES
        for camera in (["lobby", "desk"] if stage.per_camera else [None])
    ]
    rng = random.Random(0)
    targets = {  # each stage's input stream: the message type it expects, and the group reading it
        bus.keys.frames: ("frame", "detector"),
        bus.keys.detections: ("detections", "classifier"),
        bus.keys.classified: ("classified", "smoother"),
        bus.keys.emotions: ("emotion", "recommender"),
    }
    try:
        wait_for(lambda: bus.stream_length(bus.keys.emotions) > 0, 180, interval=0.5, what="first emotions")
        before = bus.stream_length(bus.keys.dead)
        for stream, (kind, group) in targets.items():
            for start in range(0, PER_STREAM, 200):
                # In steps the group can absorb: the frames stream holds 600 entries (MAXLEN), and a
                # burst larger than that would be trimmed before it is read, not dead-lettered.
                wait_for(
                    lambda s=stream, g=group: _drained(bus, s, g), 120, interval=0.1, what=f"{group} to drain"
                )
                bus.publish_many(stream, [hostile(kind, rng, i) for i in range(start, start + 200)])
        total = PER_STREAM * len(targets)
        wait_for(
            lambda: bus.stream_length(bus.keys.dead) - before >= total,
            300,
            interval=1.0,
            what=f"{total} dead letters",
        )
        assert all(w.alive() for w in workers), [w.output()[-1500:] for w in workers if not w.alive()]
        letters = bus.dead_letters(count=total)
        assert all(letter.reason for letter in letters)
        after = bus.history(bus.keys.classified, count=1_000_000)[-1].id  # the newest, hostile or not

        def real_frames_classified() -> bool:
            fresh = bus.history(bus.keys.classified, since_id=f"({after}")
            return any(_classified_camera(e.payload) in ("lobby", "desk") for e in fresh)

        wait_for(real_frames_classified, 60, interval=0.5, what="real frames classified after the fuzz")
    finally:
        for w in workers:
            w.stop()


def _drained(bus: Bus, stream: str, group: str) -> bool:
    info = bus.group_info(stream, group)
    return info["pending"] + (info["lag"] or 0) < 200


def _classified_camera(payload: bytes | None) -> str | None:
    try:
        return Classified.decode(payload).camera if payload else None
    except SchemaError:
        return None
