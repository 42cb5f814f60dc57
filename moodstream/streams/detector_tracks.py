"""The detector's per-camera tracks: where each camera's faces were, so region search looks there first.

Instances share a camera's tracks; each replaces them only with a newer frame's (or, for a camera that
restarted from seq 0, a far older one), in the same script as its outputs and acks.
"""

from __future__ import annotations

from collections.abc import Sequence

from moodstream.streams.bus import Bus

# A detector's outputs, the ack of its input and the camera's newer tracks, in one script: a cluster
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

TRACKS_TTL_MS = 60_000
RESTART_GAP = 1000  # a seq this far below the held one is a camera that restarted from 0


def load(bus: Bus, cameras: Sequence[str]) -> dict[str, bytes]:
    """Each camera's detector tracks, where there are some."""
    pipe = bus._client.pipeline(transaction=False)
    for camera in cameras:
        pipe.hget(bus.keys.detector_tracks(camera), "d")
    return {c: v for c, v in zip(cameras, pipe.execute(), strict=True) if v is not None}


def publish_and_ack(
    bus: Bus,
    stream: str,
    payloads: Sequence[bytes],
    ack: tuple[str, str, Sequence[str]],
    tracks: tuple[str, int, bytes],
) -> None:
    """Publish the detections, ack their frames (``ack``: stream, group, ids) and replace the camera's
    tracks (``tracks``: camera, seq, state) if ``seq`` is newer than the one held, atomically."""
    (ack_stream, group, ids), (camera, seq, state) = ack, tracks
    keys = [stream, ack_stream, bus.keys.detector_tracks(camera)]
    args = [bus.maxlen(stream), group, len(payloads), *payloads, len(ids), *ids]
    bus.script(_PUBLISH_ACK_TRACKS)(keys=keys, args=[*args, seq, state, TRACKS_TTL_MS, RESTART_GAP])
