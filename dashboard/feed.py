"""The ``/feed`` Socket.IO namespace: what the page and other apps connect to.

A client connects (with the token, if one is configured), then sends
``subscribe`` with the cameras it wants (``"*"`` for all) and whether it
wants video. It receives ``emotion`` and ``recommendation`` events for those
cameras, ``stats`` for the whole system (the newest at once, on connect), and,
if asked, ``frame`` events that it acknowledges to get the next one. Schemas:
docs/dashboard.md and ``/api/schemas/<event>.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError, Namespace, emit, join_room, leave_room

from .auth import host_allowed, token_from_auth, token_matches
from .clients import Clients, Subscription, SubscriptionError

log = logging.getLogger(__name__)

FEED = "/feed"


class FeedNamespace(Namespace):
    def __init__(
        self,
        token: str,
        fps_cap: float,
        clients: Clients,
        latest_stats: Callable[[], dict[str, Any] | None],
        bind: str = "127.0.0.1",
    ) -> None:
        super().__init__(FEED)
        self.token = token
        self.bind = bind  # without a token, only this address and loopback names are served
        self.fps_cap = fps_cap
        self.clients = clients
        self.latest_stats = latest_stats

    def on_connect(self, auth: Any = None) -> None:
        if not self.token and not host_allowed(request.headers.get("Host"), self.bind):
            raise ConnectionRefusedError(
                "forbidden: unexpected Host header (set a token to serve other names)"
            )
        if not token_matches(self.token, token_from_auth(auth, request.args)):
            log.info("feed: refused a client with a wrong or missing token (%s)", request.remote_addr)
            raise ConnectionRefusedError("unauthorized: wrong or missing token")
        self.clients.add(request.sid)
        stats = self.latest_stats()
        if stats is not None:
            emit("stats", stats)

    def on_disconnect(self, *_reason: Any) -> None:
        self.clients.remove(request.sid)

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
        for room in sub.rooms():
            join_room(room)
        return {"ok": True, **sub.public()}

    def on_unsubscribe(self, _data: Any = None) -> dict[str, Any]:
        old = self.clients.subscribe(request.sid, Subscription())
        for room in old.rooms() if old else []:
            leave_room(room)
        return {"ok": True, **Subscription().public()}
