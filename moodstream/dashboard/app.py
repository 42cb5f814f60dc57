"""The dashboard application factory, in the manner of Flask-SocketIO's examples.

``create_app`` wires the parts and gives each only what it uses: the REST
blueprint reads Redis and this process's newest stats; the ``/feed``
namespace knows the token, the connected clients and the newest stats; the
event bridge, the frame pump and the stats publisher are background loops
that ``server.serve`` starts. Nothing here imports the server, and no part
imports another's wiring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify
from flask_socketio import SocketIO

from moodstream.config import ConfigError, Settings
from moodstream.dashboard.api import build_blueprint
from moodstream.dashboard.auth import check_exposure
from moodstream.dashboard.bridge import EventBridge, LatestStats, StatsPublisher
from moodstream.dashboard.browser_cameras import BrowserCameras
from moodstream.dashboard.clients import Clients
from moodstream.dashboard.feed import FEED, FeedNamespace
from moodstream.dashboard.frames import FramePump
from moodstream.dashboard.history import FeedHistory
from moodstream.dashboard.privacy import PageInfo, camera_privacy
from moodstream.runtime.liveness import Liveness, guarded
from moodstream.runtime.worker import Runtime, Stopper
from moodstream.streams.bus import Bus
from moodstream.streams.client import Client, RedisError
from moodstream.streams.connection import SECOND_CONNECTION, resolve_url
from moodstream.streams.keys import Keys
from moodstream.streams.schemas import DashboardStatus

Loop = Callable[[Callable[[], bool], Callable[[float], Any]], None]


@dataclass
class DashboardApp:
    app: Flask
    socketio: SocketIO
    runtime: Runtime  # the process's Redis connection, stop event and heartbeat
    loops: list[Loop]  # background tasks, each run(stopped, wait), restarted after any error
    liveness: Liveness  # when each loop last completed a pass (/healthz)


def message_queue_url(settings: Settings, redis_url: str) -> str | None:
    mq = settings.dashboard.message_queue
    if not mq:
        return None
    if mq == "redis":
        return redis_url
    if not mq.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"dashboard.message_queue: expected '', 'redis' or a redis:// URL, got {mq!r}")
    return mq


class Outbox:
    """The three ways this process emits: events to rooms (through the message queue, when there is
    one, so every process's clients get them), stats to its own clients, frames to one client."""

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio

    def event(self, event: str, body: dict[str, Any], rooms: list[str]) -> None:
        self.socketio.emit(event, body, to=rooms, namespace=FEED)

    def stats(self, body: dict[str, Any]) -> None:
        self.socketio.server.emit("stats", body, namespace=FEED, ignore_queue=True)

    def frame(self, sid: str, body: dict[str, Any], callback: Any) -> None:
        self.socketio.server.emit("frame", body, to=sid, namespace=FEED, callback=callback, ignore_queue=True)


def process_status(clients: Clients, bridge: EventBridge, pump: FramePump) -> DashboardStatus:
    """This process: its viewers, whether it bridges, its counters (stats, /metrics, heartbeat)."""
    return DashboardStatus(clients=len(clients), leader=bridge.leader, **pump.counters, **bridge.counters)


def _socketio(app: Flask, settings: Settings, mq: str | None) -> SocketIO:
    return SocketIO(
        app,
        async_mode="gevent",
        message_queue=mq,
        channel=Keys(settings.redis.prefix).dashboard_channel(),
        cors_allowed_origins=settings.dashboard.cors_origins or None,
        ping_interval=10,
        ping_timeout=20,
        # A browser camera's frame is one message; everything else a client sends is small.
        max_http_buffer_size=max(
            64 * 1024,
            min(settings.browser_cameras.max_frame_bytes, settings.streams.max_frame_bytes) + 4096
            if settings.browser_cameras.enabled
            else 0,
        ),
        logger=False,
        engineio_logger=False,
    )


def _browser_cameras(settings: Settings, rt: Runtime) -> BrowserCameras:
    """Viewers' own webcams, shown raw only where the section does not blur faces (no config names them)."""
    raw_view = settings.protection("browser-").raw_frames_leave
    cfg, heartbeat_s = settings.browser_cameras, settings.runtime.heartbeat_s
    return BrowserCameras(_webcams_bus(settings, rt), cfg, settings.streams, heartbeat_s, raw_view)


def _webcams_bus(settings: Settings, rt: Runtime) -> Bus:
    """Viewers' webcams publish frames through a connection of their own, as the Redis user ``webcams``:
    the dashboard's own user cannot write frames (streams/acl.py)."""
    if not settings.browser_cameras.enabled:
        return rt.bus
    url = resolve_url(settings, SECOND_CONNECTION)
    if url is None:
        return rt.bus  # a test's client, with no deployment Redis to log in to
    return Bus.for_settings(settings, url)


def create_app(
    settings: Settings,
    client: Client | None = None,
    stopper: Stopper | None = None,
) -> DashboardApp:
    cfg = settings.dashboard
    check_exposure(cfg)
    redis_url = resolve_url(settings, "dashboard")
    if redis_url is None and client is None:
        raise ConfigError("no Redis answers: set [redis] url or MOODSTREAM_REDIS_URL, or use `moodstream up`")
    rt = Runtime("dashboard", settings, client, stopper)
    mq = message_queue_url(settings, redis_url or "")
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config["JSON_SORT_KEYS"] = False
    socketio = _socketio(app, settings, mq)
    outbox, clients, latest = Outbox(socketio), Clients(), LatestStats()
    browser = _browser_cameras(settings, rt)
    aggregate = settings.aggregate_cameras()
    bridge = EventBridge(rt.bus, outbox.event, shared=mq is not None, errors=rt.counters, aggregate=aggregate)
    pump = FramePump(
        rt.bus, clients, outbox.frame, latest.cameras, cfg.max_fps, cfg.frame_ack_timeout_s, aggregate
    )

    def info() -> DashboardStatus:
        return process_status(clients, bridge, pump)

    def beat() -> None:
        rt.detail = info()
        rt.heartbeat()
        browser.beat_all()

    stats = StatsPublisher(rt.bus, outbox.stats, info, cfg.stats_interval_s, latest, beat)
    liveness = rt.liveness  # the loops' state goes into the dashboard's heartbeat, too
    loops = [
        guarded(name, run, liveness)
        for name, run in (("bridge", bridge.run), ("frames", pump.run), ("stats", stats.run))
    ]
    page = PageInfo(browser.page_config(), camera_privacy(settings))
    app.register_blueprint(build_blueprint(cfg, rt.bus, latest.get, info, liveness, page))
    configured = [camera.id for camera in settings.cameras]

    def known_cameras() -> list[str]:
        return sorted({*configured, *latest.cameras()})

    history = FeedHistory(rt.bus, known_cameras, settings.smoother.track_ttl_s, cfg.resume_max, aggregate)
    socketio.on_namespace(
        FeedNamespace(cfg.token, cfg.max_fps, clients, latest.get, history, browser, cfg.host)
    )

    @app.errorhandler(RedisError)
    def _redis_down(exc: Exception) -> Any:
        return jsonify(error=f"Redis unavailable: {exc}"), 503

    return DashboardApp(app, socketio, rt, loops, liveness)
