"""The ``/feed`` Socket.IO namespace: what the page and other apps connect to.

A client connects (with the token, if one is configured), then sends
``subscribe`` with the cameras it wants (``"*"`` for all) and whether it
wants video. It receives ``emotion`` and ``recommendation`` events for those
cameras, ``stats`` for the whole system, and, if asked, ``frame`` events
that it acknowledges to get the next one. Schemas: docs/dashboard.md and
``/api/schemas/<event>.json``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import request
from flask_socketio import ConnectionRefusedError, Namespace, emit, join_room, leave_room

from .auth import token_from_auth, token_matches
from .clients import Subscription, SubscriptionError

if TYPE_CHECKING:
    from .server import Dashboard

log = logging.getLogger(__name__)

FEED = "/feed"


class FeedNamespace(Namespace):
    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__(FEED)
        self.dash = dashboard

    def on_connect(self, auth: Any = None) -> None:
        if not token_matches(self.dash.cfg.token, token_from_auth(auth, request.args)):
            log.info("feed: refused a client with a wrong or missing token (%s)", request.remote_addr)
            raise ConnectionRefusedError("unauthorized: wrong or missing token")
        self.dash.clients.add(request.sid)
        if self.dash.stats.latest is not None:
            emit("stats", self.dash.stats.latest)

    def on_disconnect(self, *_reason: Any) -> None:
        self.dash.clients.remove(request.sid)

    def on_subscribe(self, data: Any = None) -> dict[str, Any]:
        try:
            sub = Subscription.parse(data if data is not None else {}, self.dash.cfg.max_fps)
        except SubscriptionError as exc:
            return {"ok": False, "error": str(exc)}
        old = self.dash.clients.subscribe(request.sid, sub)
        if old is None:
            return {"ok": False, "error": "not connected"}
        for room in set(old.rooms()) - set(sub.rooms()):
            leave_room(room)
        for room in sub.rooms():
            join_room(room)
        return {"ok": True, **sub.public()}

    def on_unsubscribe(self, _data: Any = None) -> dict[str, Any]:
        old = self.dash.clients.subscribe(request.sid, Subscription())
        for room in old.rooms() if old else []:
            leave_room(room)
        return {"ok": True, **Subscription().public()}
