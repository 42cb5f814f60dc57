"""The one Redis layer: every stream and key operation moodstream performs.

Workers call domain verbs (publish, read_batch, ack, claim_stale,
dead_letter, commit) and never issue raw Redis commands themselves: this is
the only module that imports redis-py (tests/test_architecture.py checks it).
The connection is passed in, so tests and tools can point it anywhere.

Delivery is at-least-once through consumer groups; stages that publish and
ack in one MULTI transaction (``publish_and_ack``/``commit``) make a crash
either lose the output *and* keep the input pending (to be reclaimed), or
keep both, so nothing is lost and nothing is processed twice in the normal
case.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis

from moodstream.config import Settings, StreamSettings
from moodstream.streams.keys import STREAMS, Keys
from moodstream.streams.schemas import DeadLetter, SchemaError

log = logging.getLogger(__name__)

FIELD = b"d"
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    ConnectionError,
    OSError,
)
# What other modules catch or hold, without importing redis-py themselves.
Client = redis.Redis | redis.RedisCluster
RedisError = redis.RedisError
ResponseError = redis.ResponseError

_HOLD_LEASE = """
local owner = redis.call('get', KEYS[1])
if owner == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
elseif not owner then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# A frame that must not be lost, published only if the camera's cursor is where its capture left it:
# a Redis that restarted from an older AOF (or empty) is noticed even when no command failed.
_PUBLISH_KEPT = """
if ARGV[5] ~= '' then
  local cur = redis.call('get', KEYS[3])
  if cur ~= ARGV[5] then return {0, cur or ''} end
end
redis.call('xadd', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[1])
redis.call('set', KEYS[2], ARGV[1], 'EX', ARGV[3])
redis.call('set', KEYS[3], tostring(tonumber(ARGV[4]) + 1), 'EX', ARGV[6])
return {1, ''}
"""

# A detector's outputs, the ack of its input and the camera's newer state, in one script: a cluster
# pipeline cannot carry a script, and the three must land together (all keys in the partition's slot).
_PUBLISH_ACK_TRACKS = """
local n = tonumber(ARGV[3])
for i = 1, n do
  redis.call('xadd', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[3 + i])
end
local at = 4 + n
local m = tonumber(ARGV[at])
for i = 1, m do
  redis.call('xack', KEYS[2], ARGV[2], ARGV[at + i])
end
at = at + m + 1
local cur = tonumber(redis.call('hget', KEYS[3], 'seq') or '-1')
local seq = tonumber(ARGV[at])
if seq > cur or seq < cur - tonumber(ARGV[at + 3]) then
  redis.call('hset', KEYS[3], 'seq', ARGV[at], 'd', ARGV[at + 1])
  redis.call('pexpire', KEYS[3], ARGV[at + 2])
end
return n
"""

# A stateful stage's commit: its state, its outputs, its extra keys and the acks of its inputs, all or
# nothing. An extra key is either SET to a value, or "retained": a hash of one output's payload and the
# stream id XADD gave it, so a late subscriber gets the current value with the id it can resume from.
# KEYS: state, ack stream, n output streams, m extra keys. ARGV: state, state ttl, group, n, then
# (maxlen, payload) per output, m, then (kind, value or output index, ttl) per extra key, then the ids.
_COMMIT = """
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
local n = tonumber(ARGV[4])
local at = 5
local added = {}
for i = 1, n do
  added[i] = redis.call('xadd', KEYS[2 + i], 'MAXLEN', '~', ARGV[at], '*', 'd', ARGV[at + 1])
  at = at + 2
end
local m = tonumber(ARGV[at])
at = at + 1
for j = 1, m do
  local key, kind, value, ttl = KEYS[2 + n + j], ARGV[at], ARGV[at + 1], ARGV[at + 2]
  if kind == 'retain' then
    local i = tonumber(value)
    if redis.call('type', key).ok ~= 'hash' then redis.call('del', key) end
    redis.call('hset', key, 'id', added[i], 'd', ARGV[4 + 2 * i])
    redis.call('expire', key, ttl)
  else
    redis.call('set', key, value, 'EX', ttl)
  end
  at = at + 3
end
for i = at, #ARGV do
  redis.call('xack', KEYS[2], ARGV[3], ARGV[i])
end
return added
"""

_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


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


