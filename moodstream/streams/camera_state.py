"""A stateful stage's per-camera state, and the commit that saves it, publishes the stage's outputs and
acks its inputs, all or nothing (under the camera's lease: leases.camera_lock).

The commit keeps no stage's special cases: a stage passes its outputs (stream, payload), any plain keys
to set with it (key, value, ttl) and any outputs to retain (key, output index, ttl): a hash of that
output's payload and the stream id XADD gave it, so a late subscriber gets the current value with the
id it can resume from (``retained``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moodstream.streams.bus import Bus
from moodstream.streams.client import text

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


def load(bus: Bus, stage: str, camera: str) -> bytes | None:
    return bus._client.get(bus.keys.state(stage, camera))


def commit(
    bus: Bus,
    stage: str,
    camera: str,
    state: bytes,
    outputs: Sequence[tuple[str, bytes]],
    ack: tuple[str, str, Sequence[str]],
    *,
    state_ttl_s: int = 24 * 3600,
    keys: Sequence[tuple[str, bytes, int]] = (),
    retain: Sequence[tuple[str, int, int]] = (),
) -> list[str]:
    """Save a camera's state, publish ``outputs`` and ack the inputs (``ack``: stream, group, ids), all or
    nothing; also set each of ``keys`` (key, value, ttl) and keep each ``retain`` (key, output index,
    ttl) with the output's new stream id. Returns the outputs' new ids."""
    stream, group, ids = ack
    names = [bus.keys.state(stage, camera), stream, *(out for out, _ in outputs)]
    args: list[Any] = [state, state_ttl_s, group, len(outputs)]
    for out, payload in outputs:
        args += [bus.maxlen(out), payload]
    args.append(len(keys) + len(retain))
    for key, value, ttl in keys:
        names.append(key)
        args += ["set", value, ttl]
    for key, index, ttl in retain:
        names.append(key)
        args += ["retain", index + 1, ttl]
    return [text(i) for i in bus.script(_COMMIT)(keys=names, args=[*args, *ids])]


def retained(bus: Bus, key: str) -> tuple[str, bytes] | None:
    """A retained output: its stream id and payload, or None when there is none."""
    found = bus._client.hmget(key, ["id", "d"])
    if found[0] is None or found[1] is None:
        return None
    return text(found[0]), found[1]
