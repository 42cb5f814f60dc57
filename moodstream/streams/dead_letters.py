"""Dead letters: messages a stage cannot process, parked with the reason on their partition's ``dead``
stream and acked so they stop circulating; listed by ``moodstream dead`` and replayed once the cause is
fixed."""

from __future__ import annotations

import logging
import time

from moodstream.streams.bus import FIELD, Bus, Entry, id_order
from moodstream.streams.client import text
from moodstream.streams.keys import STREAMS
from moodstream.streams.schemas import DeadLetter, SchemaError

log = logging.getLogger(__name__)


def park(bus: Bus, entry: Entry, group: str, stage: str, reason: str) -> None:
    """Park a message that cannot be processed, with the reason, and ack it so it stops circulating."""
    log.warning("dead-letter %s %s (%s): %s", entry.stream, entry.id, stage, reason)
    letter = DeadLetter.bounded(
        entry.payload if entry.payload is not None else b"",
        bus.cfg.dead_payload_bytes,
        stream=entry.stream,
        id=entry.id,
        group=group,
        stage=stage,
        reason=reason,
        ts=time.time(),
    )
    dead = bus.keys.stream("dead", bus.keys.partition_of_key(entry.stream))  # the entry's slot
    pipe = bus._client.pipeline(transaction=True)
    pipe.xadd(dead, letter.encode(), maxlen=bus.cfg.dead_maxlen, approximate=True)
    pipe.xack(entry.stream, group, entry.id)
    pipe.execute()


def newest(bus: Bus, count: int = 100) -> list[DeadLetter]:
    """The newest dead letters of every partition first (entries that do not decode are listed by their
    reason)."""
    found: list[tuple[tuple[int, int], DeadLetter]] = []
    for dead in bus.keys.streams("dead"):
        for entry_id, fields in bus._client.xrevrange(dead, count=count):
            try:
                letter = DeadLetter.decode(fields)
            except SchemaError as exc:
                letter = DeadLetter(dead, text(entry_id), "", "", f"unreadable: {exc}", 0.0, b"")
            found.append((id_order(text(entry_id)), letter))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [letter for _, letter in found[:count]]


def count(bus: Bus) -> int:
    return bus.total_length("dead")


def replay(bus: Bus, count: int = 1000) -> tuple[int, int]:
    """Put the oldest ``count`` dead letters of each partition kept whole back on their streams (after
    the cause is fixed, e.g. the upgrade finished); returns (replayed, left: truncated or not of this
    deployment)."""
    replayed = left = 0
    for partition in range(bus.keys.partitions):
        done, kept = _replay_partition(bus, partition, count)
        replayed, left = replayed + done, left + kept
    return replayed, left


def _replay_partition(bus: Bus, partition: int, count: int) -> tuple[int, int]:
    ours = {bus.keys.stream(name, partition) for name in STREAMS if name != "dead"}
    dead = bus.keys.stream("dead", partition)
    replayed = left = 0
    for entry_id, fields in bus._client.xrange(dead, count=count):
        try:
            letter = DeadLetter.decode(fields)
        except SchemaError:
            left += 1
            continue
        if letter.truncated or letter.stream not in ours:
            left += 1
            continue
        pipe = bus._client.pipeline(transaction=True)
        pipe.xadd(letter.stream, {FIELD: letter.payload}, maxlen=bus.maxlen(letter.stream), approximate=True)
        pipe.xdel(dead, entry_id)
        pipe.execute()
        replayed += 1
    return replayed, left