def connect(url: str, socket_timeout_s: float = 5.0, cluster: bool = False) -> Client:
    """A client that never re-sends a command by itself on a new connection.

    redis-py retries by default; after a Redis restart the retried command would act on work read
    from the server before it (an ack of an entry the restarted server no longer holds as pending,
    with its output published all the same). Every connection error reaches the worker's loop
    instead, which drops what it held and reads again."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # socket_timeout must exceed the longest XREAD block (1 s) so that a blocked read is not an error.
    options: dict[str, Any] = {
        "socket_timeout": max(socket_timeout_s, 2.0),
        "socket_connect_timeout": min(socket_timeout_s, 3.0),
        "decode_responses": False,
        "retry": Retry(NoBackoff(), 0),
    }
    if cluster:
        # The cluster client follows MOVED/ASK redirections and refreshes its slot map by itself.
        return redis.RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, health_check_interval=15, **options)


def answers(url: str, timeout_s: float = 0.5) -> bool:
    """Whether a Redis server answers PING at ``url``, within ``timeout_s``."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def consumer_name(stage: str) -> str:
    """Unique per process, so a restarted worker never inherits a dead one's identity by accident."""
    return f"{stage}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _id_order(entry: Entry) -> tuple[int, int]:
    return id_order(entry.id)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Bus:
    def __init__(self, client: Client, keys: Keys, streams: StreamSettings | None = None) -> None:
        self._client = client
        self.keys = keys
        self.cfg = streams or StreamSettings()
        self.lost_entries = 0  # see take_lost
        self.cluster = isinstance(client, redis.RedisCluster)
        self._release = client.register_script(_RELEASE_LOCK)
        self._hold = client.register_script(_HOLD_LEASE)
        self._publish_ack_tracks = client.register_script(_PUBLISH_ACK_TRACKS)
        self._publish_kept = client.register_script(_PUBLISH_KEPT)
        self._commit = client.register_script(_COMMIT)
        self._turn = 0  # which partition a cluster read blocks on next

    @classmethod
    def for_settings(cls, settings: Settings, url: str, prefix: str | None = None) -> Bus:
        """A bus for this deployment's Redis (a cluster with ``[redis] cluster``), prefix and partitions."""
        keys = Keys(prefix or settings.redis.prefix, settings.streams.partitions)
        client = connect(url, settings.redis.socket_timeout_s, settings.redis.cluster)
        return cls(client, keys, settings.streams)

    def _mget(self, keys: Sequence[str]) -> list[Any]:
        """MGET, split per slot on a cluster (the values are read one slot at a time there)."""
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
        except redis.ResponseError as exc:
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

    # ----- producing ---------------------------------------------------------------------------------
    def publish(self, stream: str, payload: bytes) -> str:
        return _s(self._client.xadd(stream, {FIELD: payload}, maxlen=self.maxlen(stream), approximate=True))

    def publish_many(
        self, stream: str, payloads: Sequence[bytes], ids: Sequence[str] | None = None
    ) -> list[str]:
        """``ids``: explicit, increasing entry ids (a benchmark laying down hours of history), else ``*``."""
        pipe = self._client.pipeline(transaction=False)
        for payload, entry_id in zip(payloads, ids or ["*"] * len(payloads), strict=True):
            pipe.xadd(stream, {FIELD: payload}, id=entry_id, maxlen=self.maxlen(stream), approximate=True)
        return [_s(i) for i in pipe.execute()]

    def publish_and_ack(
        self,
        stream: str,
        payloads: Sequence[bytes],
        ack_stream: str,
        group: str,
        ids: Sequence[str],
        tracks: tuple[str, int, bytes] | None = None,
    ) -> None:
        """Publish outputs and ack their inputs atomically; with ``tracks`` (camera, seq, state), also
        replace the camera's detector state if ``seq`` is newer than the one it holds (or, for a camera
        that restarted from seq 0, far older), so instances sharing a camera never move it backwards."""
        if tracks is not None:
            camera, seq, state = tracks
            keys = [stream, ack_stream, self.keys.detector_tracks(camera)]
            args = [self.maxlen(stream), group, len(payloads), *payloads, len(ids), *ids]
            self._publish_ack_tracks(keys=keys, args=[*args, seq, state, 60_000, 1000])
            return
        pipe = self._client.pipeline(transaction=True)
        for payload in payloads:
            pipe.xadd(stream, {FIELD: payload}, maxlen=self.maxlen(stream), approximate=True)
        if ids:
            pipe.xack(ack_stream, group, *ids)
        pipe.execute()

    def detector_tracks(self, cameras: Sequence[str]) -> dict[str, bytes]:
        """Each camera's detector state, where there is one."""
        pipe = self._client.pipeline(transaction=False)
        for camera in cameras:
            pipe.hget(self.keys.detector_tracks(camera), "d")
        return {c: v for c, v in zip(cameras, pipe.execute(), strict=True) if v is not None}

    # ----- consuming ---------------------------------------------------------------------------------
    def _entries(self, stream: str, raw: Sequence[Any]) -> list[Entry]:
        out = []
        for entry_id, fields in raw:
            if fields is None:  # trimmed away while pending: lost, and counted (take_lost)
                self.lost_entries += 1
                continue
            out.append(Entry(stream=stream, id=_s(entry_id), payload=fields.get(FIELD)))
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
        except redis.ResponseError as exc:
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
            out.extend(self._entries(_s(stream), raw))
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
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):
                self.ensure_group(stream, group)
                return []
            raise
        raw = reply[1] if len(reply) > 1 else []
        # Redis 7 names the pending ids whose entries were trimmed meanwhile (and drops them from the PEL).
        self.lost_entries += len(reply[2]) if len(reply) > 2 and reply[2] else 0
        entries = self._entries(stream, raw)
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
        counts = {_s(p["message_id"]): int(p["times_delivered"]) for p in info}
        return [Entry(e.stream, e.id, e.payload, counts.get(e.id, 1)) for e in entries]

    def prune_consumers(self, stream: str, group: str, idle_ms: int) -> int:
        """Forget consumers that are long gone and hold nothing, so status stays readable."""
        removed = 0
        try:
            consumers = self._client.xinfo_consumers(stream, group)
        except redis.ResponseError:
            return 0
        for c in consumers:
            if int(c.get("pending", 0)) == 0 and int(c.get("idle", 0)) > idle_ms:
                self._client.xgroup_delconsumer(stream, group, c["name"])
                removed += 1
        return removed

    def dead_letter(self, entry: Entry, group: str, stage: str, reason: str) -> None:
        """Park a message that cannot be processed, with the reason, and ack it so it stops circulating."""
        log.warning("dead-letter %s %s (%s): %s", entry.stream, entry.id, stage, reason)
        letter = DeadLetter.bounded(
            entry.payload if entry.payload is not None else b"",
            self.cfg.dead_payload_bytes,
            stream=entry.stream,
            id=entry.id,
            group=group,
            stage=stage,
            reason=reason,
            ts=time.time(),
        )
        dead = self.keys.stream("dead", self.keys.partition_of_key(entry.stream))  # the entry's slot
        pipe = self._client.pipeline(transaction=True)
        pipe.xadd(dead, letter.to_fields(), maxlen=self.cfg.dead_maxlen, approximate=True)
        pipe.xack(entry.stream, group, entry.id)
        pipe.execute()

    def dead_letters(self, count: int = 100) -> list[DeadLetter]:
        """The newest dead letters of every partition first (entries that do not decode are listed by their
        reason)."""
        found: list[tuple[tuple[int, int], DeadLetter]] = []
        for dead in self.keys.streams("dead"):
            for entry_id, fields in self._client.xrevrange(dead, count=count):
                try:
                    letter = DeadLetter.from_fields(fields)
                except SchemaError as exc:
                    letter = DeadLetter(dead, _s(entry_id), "", "", f"unreadable: {exc}", 0.0, b"")
                found.append((id_order(_s(entry_id)), letter))
        found.sort(key=lambda pair: pair[0], reverse=True)
        return [letter for _, letter in found[:count]]

    def dead_count(self) -> int:
        return self.total_length("dead")

    def total_length(self, name: str) -> int:
        """The length of pipeline stream ``name``, summed over its partitions."""
        return sum(self.stream_length(stream) for stream in self.keys.streams(name))

    def replay_dead_letters(self, count: int = 1000) -> tuple[int, int]:
        """Put the oldest ``count`` dead letters of each partition kept whole back on their streams (after
        the cause is fixed, e.g. the upgrade finished); returns (replayed, left: truncated or not of this
        deployment)."""
        replayed = left = 0
        for partition in range(self.keys.partitions):
            done, kept = self._replay_dead(partition, count)
            replayed, left = replayed + done, left + kept
        return replayed, left

    def _replay_dead(self, partition: int, count: int) -> tuple[int, int]:
        ours = {self.keys.stream(name, partition) for name in STREAMS if name != "dead"}
        dead = self.keys.stream("dead", partition)
        replayed = left = 0
        for entry_id, fields in self._client.xrange(dead, count=count):
            try:
                letter = DeadLetter.from_fields(fields)
            except SchemaError:
                left += 1
                continue
            if letter.truncated or letter.stream not in ours:
                left += 1
                continue
            pipe = self._client.pipeline(transaction=True)
            pipe.xadd(
                letter.stream, {FIELD: letter.payload}, maxlen=self.maxlen(letter.stream), approximate=True
            )
            pipe.xdel(dead, entry_id)
            pipe.execute()
            replayed += 1
        return replayed, left

    # ----- per-camera state of stateful stages -------------------------------------------------------
    @contextmanager
    def camera_lock(self, stage: str, camera: str, ttl_ms: int = 5000, wait_s: float = 5.0) -> Iterator[bool]:
        """A short lease on one camera's state, so two instances never interleave updates to it.

        Yields False if the lease could not be had within ``wait_s``; the caller then
        leaves its messages pending, and they are retried or reclaimed.
        """
        key = self.keys.lock(stage, camera)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait_s
        got = False
        while True:
            if self._client.set(key, token, nx=True, px=ttl_ms):
                got = True
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.005)
        try:
            yield got
        finally:
            if got:
                self._release(keys=[key], args=[token])

    def hold_lease(self, key: str, token: str, ttl_ms: int) -> bool:
        """Take a lease, or renew it if this token already holds it; False while someone else does."""
        return bool(self._hold(keys=[key], args=[token, int(ttl_ms)]))

    def release_lease(self, key: str, token: str) -> None:
        self._release(keys=[key], args=[token])

    def load_state(self, stage: str, camera: str) -> bytes | None:
        return self._client.get(self.keys.state(stage, camera))

    def commit(
        self,
        stage: str,
        camera: str,
        state: bytes,
        outputs: Sequence[tuple[str, bytes]],
        ack_stream: str,
        group: str,
        ids: Sequence[str],
        extra_keys: Sequence[tuple[str, bytes]] = (),
        state_ttl_s: int = 24 * 3600,
        extra_ttl_s: int | None = None,
        retain: Sequence[tuple[str, int]] = (),
    ) -> list[str]:
        """Save a camera's state, publish what it produced and ack the inputs, all or nothing; each
        ``retain`` (key, i) keeps output ``i`` with its new stream id (``retained``). The new ids."""
        ttl = extra_ttl_s or state_ttl_s
        keys = [self.keys.state(stage, camera), ack_stream, *(stream for stream, _ in outputs)]
        args: list[Any] = [state, state_ttl_s, group, len(outputs)]
        for stream, payload in outputs:
            args += [self.maxlen(stream), payload]
        args.append(len(extra_keys) + len(retain))
        for key, value in extra_keys:
            keys.append(key)
            args += ["set", value, ttl]
        for key, index in retain:
            keys.append(key)
            args += ["retain", index + 1, ttl]
        return [_s(i) for i in self._commit(keys=keys, args=[*args, *ids])]

    def retained(self, key: str) -> tuple[str, bytes] | None:
        """A retained output: its stream id and payload, or None when there is none."""
        found = self._client.hmget(key, ["id", "d"])
        if found[0] is None or found[1] is None:
            return None
        return _s(found[0]), found[1]

    # ----- observing ---------------------------------------------------------------------------------
    def group_info(self, stream: str, group: str) -> dict[str, Any]:
        """Pending (delivered, not acked) and lag (not yet delivered) for one stage's group."""
        try:
            groups = self._client.xinfo_groups(stream)
        except redis.ResponseError:
            return {"pending": 0, "lag": 0, "consumers": 0, "length": 0}
        length = int(self._client.xlen(stream))
        for g in groups:
            if _s(g["name"]) == group:
                lag = g.get("lag")
                return {
                    "pending": int(g.get("pending", 0)),
                    "lag": int(lag) if lag is not None else None,
                    "consumers": int(g.get("consumers", 0)),
                    "length": length,
                }
        return {"pending": 0, "lag": 0, "consumers": 0, "length": length}

    def group_totals(self, name: str, group: str) -> dict[str, Any]:
        """``group_info`` summed over every partition of stream ``name`` (consumers: the most in one; a
        worker that reads all partitions is a consumer of each)."""
        infos = [self.group_info(stream, group) for stream in self.keys.streams(name)]
        lags = [i["lag"] for i in infos]
        return {
            "pending": sum(i["pending"] for i in infos),
            "lag": None if None in lags else sum(lags),
            "consumers": max(i["consumers"] for i in infos),
            "length": sum(i["length"] for i in infos),
            "partitions": [{"pending": i["pending"], "lag": i["lag"]} for i in infos],
        }

    def trim_finished(self, stream: str, groups: Sequence[str]) -> int:
        """Delete the entries every one of ``groups`` has finished (acked), none other; returns the length
        left. What remains is unfinished work plus entries newer than the oldest unfinished one, so a
        producer that keeps this under MAXLEN can never have an unread entry trimmed."""
        try:
            infos = {_s(g["name"]): g for g in self._client.xinfo_groups(stream)}
        except redis.ResponseError:  # no stream yet
            return 0
        safe: tuple[int, int] | None = None
        for group in groups:
            if group not in infos:  # a reader that has not started: it will read from the beginning
                return int(self._client.xlen(stream))
            pending = self._client.xpending(stream, group)
            ms, seq = id_order(_s(infos[group]["last-delivered-id"]))
            oldest = id_order(_s(pending["min"])) if pending["pending"] else (ms, seq + 1)
            safe = oldest if safe is None else min(safe, oldest)
        if safe is not None:
            self._client.xtrim(stream, minid=f"{safe[0]}-{safe[1]}", approximate=False)
        return int(self._client.xlen(stream))

    def server_time(self) -> float:
        """Redis's own clock (``TIME``), in Unix seconds: the one clock every host's workers share."""
        seconds, micros = self._client.time()
        return int(seconds) + int(micros) / 1e6

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
        return _s(newest[0][0]) if newest else "0-0"

    def history(self, stream: str, since_id: str = "-", count: int = 10_000) -> list[Entry]:
        """Entries from ``since_id`` on (``(id`` excludes it), oldest first."""
        return self._entries(stream, self._client.xrange(stream, min=since_id, count=count))

    def server_time_ms(self) -> int:
        """Redis's clock, which stream ids come from."""
        seconds, micros = self._client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def recent(self, stream: str, min_id: str, count: int) -> list[Entry]:
        """The newest entries down to ``min_id``, newest first: at most ``count``."""
        return self._entries(stream, self._client.xrevrange(stream, min=min_id, count=count))

    def trimmed_after(self, stream: str, entry_id: str) -> bool:
        """Whether entries newer than ``entry_id`` may have been trimmed away: the stream lost entries,
        and its oldest one left is newer than ``entry_id`` (XINFO STREAM, Redis 7)."""
        try:
            info = self._client.xinfo_stream(stream)
        except redis.ResponseError:  # no such stream: nothing was ever there to miss
            return False
        first = info.get("first-entry")
        if not first:
            return int(info.get("entries-added", 0)) > 0 and id_order(
                _s(info["last-generated-id"])
            ) > id_order(entry_id)
        lost = int(info.get("entries-added", info["length"])) > int(info["length"])
        return lost and id_order(_s(first[0])) > id_order(entry_id)

    # ----- worker liveness ---------------------------------------------------------------------------
    def heartbeat(self, stage: str, worker: str, payload: bytes, ttl_s: float) -> None:
        self._client.set(self.keys.heartbeat(stage, worker), payload, px=max(1000, int(ttl_s * 1000)))

    def forget_worker(self, stage: str, worker: str) -> None:
        self._client.delete(self.keys.heartbeat(stage, worker))

    def heartbeats(self, stage: str = "*") -> list[bytes]:
        keys = list(self._client.scan_iter(match=self.keys.heartbeat_pattern(stage), count=500))
        if not keys:
            return []
        return [v for v in self._mget(keys) if v is not None]

    def set_latest_frame(self, camera: str, payload: bytes, ttl_s: int = 30) -> None:
        self._client.set(self.keys.latest_frame(camera), payload, ex=ttl_s)

    def publish_frame(self, camera: str, payload: bytes, ttl_s: int = 30) -> None:
        """A live frame into the frames stream and its camera's latest-frame key, in one round trip."""
        frames = self.keys.camera_stream("frames", camera)
        pipe = self._client.pipeline(transaction=False)
        pipe.xadd(frames, {FIELD: payload}, maxlen=self.cfg.frames_maxlen, approximate=True)
        pipe.set(self.keys.latest_frame(camera), payload, ex=ttl_s)
        pipe.execute()

    def publish_kept_frame(
        self, camera: str, payload: bytes, seq: int, expected: int | None, ttl_s: int = 30
    ) -> tuple[bool, int | None]:
        """Publish frame ``seq`` and move the camera's cursor past it, atomically, if the cursor holds
        ``expected`` (None: whatever it holds). Otherwise nothing is written and the cursor Redis holds
        comes back (None when it holds none): Redis has lost frames, or never had them."""
        frames = self.keys.camera_stream("frames", camera)
        keys = [frames, self.keys.latest_frame(camera), self.keys.capture_cursor(camera)]
        args = [
            payload,
            self.cfg.frames_maxlen,
            ttl_s,
            seq,
            "" if expected is None else expected,
            7 * 24 * 3600,
        ]
        done, held = self._publish_kept(keys=keys, args=args)
        return bool(done), (int(held) if held not in (b"", "", None) else None)

    def capture_cursor(self, camera: str) -> int | None:
        value = self._client.get(self.keys.capture_cursor(camera))
        return int(value) if value is not None else None

    def latest_recommendation(self, camera: str) -> bytes | None:
        found = self.retained(self.keys.latest_recommendation(camera))
        return None if found is None else found[1]

    def set_latest_recommendation(
        self, camera: str, payload: bytes, entry_id: str, ttl_s: int = 24 * 3600
    ) -> None:
        """What the recommender's commit retains, for tools that seed a camera's suggestion."""
        key = self.keys.latest_recommendation(camera)
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping={"id": entry_id, "d": payload})
        pipe.expire(key, ttl_s)
        pipe.execute()

    def dashboard_cursor(self) -> bytes | None:
        return self._client.get(self.keys.dashboard_cursor())

    def save_dashboard_cursor(self, payload: bytes, ttl_s: int = 3600) -> None:
        self._client.set(self.keys.dashboard_cursor(), payload, ex=ttl_s)

    def search_results(self, digests: Sequence[str]) -> list[bytes | None]:
        """Cached Spotify search results, by digest, in one round trip."""
        if not digests:
            return []
        return self._mget([self.keys.spotify_search(d) for d in digests])

    def save_search_results(self, digest: str, payload: bytes, ttl_s: int) -> None:
        self._client.set(self.keys.spotify_search(digest), payload, ex=ttl_s)

    def frame_heads(self, cameras: Sequence[str], size: int = 128) -> list[bytes]:
        """The first bytes of each camera's newest frame (its camera, seq and ts): has a new one arrived?"""
        pipe = self._client.pipeline(transaction=False)
        for camera in cameras:
            pipe.getrange(self.keys.latest_frame(camera), 0, size - 1)
        return pipe.execute()

    def latest_frames(self, cameras: Sequence[str]) -> dict[str, tuple[bytes | None, bytes | None]]:
        """Each camera's newest frame and overlay, in one round trip (what the dashboard shows)."""
        if not cameras:
            return {}
        names: list[str] = []
        for camera in cameras:
            names += [self.keys.latest_frame(camera), self.keys.overlay(camera)]
        values = self._mget(names)
        return {camera: (values[2 * i], values[2 * i + 1]) for i, camera in enumerate(cameras)}

    def delete_all(self) -> int:
        """Remove every key under this deployment's prefix (tests, and `moodstream reset`)."""
        keys = list(self._client.scan_iter(match=self.keys.all_pattern(), count=1000))
        for i in range(0, len(keys), 500):
            self._client.delete(*keys[i : i + 500])
        return len(keys)
