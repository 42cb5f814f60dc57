"""The transport's core: publish, read, ack and claim on Redis Streams, through consumer groups.

Workers call these verbs and never issue raw Redis commands; what belongs to one topic or stage (frames,
detector tracks, suggestions, state commits and leases, dead letters, heartbeats, group status, caches)
lives in its own module beside this one, on top of the same ``Bus``. Only this package imports redis-py
or touches a Bus's client (tests/test_architecture.py checks it). The connection is passed in, so tests
and tools can point it anywhere.

Delivery is at-least-once through consumer groups; stages that publish and ack in one transaction
(``publish_and_ack``, state.commit) make a crash either lose the output *and* keep the input pending (to
be reclaimed), or keep both, so nothing is lost and nothing is processed twice in the normal case.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from moodstream.config import Settings, StreamSettings
from moodstream.streams.client import Client, ResponseError, connect, is_cluster, text
from moodstream.streams.keys import Keys

log = logging.getLogger(__name__)

FIELD = b"d"


@dataclass(frozen=True)
class Entry:
    stream: str
    id: str
    payload: bytes | None  # None when the entry lacks the payload field (malformed)
    deliveries: int = 1


def id_order(entry_id: str) -> tuple[int, int]:
    """A stream entry id as what orders it: (milliseconds, sequence number)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _id_order(entry: Entry) -> tuple[int, int]:
    return id_order(entry.id)


