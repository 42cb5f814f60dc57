"""The Redis layer against a real Redis server."""

import redis

from moodstream.streams import consumer_groups, dead_letters, leases
from moodstream.streams.bus import Bus
from tests.helpers import wait_for


def test_group_creation_is_idempotent(bus: Bus) -> None:
    bus.ensure_group(f"{bus.keys.prefix}:s", "g")
    bus.ensure_group(f"{bus.keys.prefix}:s", "g")
    assert consumer_groups.info(bus, f"{bus.keys.prefix}:s", "g")["consumers"] == 0


def test_publish_read_ack(bus: Bus) -> None:
    stream = bus.keys.detections
    bus.ensure_group(stream, "g")
    ids = bus.publish_many(stream, [b"a", b"b", b"c"])
    got = bus.read_batch(stream, "g", "c1", count=10, block_ms=100)
    assert [e.payload for e in got] == [b"a", b"b", b"c"]
    assert consumer_groups.info(bus, stream, "g")["pending"] == 3
    assert bus.ack(stream, "g", ids) == 3
    assert consumer_groups.info(bus, stream, "g")["pending"] == 0
    assert bus.read_batch(stream, "g", "c1", count=10, block_ms=50) == []


def test_claim_stale_counts_deliveries(bus: Bus) -> None:
    stream = bus.keys.detections
    bus.ensure_group(stream, "g")
    bus.publish(stream, b"x")
    assert len(bus.read_batch(stream, "g", "dead-consumer", 10, 50)) == 1
    assert bus.claim_stale(stream, "g", "rescuer", min_idle_ms=10_000) == []
    # Claimable once it has been idle for 100 ms: ask until it is.
    claimed = wait_for(lambda: bus.claim_stale(stream, "g", "rescuer", min_idle_ms=100), 5, interval=0.02)
    assert [e.payload for e in claimed] == [b"x"]
    assert claimed[0].deliveries == 2


def test_entries_trimmed_while_pending_are_counted_as_lost(bus: Bus, client: redis.Redis) -> None:
    """A dead consumer's pending entries that MAXLEN trimmed away are reported by the claim, not skipped."""
    stream = bus.keys.detections
    bus.ensure_group(stream, "g")
    bus.publish_many(stream, [b"a", b"b", b"c"])
    assert len(bus.read_batch(stream, "g", "dead-consumer", 10, 50)) == 3
    client.xtrim(stream, maxlen=1, approximate=False)  # "a" and "b" go while pending
    claimed = wait_for(lambda: bus.claim_stale(stream, "g", "rescuer", min_idle_ms=50), 5, interval=0.02)
    assert [e.payload for e in claimed] == [b"c"]
    assert bus.take_lost() == 2 and bus.take_lost() == 0
    assert consumer_groups.info(bus, stream, "g")["pending"] == 1  # the lost ones left the PEL


def test_dead_letter_keeps_reason_and_payload(bus: Bus) -> None:
    stream = bus.keys.frames
    bus.ensure_group(stream, "g")
    bus.publish(stream, b"junk")
    [entry] = bus.read_batch(stream, "g", "c", 10, 50)
    dead_letters.park(bus, entry, "g", "detector", "bad payload: test")
    [dead] = dead_letters.newest(bus)
    assert dead.reason == "bad payload: test" and dead.payload == b"junk" and dead.stream == stream
    assert dead.id == entry.id and dead.stage == "detector" and dead.group == "g"
    assert consumer_groups.info(bus, stream, "g")["pending"] == 0


def test_streams_are_trimmed(bus: Bus) -> None:
    bus.cfg.frames_maxlen = 100
    for _ in range(30):
        bus.publish_many(bus.keys.frames, [b"f"] * 20)
    # Approximate trimming keeps the stream near its cap, never unbounded.
    assert bus.stream_length(bus.keys.frames) < 300


def test_lost_group_is_recreated(bus: Bus, client: redis.Redis) -> None:
    stream = bus.keys.classified
    bus.ensure_group(stream, "g")
    client.delete(stream)  # what a Redis restart without persistence looks like
    assert bus.read_batch(stream, "g", "c", 10, 50) == []
    bus.publish(stream, b"after")
    assert [e.payload for e in bus.read_batch(stream, "g", "c", 10, 50)] == [b"after"]


def test_camera_lock_excludes(bus: Bus) -> None:
    with leases.camera_lock(bus, "smoother", "cam", ttl_ms=2000) as first:
        assert first
        with leases.camera_lock(bus, "smoother", "cam", wait_s=0.05) as second:
            assert not second
    with leases.camera_lock(bus, "smoother", "cam", wait_s=0.05) as again:
        assert again
