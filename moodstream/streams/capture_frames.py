"""Capture's frames: the frames stream, each camera's latest frame (what the page shows) and the
capture cursor (where a camera's kept frames stand in Redis, so a Redis that lost them is noticed)."""

from __future__ import annotations

from collections.abc import Sequence

from moodstream.streams.bus import FIELD, Bus

# A frame that must not be lost, published only if the camera's cursor is where its capture left it:
# a Redis that restarted from an older AOF (or empty) is noticed even when no command failed.
_PUBLISH_KEPT = """
if ARGV[5] ~= '' then
  local cur = redis.call('get', KEYS[3])
  if cur ~= ARGV[5] then return {0, cur or ''} end
end
redis.call('xadd', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[1])
if ARGV[3] ~= '0' then redis.call('set', KEYS[2], ARGV[1], 'EX', ARGV[3]) end
redis.call('set', KEYS[3], tostring(tonumber(ARGV[4]) + 1), 'EX', ARGV[6])
return {1, ''}
"""

CURSOR_TTL_S = 7 * 24 * 3600


def publish_live(bus: Bus, camera: str, payload: bytes, ttl_s: int = 30, latest: bool = True) -> None:
    """A live frame into the frames stream and (``latest``: unless the camera's viewers watch another
    stream) its camera's latest-frame key, in one round trip."""
    frames = bus.keys.camera_stream("frames", camera)
    pipe = bus._client.pipeline(transaction=False)
    pipe.xadd(frames, {FIELD: payload}, maxlen=bus.cfg.frames_maxlen, approximate=True)
    if latest:
        pipe.set(bus.keys.latest_frame(camera), payload, ex=ttl_s)
    pipe.execute()


def publish_view(bus: Bus, camera: str, payload: bytes, ttl_s: int = 30) -> None:
    """A frame as viewers may see it, apart from the frames stream: the stream viewers watch when
    detection reads another (``detect_source``), or a protected camera's frame (viewable.py)."""
    bus._client.set(bus.keys.latest_frame(camera), payload, ex=ttl_s)


def publish_kept(
    bus: Bus,
    camera: str,
    payload: bytes,
    seq: int,
    expected: int | None,
    ttl_s: int = 30,
    latest: bool = True,
) -> tuple[bool, int | None]:
    """Publish frame ``seq`` (``latest``: also as the camera's latest frame, as publish_live does) and
    move the camera's cursor past it, atomically, if the cursor holds
    ``expected`` (None: whatever it holds). Otherwise nothing is written and the cursor Redis holds
    comes back (None when it holds none): Redis has lost frames, or never had them."""
    frames = bus.keys.camera_stream("frames", camera)
    keys = [frames, bus.keys.latest_frame(camera), bus.keys.capture_cursor(camera)]
    args = [
        payload,
        bus.cfg.frames_maxlen,
        ttl_s if latest else 0,
        seq,
        "" if expected is None else expected,
        CURSOR_TTL_S,
    ]
    done, held = bus.script(_PUBLISH_KEPT)(keys=keys, args=args)
    return bool(done), (int(held) if held not in (b"", "", None) else None)


def capture_cursor(bus: Bus, camera: str) -> int | None:
    value = bus._client.get(bus.keys.capture_cursor(camera))
    return int(value) if value is not None else None


def heads(bus: Bus, cameras: Sequence[str], size: int = 128) -> list[bytes]:
    """The first bytes of each camera's newest frame (its camera, seq and ts): has a new one arrived?"""
    pipe = bus._client.pipeline(transaction=False)
    for camera in cameras:
        pipe.getrange(bus.keys.latest_frame(camera), 0, size - 1)
    return pipe.execute()


def latest(bus: Bus, cameras: Sequence[str]) -> dict[str, tuple[bytes | None, bytes | None]]:
    """Each camera's newest frame and overlay, in one round trip (what the dashboard shows)."""
    names: list[str] = []
    for camera in cameras:
        names += [bus.keys.latest_frame(camera), bus.keys.overlay(camera)]
    values = bus.mget(names)
    return {camera: (values[2 * i], values[2 * i + 1]) for i, camera in enumerate(cameras)}
