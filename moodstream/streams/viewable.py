"""What viewers may see of a protected camera: the dashboard marks the cameras it shows, and the
detector writes their blurred and masked frames into the latest-frame key
(``capture_frames.publish_view``) only while they are marked.

A camera whose faces are blurred or areas masked never has its raw frame in that key: capture leaves
it alone (capture_frames.publish_live ``latest=False``), so a viewer gets the protected frame or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from moodstream.streams.bus import Bus

# How long a mark lasts after the dashboard's last: longer than its marking period, short enough that
# a camera nobody watches any more soon costs nothing again.
WATCHED_TTL_S = 5
# The dashboard renews a camera's mark this often while it shows the camera.
MARK_EVERY_S = 1.0


def mark_watched(bus: Bus, cameras: Iterable[str]) -> None:
    """Mark cameras as watched, in one round trip."""
    pipe = bus._client.pipeline(transaction=False)
    for camera in cameras:
        pipe.set(bus.keys.watched(camera), b"1", ex=WATCHED_TTL_S)
    pipe.execute()


def watched(bus: Bus, cameras: Sequence[str]) -> set[str]:
    """Which of these cameras someone watches."""
    values = bus.mget([bus.keys.watched(c) for c in cameras])
    return {camera for camera, value in zip(cameras, values, strict=True) if value is not None}
