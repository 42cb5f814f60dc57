"""Who is connected to this dashboard process, and what each one asked for.

Events go out through Socket.IO rooms (``all`` and ``cam:<id>``), so they
work across processes through the message queue. Video does not: each
process sends frames to its own clients, one frame in flight per client and
camera, so this registry also holds each client's frame slots.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from moodstream.config import CAMERA_ID_RE

ALL_ROOM = "all"
MAX_CAMERAS_PER_SUBSCRIPTION = 256
STREAM_ID_RE = re.compile(r"^\d{1,19}(-\d{1,19})?$")


def camera_room(camera: str) -> str:
    return f"cam:{camera}"


class SubscriptionError(ValueError):
    pass


@dataclass(frozen=True)
class Subscription:
    all: bool = False
    cameras: frozenset[str] = frozenset()
    frames: bool = False
    max_fps: float = 10.0
    # JPEG as a Socket.IO binary attachment (browsers) or as a base64 string (any client: python-socketio's
    # client can mis-assemble attachments that arrive while its handler threads are busy).
    binary: bool = False
    # The id of the last event the client saw: the events after it are replayed before live ones.
    since: str | None = None

    def wants(self, camera: str) -> bool:
        return self.all or camera in self.cameras

    def rooms(self) -> list[str]:
        return [ALL_ROOM] if self.all else [camera_room(c) for c in sorted(self.cameras)]

    def public(self) -> dict[str, Any]:
        return {
            "cameras": "*" if self.all else sorted(self.cameras),
            "frames": self.frames,
            "max_fps": self.max_fps,
            "binary": self.binary,
        }

    @classmethod
    def parse(cls, data: Any, fps_cap: float) -> Subscription:
        """``{"cameras": "*" | [ids], "frames": bool, "max_fps": number}``; errors name the field."""
        if not isinstance(data, dict):
            raise SubscriptionError("subscribe takes an object: {cameras: '*' or [ids], frames?, max_fps?}")
        unknown = set(data) - {"cameras", "frames", "max_fps", "binary", "since"}
        if unknown:
            raise SubscriptionError(f"unknown field(s): {', '.join(sorted(unknown))}")
        cameras = data.get("cameras", "*")
        frames = data.get("frames", False)
        binary = data.get("binary", False)
        max_fps = data.get("max_fps", fps_cap)
        since = data.get("since")
        if since is not None and not (isinstance(since, str) and STREAM_ID_RE.match(since)):
            raise SubscriptionError("since must be an event's id, e.g. '1732450000000-0'")
        if not isinstance(frames, bool):
            raise SubscriptionError("frames must be true or false")
        if not isinstance(binary, bool):
            raise SubscriptionError("binary must be true or false")
        if isinstance(max_fps, bool) or not isinstance(max_fps, int | float) or not max_fps > 0:
            raise SubscriptionError("max_fps must be a positive number")
        max_fps = min(float(max_fps), fps_cap)
        if cameras == "*":
            return cls(all=True, frames=frames, max_fps=max_fps, binary=binary, since=since)
        if not isinstance(cameras, list) or len(cameras) > MAX_CAMERAS_PER_SUBSCRIPTION:
            raise SubscriptionError(
                f"cameras must be '*' or a list of at most {MAX_CAMERAS_PER_SUBSCRIPTION} ids"
            )
        for camera in cameras:
            if not isinstance(camera, str) or not CAMERA_ID_RE.match(camera):
                raise SubscriptionError(f"bad camera id {camera!r}")
        return cls(cameras=frozenset(cameras), frames=frames, max_fps=max_fps, binary=binary, since=since)


# Frames a client may hold unacknowledged per camera: two hide one round trip of jitter, and keep the bound.
WINDOW = 2


@dataclass
class FrameSlot:
    """At most WINDOW frames in flight and one waiting: a slow client gets the newest, never a backlog."""

    in_flight: list[float] = field(default_factory=list)  # send times, oldest first
    pending: dict[str, Any] | None = None
    last_sent: float = 0.0


@dataclass
class Client:
    sid: str
    connected_at: float = field(default_factory=time.time)
    sub: Subscription = field(default_factory=Subscription)
    slots: dict[str, FrameSlot] = field(default_factory=dict)


class Clients:
    def __init__(self) -> None:
        self._by_sid: dict[str, Client] = {}

    def __len__(self) -> int:
        return len(self._by_sid)

    def add(self, sid: str) -> Client:
        client = self._by_sid[sid] = Client(sid)
        return client

    def remove(self, sid: str) -> None:
        self._by_sid.pop(sid, None)

    def get(self, sid: str) -> Client | None:
        return self._by_sid.get(sid)

    def subscribe(self, sid: str, sub: Subscription) -> Subscription | None:
        client = self._by_sid.get(sid)
        if client is None:
            return None
        old = client.sub
        client.sub = sub
        if not sub.frames:
            client.slots.clear()
        else:
            for camera in [c for c in client.slots if not sub.wants(c)]:
                del client.slots[camera]
        return old

    def all(self) -> list[Client]:
        return list(self._by_sid.values())

    def watching_video(self) -> list[Client]:
        return [c for c in self._by_sid.values() if c.sub.frames]

    def video_cameras(self, known: list[str]) -> set[str]:
        """Cameras some client wants video of; ``known`` resolves ``*`` subscriptions."""
        wanted: set[str] = set()
        for client in self.watching_video():
            wanted |= set(known) if client.sub.all else set(client.sub.cameras)
        return wanted
