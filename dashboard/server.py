"""The dashboard process: Flask + Flask-SocketIO on gevent.

gevent serves many slow clients from one process without a thread each,
and its WSGI server is production-grade. ``moodstream dashboard`` patches
the standard library for gevent before anything else is imported (see
services.cli); the background loops (event bridge, frame pump, stats) are
greenlets that block on Redis with timeouts and check the stop event.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import redis
from flask import Flask, jsonify
from flask_socketio import SocketIO

from services.common.bus import CONNECTION_ERRORS
from services.common.connection import resolve_url
from services.common.runtime import Runtime, Stopper, setup_logging
from services.common.settings import ConfigError, Settings

from .api import VENDOR, build_blueprint
from .auth import check_exposure
from .bridge import EventBridge, StatsPublisher
from .clients import Clients
from .feed import FEED, FeedNamespace
from .frames import FramePump

log = logging.getLogger(__name__)


def message_queue_url(settings: Settings, redis_url: str) -> str | None:
    mq = settings.dashboard.message_queue
    if not mq:
        return None
    if mq == "redis":
        return redis_url
    if not mq.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"dashboard.message_queue: expected '', 'redis' or a redis:// URL, got {mq!r}")
    return mq


class Dashboard:
    def __init__(
        self, settings: Settings, client: redis.Redis | None = None, stopper: Stopper | None = None
    ) -> None:
        self.settings = settings
        self.cfg = settings.dashboard
        check_exposure(self.cfg)
        redis_url = resolve_url(settings)
        if redis_url is None and client is None:
            raise ConfigError(
                "no Redis answers: set [redis] url or MOODSTREAM_REDIS_URL, or use `moodstream up`"
            )
        self.rt = Runtime("dashboard", settings, client, stopper)
        self.bus = self.rt.bus
        self.stopper = self.rt.stopper
        mq = message_queue_url(settings, redis_url or "")

        self.app = Flask(__name__, static_folder="static", static_url_path="/static")
        self.app.config["JSON_SORT_KEYS"] = False
        self.socketio = SocketIO(
            self.app,
            async_mode="gevent",
            message_queue=mq,
            channel=f"{settings.redis.prefix}-dashboard",
            cors_allowed_origins=self.cfg.cors_origins or None,
            ping_interval=10,
            ping_timeout=20,
            max_http_buffer_size=64 * 1024,
            logger=False,
            engineio_logger=False,
        )
        self.clients = Clients()
        self.bridge = EventBridge(self.bus, self._emit_event, shared=mq is not None)
        self.stats = StatsPublisher(
            self.bus, self._emit_stats, self.info, self.cfg.stats_interval_s, on_collect=self._beat
        )
        self.pump = FramePump(
            self.bus,
            self.clients,
            self._send_frame,
            self.stats.cameras,
            self.cfg.max_fps,
            self.cfg.frame_ack_timeout_s,
        )
        self.app.register_blueprint(build_blueprint(self))
        self.socketio.on_namespace(FeedNamespace(self))

        @self.app.errorhandler(redis.RedisError)
        def _redis_down(exc: Exception) -> Any:
            return jsonify(error=f"Redis unavailable: {exc}"), 503

    # ----- emitting ---------------------------------------------------------------------------------
    def _emit_event(self, event: str, body: dict[str, Any], rooms: list[str]) -> None:
        # Through the message queue when there is one, so every dashboard process's clients get it.
        self.socketio.emit(event, body, to=rooms, namespace=FEED)

    def _emit_stats(self, body: dict[str, Any]) -> None:
        self.socketio.server.emit("stats", body, namespace=FEED, ignore_queue=True)

    def _send_frame(self, sid: str, body: dict[str, Any], callback: Any) -> None:
        # Frames go straight to this process's own client, never through the queue.
        self.socketio.server.emit("frame", body, to=sid, namespace=FEED, callback=callback, ignore_queue=True)

    def info(self) -> dict[str, Any]:
        return {
            "clients": len(self.clients),
            "leader": self.bridge.leader,
            **self.pump.counters,
            **self.bridge.counters,
        }

    def _beat(self, _stats: dict[str, Any]) -> None:
        self.rt.extra = {"clients": len(self.clients), **self.pump.counters, **self.bridge.counters}
        self.rt.heartbeat()

    # ----- running ----------------------------------------------------------------------------------
    def serve(self) -> int:
        from gevent import pywsgi

        if not (next(iter(VENDOR.values())) / "socket.io.min.js").exists():
            log.error("dashboard/node_modules is missing: the page will not load; run `make install`")
        stopped = self.stopper.is_set
        wait = self.stopper.wait
        tasks = [
            self.socketio.start_background_task(self.bridge.run, stopped, wait),
            self.socketio.start_background_task(self.pump.run, stopped, wait),
            self.socketio.start_background_task(self.stats.run, stopped, wait),
        ]
        server = pywsgi.WSGIServer((self.cfg.host, self.cfg.port), self.app, log=None, error_log=log)
        try:
            server.start()
        except OSError as exc:
            raise ConfigError(f"dashboard: cannot listen on {self.cfg.host}:{self.cfg.port}: {exc}") from exc
        log.info("dashboard listening on http://%s:%d/", self.cfg.host, server.server_port)
        try:
            while not self.stopper.wait(1.0):
                pass
        finally:
            log.info("dashboard stopping")
            server.stop(timeout=2)
            for task in tasks:
                task.join(timeout=3)
            with contextlib.suppress(CONNECTION_ERRORS):
                self.rt.close()
        return 0


def run(settings: Settings) -> int:
    setup_logging(settings.runtime.log_level)
    return Dashboard(settings, stopper=Stopper().install()).serve()
