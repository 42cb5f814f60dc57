"""What a feed subscriber arrived too late for, or missed while it was away, read back from Redis.

Live events reach a client only while it is subscribed. A client that subscribes while a camera's
emotion holds steady would otherwise see no suggestion until the emotion changes, and one that
reconnects would never learn what happened in between. So, as MQTT brokers do with retained messages:

- ``retained`` is the current state: each camera's newest suggestion (the recommender keeps it with its
  stream id) and the newest emotion of each track still alive (the last ``recent_s`` of the stream);
- ``replay`` is every event from the ``since`` id the client last saw on, in order, up to
  ``resume_max``, and whether some may be lost (``gap``: trimmed away, or more than ``resume_max``).

Both come out as the feed's own event bodies, with their stream ``id``. Ids come from one clock but
from several streams (emotions, recommendations, alerts, each partition's), each numbering its own
events within a millisecond: two events can share an id, and one published later can carry a lower
one. So the replay starts at the beginning of ``since``'s millisecond, and a client drops what it
already has by (type, camera, id).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from moodstream.dashboard.clients import Subscription
from moodstream.ops.observe import PUBLIC_STREAMS, PublicDecoder, current_suggestion, public_body
from moodstream.streams import consumer_groups
from moodstream.streams.bus import Bus, id_order
from moodstream.streams.schemas import EmotionEvent

PAGE = 500  # entries per read while replaying
RECENT_MAX = 2000  # entries per partition looked at for the live tracks' newest emotions


def event_key(body: dict[str, Any]) -> tuple[str, str, str]:
    """What tells two events apart: their id alone may be shared by two streams."""
    return body["type"], body["camera"], body["id"]


class FeedHistory:
    def __init__(
        self,
        bus: Bus,
        cameras: Callable[[], list[str]],
        recent_s: float,
        resume_max: int,
        aggregate: frozenset[str] = frozenset(),
    ) -> None:
        self.bus = bus
        self.aggregate = aggregate  # cameras whose per-face events never leave
        self.cameras = cameras  # the cameras a "*" subscription means now
        self.recent_s = recent_s
        self.resume_max = resume_max

    def _wanted(self, sub: Subscription) -> list[str]:
        return sorted(self.cameras()) if sub.all else sorted(sub.cameras)

    def _streams(self, sub: Subscription, name: str) -> list[str]:
        keys = self.bus.keys
        if sub.all:
            return keys.streams(name)
        return sorted({keys.camera_stream(name, camera) for camera in sub.cameras})

    def retained(self, sub: Subscription) -> list[dict[str, Any]]:
        """Each wanted camera's current suggestion and its live tracks' newest emotions, oldest first."""
        out = []
        for camera in self._wanted(sub):
            body = current_suggestion(self.bus, camera)
            if body is not None:
                out.append({**body, "retained": True})
        newest: dict[tuple[str, int], dict[str, Any]] = {}
        min_id = str(int((time.time() - self.recent_s) * 1000))
        for stream in self._streams(sub, "emotions"):
            for entry in self.bus.recent(stream, min_id, RECENT_MAX):
                body = public_body(entry, EmotionEvent, self.aggregate)
                if body is not None and sub.wants(body["camera"]):
                    newest.setdefault(
                        (body["camera"], body["track"]), {**body, "retained": True}
                    )  # newest first
        return sorted([*out, *newest.values()], key=lambda b: id_order(b["id"]))

    def now(self) -> str:
        """An id just before Redis's current time: every event published from now on comes after it."""
        return f"{self.bus.server_time_ms() - 1}-{2**64 - 1}"

    def after(self, sub: Subscription, since: str) -> list[dict[str, Any]]:
        """The wanted cameras' events from ``since`` on (inclusive), oldest first."""
        events: list[dict[str, Any]] = []
        for name, decoder in PUBLIC_STREAMS:
            for stream in self._streams(sub, name):
                events += self._after(stream, decoder, since, sub)
        return sorted(events, key=lambda b: (id_order(b["id"]), *event_key(b)))

    def replay(self, sub: Subscription, since: str) -> tuple[list[dict[str, Any]], bool]:
        """The events from ``since`` on (the newest ``resume_max``), and whether some may be missing."""
        streams = [stream for name, _ in PUBLIC_STREAMS for stream in self._streams(sub, name)]
        gap = any(consumer_groups.trimmed_after(self.bus, stream, since) for stream in streams)
        events = self.after(sub, since)
        if len(events) > self.resume_max:
            return events[len(events) - self.resume_max :], True
        return events, gap

    def _after(
        self, stream: str, decoder: PublicDecoder, since: str, sub: Subscription
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        # From the start of since's millisecond: another stream's event published after it in the same
        # millisecond can carry a lower sequence number.
        position = f"{id_order(since)[0]}-0"
        while True:
            page = self.bus.history(stream, position, PAGE)
            for entry in page:
                body = public_body(entry, decoder, self.aggregate)
                if body is not None and sub.wants(body["camera"]):
                    out.append(body)
            if len(page) < PAGE:
                return out
            position = f"({page[-1].id}"
