"""Leases: a short one on a camera's state, so two instances of a stateful stage never interleave
updates to it, and a renewable one for a single leader (the dashboards' bridge)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from moodstream.streams.bus import Bus

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

_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


@contextmanager
def camera_lock(bus: Bus, stage: str, camera: str, ttl_ms: int = 5000, wait_s: float = 5.0) -> Iterator[bool]:
    """A short lease on one camera's state, so two instances never interleave updates to it.

    Yields False if the lease could not be had within ``wait_s``; the caller then leaves its messages
    pending, and they are retried or reclaimed.
    """
    key = bus.keys.lock(stage, camera)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    got = False
    while True:
        if bus._client.set(key, token, nx=True, px=ttl_ms):
            got = True
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(0.005)
    try:
        yield got
    finally:
        if got:
            release_lease(bus, key, token)


def hold_lease(bus: Bus, key: str, token: str, ttl_ms: int) -> bool:
    """Take a lease, or renew it if this token already holds it; False while someone else does."""
    return bool(bus.script(_HOLD_LEASE)(keys=[key], args=[token, int(ttl_ms)]))


def release_lease(bus: Bus, key: str, token: str) -> None:
    bus.script(_RELEASE_LOCK)(keys=[key], args=[token])
