"""The dashboard process: the app from ``create_app`` served by gevent, with its background loops.

gevent serves many slow clients from one process without a thread each,
and its WSGI server is production-grade. ``moodstream dashboard`` patches
the standard library for gevent before anything else is imported (see
moodstream/cli/main.py); the background loops (event bridge, frame pump, stats) are
greenlets that block on Redis with timeouts and check the stop event.
"""

from __future__ import annotations

import contextlib
import logging

from moodstream.config import ConfigError, DashboardSettings, Settings
from moodstream.dashboard import vendoring
from moodstream.dashboard.app import DashboardApp, create_app
from moodstream.runtime.worker import Stopper, setup_logging
from moodstream.streams.client import CONNECTION_ERRORS

log = logging.getLogger(__name__)


def serve(dash: DashboardApp, cfg: DashboardSettings) -> int:
    from gevent import pywsgi

    missing = [name for name in vendoring.FILES if vendoring.locate(name) is None]
    if missing:
        log.error(
            "%s missing: the page cannot connect (it says so); run `make install` in a source checkout, "
            "or reinstall moodstream",
            ", ".join(missing),
        )
    stopper = dash.runtime.stopper
    tasks = [dash.socketio.start_background_task(loop, stopper.is_set, stopper.wait) for loop in dash.loops]
    # gevent-websocket's handler owns a WebSocket's connection to its end. Without it, pywsgi read the
    # closing WebSocket frame as a new HTTP request and logged a traceback on every client that left.
    from geventwebsocket.handler import WebSocketHandler

    server = pywsgi.WSGIServer(
        (cfg.host, cfg.port), dash.app, log=None, error_log=log, handler_class=WebSocketHandler
    )
    try:
        server.start()
    except OSError as exc:
        raise ConfigError(f"dashboard: cannot listen on {cfg.host}:{cfg.port}: {exc}") from exc
    log.info("dashboard listening on http://%s:%d/", cfg.host, server.server_port)
    try:
        while not stopper.wait(1.0):
            pass
    finally:
        log.info("dashboard stopping")
        server.stop(timeout=2)
        for task in tasks:
            task.join(timeout=3)
        with contextlib.suppress(CONNECTION_ERRORS):
            dash.runtime.close()
    return 0


def run(settings: Settings) -> int:
    setup_logging(settings.runtime.log_level)
    return serve(create_app(settings, stopper=Stopper().install()), settings.dashboard)