class Bus:
    def __init__(self, client: Client, keys: Keys, streams: StreamSettings | None = None) -> None:
        self._client = client
        self.keys = keys
        self.cfg = streams or StreamSettings()
        self.lost_entries = 0  # see take_lost
        self.cluster = is_cluster(client)
        self._scripts: dict[str, Any] = {}
        self._turn = 0  # which partition a cluster read blocks on next

    @classmethod
    def for_settings(cls, settings: Settings, url: str, prefix: str | None = None) -> Bus:
        """A bus for this deployment's Redis (a cluster with ``[redis] cluster``), prefix and partitions."""
        keys = Keys(prefix or settings.redis.prefix, settings.streams.partitions)
        client = connect(url, settings.redis.socket_timeout_s, settings.redis.cluster)
        return cls(client, keys, settings.streams)

    def script(self, lua: str) -> Any:
        """A Lua script registered once on this bus's client (the topic modules' atomic steps)."""
        if lua not in self._scripts:
            self._scripts[lua] = self._client.register_script(lua)
        return self._scripts[lua]

    def mget(self, keys: Sequence[str]) -> list[Any]:
        """MGET, split per slot on a cluster (the values are read one slot at a time there)."""
        if not keys:
            return []
        if self.cluster:
            return list(self._client.mget_nonatomic(list(keys)))
        return list(self._client.mget(list(keys)))

    def close(self) -> None:
        self._client.close()

    # ----- maintenance -------------------------------------------------------------------------------
    def ping(self) -> bool:
        return bool(self._client.ping())

    def ensure_group(self, stream: str, group: str, start: str = "0") -> None:
        """Idempotent: creating an existing group is not an error, and the stream is made if missing."""
        try:
            self._client.xgroup_create(stream, group, id=start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def maxlen(self, stream: str) -> int:
        if self.keys.is_timeline(stream):
            return self.cfg.timeline_maxlen
        name = self.keys.stream_name(stream)
        if name == "frames":
            return self.cfg.frames_maxlen
        if name == "dead":
            return self.cfg.dead_maxlen
        return self.cfg.events_maxlen

    def delete_all(self) -> int:
        """Remove every key under this deployment's prefix (tests, and `moodstream reset`)."""
        keys = list(self._client.scan_iter(match=self.keys.all_pattern(), count=1000))
        for i in range(0, len(keys), 500):
            self._client.delete(*keys[i : i + 500])
        return len(keys)

    # ----- producing ---------------------------------------------------------------------------------
    def publish(self, stream: str, payload: bytes) -> str:
        return text(self._client.xadd(stream, {FIELD: payload}, maxlen=self.maxlen(stream), approximate=True))

    def publish_many(
        self, stream: str, payloads: Sequence[bytes], ids: Sequence[str] | None = None
    ) -> list[str]:
        """``ids``: explicit, increasing entry ids (a benchmark laying down hours of history), else ``*``."""
        pipe = self._client.pipeline(transaction=False)
        for payload, entry_id in zip(payloads, ids or ["*"] * len(payloads), strict=True):
            pipe.xadd(stream, {FIELD: payload}, id=entry_id, maxlen=self.maxlen(stream), approximate=True)
        return [text(i) for i in pipe.execute()]

    def publish_and_ack(
        self, stream: str, payloads: Sequence[bytes], ack_stream: str, group: str, ids: Sequence[str]
    ) -> None:
        """Publish outputs and ack their inputs atomically."""
        pipe = self._client.pipeline(transaction=True)
        for payload in payloads:
            pipe.xadd(stream, {FIELD: payload}, maxlen=self.maxlen(stream), approximate=True)
        if ids:
            pipe.xack(ack_stream, group, *ids)
        pipe.execute()

    # ----- consuming ---------------------------------------------------------------------------------
    def entries(self, stream: str, raw: Sequence[Any]) -> list[Entry]:
        """A stream reply's (id, fields) pairs as entries; those trimmed away while pending are counted
        (``take_lost``) and left out."""
        out = []
        for entry_id, fields in raw:
            if fields is None:
                self.lost_entries += 1
                continue
            out.append(Entry(stream=stream, id=text(entry_id), payload=fields.get(FIELD)))
        return out

    def read_batch(
        self, streams: str | Sequence[str], group: str, consumer: str, count: int, block_ms: int
    ) -> list[Entry]:
        """New entries for this consumer from its partitions' streams; blocks at most ``block_ms`` (never
        0, which would block forever). Up to ``count`` entries per stream."""
        streams = [streams] if isinstance(streams, str) else list(streams)
        block_ms = max(1, int(block_ms))
        try:
            if self.cluster and len(streams) > 1:
                return self._read_slots(
                    streams,
                    lambda s, block: self._client.xreadgroup(
                        group, consumer, {s: ">"}, count=count, block=block
                    ),
                    block_ms,
                )
            reply = self._client.xreadgroup(
                group, consumer, dict.fromkeys(streams, ">"), count=count, block=block_ms
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The server lost its groups (a restart without persistence): recreate and carry on.
            log.warning("consumer group %s on %s missing; recreating", group, ", ".join(streams))
            for stream in streams:
                self.ensure_group(stream, group)
            return []
        return self._reply_entries(reply)

    def _read_slots(
        self, streams: Sequence[str], read: Callable[[str, int | None], Any], block_ms: int
    ) -> list[Entry]:
        """On a cluster one read cannot span slots: take what every stream has without blocking, and while
        none has anything, block briefly (50 ms) on each in turn until ``block_ms`` is spent. ``read``
        reads one stream, blocking that many ms (None: not at all)."""
        deadline = time.monotonic() + block_ms / 1000.0
        while True:
            out = [e for stream in streams for e in self._reply_entries(read(stream, None))]
            left_ms = int((deadline - time.monotonic()) * 1000)
            if out or left_ms <= 0:
                return out
            self._turn = (self._turn + 1) % len(streams)
            out = self._reply_entries(read(streams[self._turn], max(1, min(left_ms, 50))))
            if out:
                return out

    def _reply_entries(self, reply: Any) -> list[Entry]:
        out: list[Entry] = []
        for stream, raw in reply or []:
            out.extend(self.entries(text(stream), raw))
        return out

    def ack(self, stream: str, group: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        return int(self._client.xack(stream, group, *ids))

    def take_lost(self) -> int:
        """Pending entries found trimmed or deleted since the last call: work that can no longer be done."""
        lost, self.lost_entries = self.lost_entries, 0
        return lost

    def claim_stale(
        self, stream: str, group: str, consumer: str, min_idle_ms: int, count: int = 64
    ) -> list[Entry]:
        """Take over entries a dead consumer left pending, with their delivery counts."""
        try:
            reply = self._client.xautoclaim(stream, group, consumer, min_idle_ms, start_id="0-0", count=count)
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                self.ensure_group(stream, group)
                return []
            raise
        raw = reply[1] if len(reply) > 1 else []
        # Redis 7 names the pending ids whose entries were trimmed meanwhile (and drops them from the PEL).
        self.lost_entries += len(reply[2]) if len(reply) > 2 and reply[2] else 0
        entries = self.entries(stream, raw)
        if not entries:
            return []
        info = self._client.xpending_range(
            stream,
            group,
            min=entries[0].id,
            max=entries[-1].id,
            count=len(entries) * 2 + 16,
            consumername=consumer,
        )
        counts = {text(p["message_id"]): int(p["times_delivered"]) for p in info}
        return [Entry(e.stream, e.id, e.payload, counts.get(e.id, 1)) for e in entries]

    def stream_length(self, stream: str) -> int:
        return int(self._client.xlen(stream))

    def tail(self, streams: dict[str, str], block_ms: int, count: int = 100) -> list[Entry]:
        """Follow public streams without a group (watch, dashboard): ``streams`` maps name -> last id.

        One read returns each stream's entries in turn (on a cluster, one read per stream, blocking only
        while none has news); ids are Redis's times, so they are merged in time order.
        """
        block_ms = max(1, int(block_ms))
        if self.cluster and len(streams) > 1:
            out = self._read_slots(
                list(streams),
                lambda s, block: self._client.xread({s: streams[s]}, count=count, block=block),
                block_ms,
            )
        else:
            out = self._reply_entries(self._client.xread(streams, count=count, block=block_ms))
        return sorted(out, key=_id_order) if len({e.stream for e in out}) > 1 else out

    def last_id(self, stream: str) -> str:
        """The id of the newest entry, or 0-0; to start following from 'now' without missing anything."""
        newest = self._client.xrevrange(stream, count=1)
        return text(newest[0][0]) if newest else "0-0"

    def history(self, stream: str, since_id: str = "-", count: int = 10_000) -> list[Entry]:
        """Entries from ``since_id`` on (``(id`` excludes it), oldest first."""
        return self.entries(stream, self._client.xrange(stream, min=since_id, count=count))

    def total_length(self, name: str) -> int:
        """The length of pipeline stream ``name``, summed over its partitions."""
        return sum(self.stream_length(stream) for stream in self.keys.streams(name))

    def server_time_ms(self) -> int:
        """Redis's clock, which stream ids come from."""
        seconds, micros = self._client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def recent(self, stream: str, min_id: str, count: int) -> list[Entry]:
        """The newest entries down to ``min_id``, newest first: at most ``count``."""
        return self.entries(stream, self._client.xrevrange(stream, min=min_id, count=count))
