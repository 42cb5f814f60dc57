"""The ``/feed`` Socket.IO namespace: what the page and other apps connect to.

A client connects (with the token, if one is configured), then sends
``subscribe`` with the cameras it wants (``"*"`` for all) and whether it
wants video. It receives ``emotion`` and ``recommendation`` events for those
cameras, ``stats`` for the whole system (the newest at once, on connect), and,
if asked, ``frame`` events that it acknowledges to get the next one. A page may also
send its own webcam as a camera: ``camera_start``, ``camera_frame``, ``camera_stop``. Schemas:
docs/dashboard.md and ``/api/schemas/<event>.json``.

Before any live event, a subscriber gets the current state (``"retained": true``:
each camera's suggestion, each live track's newest emotion); one that resubscribes
with ``since`` (the ``id`` of the last event it saw) gets what it missed instead,
and ``gap`` in the reply when some of that is gone (history.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, Namespace, emit, join_room, leave_room

from moodstream.dashboard.auth import authorized, host_allowed
from moodstream.dashboard.browser_cameras import BrowserCameraError, BrowserCameras
from moodstream.dashboard.clients import Clients, Subscription, SubscriptionError
from moodstream.dashboard.history import FeedHistory, event_key
from moodstream.streams.bus import id_order
from moodstream.streams.client import CONNECTION_ERRORS

log = logging.getLogger(__name__)

FEED = "/feed"


@dataclass
class CatchUp:
    """What a subscriber gets before live events, and what the subscribe reply says about it."""

    events: list[dict[str, Any]]
    gap: bool = False

    def reply(self, more: int = 0) -> dict[str, Any]:
        replayed = sum(not body.get("retained") for body in self.events) + more
        return {"retained": len(self.events) + more - replayed, "replayed": replayed, "gap": self.gap}


class FeedNamespace(Namespace):
    def __init__(
        self,
        token: str,
        fps_cap: float,
        clients: Clients,
        latest_stats: Callable[[], dict[str, Any] | None],
        history: FeedHistory,
        browser_cameras: BrowserCameras,
        bind: str = "127.0.0.1",
    ) -> None:
        super().__init__(FEED)
        self.token = token
        self.bind = bind  # without a token, only this address and loopback names are served
        self.fps_cap = fps_cap
        self.clients = clients
        self.latest_stats = latest_stats
        self.history = history
        self.browser_cameras = browser_cameras

    def on_connect(self, auth: Any = None) -> None:
        if not self.token and not host_allowed(request.headers.get("Host"), self.bind):
            raise ConnectionRefusedError(
                "forbidden: unexpected Host header (set a token to serve other names)"
            )
        if not authorized(self.token, request.headers, request.cookies, auth):
            log.info("feed: refused a client with a wrong or missing token (%s)", request.remote_addr)
            raise ConnectionRefusedError("unauthorized: wrong or missing token")
        self.clients.add(request.sid)
        stats = self.latest_stats()
        if stats is not None:
            emit("stats", stats)

    def on_disconnect(self, *_reason: Any) -> None:
        self.clients.remove(request.sid)
        with contextlib.suppress(*CONNECTION_ERRORS):  # Redis away: its heartbeat expires instead
            self.browser_cameras.stop(request.sid)

    # ----- the viewer's own webcam (browser_cameras.py) ----------------------------------------------
    def on_camera_start(self, data: Any = None) -> dict[str, Any]:
        return self._camera(lambda: self.browser_cameras.start(request.sid, data))

    def on_camera_frame(self, data: Any = None) -> dict[str, Any]:
        return self._camera(lambda: self.browser_cameras.frame(request.sid, data))

    def on_camera_stop(self, _data: Any = None) -> dict[str, Any]:
        return self._camera(lambda: self.browser_cameras.stop(request.sid))

    def _camera(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The reply the page waits for: the result, or one line saying why not (nothing is raised)."""
        try:
            return call()
        except BrowserCameraError as exc:
            return {"ok": False, "error": str(exc)}
        except CONNECTION_ERRORS:
            return {"ok": False, "error": "Redis unavailable; try again"}

    def on_subscribe(self, data: Any = None) -> dict[str, Any]:
        try:
            sub = Subscription.parse(data if data is not None else {}, self.fps_cap)
        except SubscriptionError as exc:
            return {"ok": False, "error": str(exc)}
        old = self.clients.subscribe(request.sid, sub)
        if old is None:
            return {"ok": False, "error": "not connected"}
        for room in set(old.rooms()) - set(sub.rooms()):
            leave_room(room)
        mark = self.history.now() if sub.since is None else sub.since
        caught_up = self._catch_up(sub)
        for body in caught_up.events:  # before joining: no live event overtakes them
            emit(body["type"], body)
        for room in sub.rooms():
            join_room(room)
        # What was published while it caught up. From here live events flow too: one published during this
        # last read may come twice, with the same id.
        newest = max([mark, *(body["id"] for body in caught_up.events)], key=id_order)
        sent = {event_key(body) for body in caught_up.events}
        tail = [body for body in self.history.after(sub, newest) if event_key(body) not in sent]
        for body in tail:
            emit(body["type"], body)
        return {"ok": True, **sub.public(), **caught_up.reply(len(tail))}

    def _catch_up(self, sub: Subscription) -> CatchUp:
        if sub.since is None:
            return CatchUp(self.history.retained(sub))
        events, gap = self.history.replay(sub, sub.since)
        if not gap:
            return CatchUp(events)
        # Some of what it missed is gone: the current state too, so that nothing stays stale.
        seen = {body["id"] for body in events}
        state = [body for body in self.history.retained(sub) if body["id"] not in seen]
        return CatchUp(state + events, gap=True)

    def on_unsubscribe(self, _data: Any = None) -> dict[str, Any]:
        old = self.clients.subscribe(request.sid, Subscription())
        for room in old.rooms() if old else []:
            leave_room(room)
        return {"ok": True, **Subscription().public()}
