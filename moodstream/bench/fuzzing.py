"""Hostile stream entries of the kinds a bug, another version or an attacker could write.

Shared by the fuzz test (tests/test_fuzz.py) and ``moodstream bench --fuzz N``: every stage must
dead-letter each of them with a reason and keep running, at any volume.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from moodstream.bench.jpeg_bombs import BOMBS
from moodstream.streams import consumer_groups
from moodstream.streams.bus import Bus
from moodstream.streams.schemas.codec import pack
from moodstream.streams.stages import consumers

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
# random bytes, truncated, wrong types, huge array, wrong version, bad JPEG, out of range, and the
# JPEG bombs of jpeg_bombs.py: a forged header, a truncated scan, a progressive one, a decodable one
KINDS = 7 + len(BOMBS)
STEP = 200  # entries written at once: the frames stream's MAXLEN must never trim one before it is read


def hostile(kind: str, rng: random.Random, i: int) -> bytes:
    """Entry ``i`` (its kind is ``i % KINDS``) aimed at a stream of message type ``kind``."""
    header = {"v": 1, "t": kind, "camera": "lobby", "seq": i, "ts": 1.0, "w": 64, "h": 64}
    choice = i % KINDS
    if choice == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))  # random bytes
    if choice == 1:
        return pack(header)[: rng.randint(1, 8)]  # truncated msgpack
    if choice == 2:
        return pack({**header, "seq": "seven", "faces": {}, "crop": "x"})  # wrong types
    if choice == 3:
        return pack({**header, "faces": [[[0, 0, 1, 1], b""]] * 5000, "crop": 8})  # huge array
    if choice == 4:
        return pack({**header, "v": 99})  # wrong version
    if choice == 5:
        return pack({**header, "jpeg": JPEG_HEAD + bytes(50), "live": False})  # garbage JPEG body
    if choice >= 7:
        return pack({**header, "jpeg": BOMBS[choice - 7](), "live": False})
    bad = rng.choice([{"seq": -5}, {"w": 0}, {"ts": -1e300}])  # out of range
    return pack({**header, **bad, "faces": [], "crop": 8, "model": "m", "live": False})


# The message type each consuming stage's input stream carries.
MESSAGE_TYPES = {
    "frames": "frame",
    "detections": "detections",
    "classified": "classified",
    "emotions": "emotion",
}


def targets(bus: Bus) -> dict[str, tuple[str, list[str]]]:
    """Each input stream: the message type it carries, and the groups that read it (the stage registry's
    consumers: every one of them must dead-letter each hostile entry)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for stage in consumers():
        assert stage.reads is not None and stage.group is not None
        out.setdefault(bus.keys.stream(stage.reads), (MESSAGE_TYPES[stage.reads], []))[1].append(stage.group)
    return out


def drained(bus: Bus, stream: str, group: str) -> bool:
    info = consumer_groups.info(bus, stream, group)
    return info["pending"] + (info["lag"] or 0) < STEP


def inject(bus: Bus, per_stream: int, wait: Callable[[Callable[[], bool], str], None], seed: int = 0) -> int:
    """Write ``per_stream`` hostile entries into every input stream, ``STEP`` at a time, each step once
    its groups have absorbed the last (``wait(condition, what)``); the dead letters to expect (one per
    entry and group that reads it)."""
    rng = random.Random(seed)
    for stream, (kind, groups) in targets(bus).items():
        for start in range(0, per_stream, STEP):
            for group in groups:
                wait(lambda s=stream, g=group: drained(bus, s, g), f"{group} to drain")
            count = min(STEP, per_stream - start)
            bus.publish_many(stream, [hostile(kind, rng, i) for i in range(start, start + count)])
    return per_stream * sum(len(groups) for _, groups in targets(bus).values())
