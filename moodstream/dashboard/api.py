"""The page and the REST API.

Everything but ``/healthz`` and static files needs the token when one is
configured. Camera sources are never exposed: an RTSP URL may carry
credentials. Every endpoint only reads: serving the API writes nothing to Redis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, send_from_directory

from moodstream.config import CAMERA_ID_RE, DashboardSettings
from moodstream.dashboard import prometheus, vendoring
from moodstream.dashboard.auth import COOKIE, authorized, host_allowed, session_value, token_matches
from moodstream.dashboard.bridge import stats_payload
from moodstream.dashboard.privacy import PageInfo
from moodstream.dashboard.timeline import timeline
from moodstream.ops.observe import collect_status, current_suggestion, public_body
from moodstream.runtime.liveness import Liveness
from moodstream.streams.bus import Bus, id_order
from moodstream.streams.client import CONNECTION_ERRORS
from moodstream.streams.schemas import EMOTIONS, AlertEvent, DashboardStatus
from moodstream.streams.schemas.events import LINK_PREFIXES

HERE = Path(__file__).resolve().parent
# Each emotion's colour on the page (lines, labels, boxes): said here, sent to the page with its config.
EMOTION_COLORS = {
    "angry": "#e53935",
    "disgust": "#8e24aa",
    "fear": "#5e35b1",
    "happy": "#f9c908",
    "sad": "#1e88e5",
    "surprise": "#fb8c00",
    "neutral": "#9e9e9e",
}
SCHEMAS = HERE / "schemas"
MAX_TIMELINE_S = 24 * 3600
OPEN_ENDPOINTS = ("dashboard.healthz", "dashboard.vendor", "dashboard.favicon", "static")

LatestStats = Callable[[], dict[str, Any] | None]
Info = Callable[[], DashboardStatus]


def _camera(camera: str) -> str:
    if not CAMERA_ID_RE.match(camera):
        abort(400, description="bad camera id")
    return camera


def _float_arg(name: str, default: float) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        abort(400, description=f"{name} must be a number (epoch seconds)")
    if value != value or value in (float("inf"), float("-inf")):
        abort(400, description=f"{name} must be finite")
    return value


# Times a stream id can hold: from the epoch to the year 2100 (ids are milliseconds; XRANGE refuses
# what does not fit, and its error text is not for clients).
LATEST_TS = 4_102_444_800.0


def _time_arg(name: str, default: float) -> float:
    value = _float_arg(name, default)
    if not 0 <= value <= LATEST_TS:
        abort(400, description=f"{name} must be epoch seconds between 0 and {LATEST_TS:.0f}")
    return value


def build_blueprint(
    cfg: DashboardSettings,
    bus: Bus,
    latest_stats: LatestStats,
    info: Info,
    liveness: Liveness | None = None,
    page: PageInfo | None = None,
) -> Blueprint:
    """The page and the API; ``latest_stats`` and ``info`` are this process's newest stats and its own
    counters (read, never written, here)."""
    bp = Blueprint("dashboard", __name__)
    _require_token(bp, cfg.token, cfg.host)
    page = page or PageInfo()
    _pages(bp, cfg, page)
    _camera_api(bp, cfg, bus, latest_stats, info, page.aggregate)
    _operations(bp, bus, info, liveness or Liveness())
    bp.after_request(_security_headers)
    return bp


def _exchange_token(token: str) -> Response:
    """``/?token=`` (the link `moodstream url` prints): a session cookie for the page, and a redirect to
    the address without the token, so it stays in no address bar, history, bookmark or proxy log."""
    if not token_matches(token, request.args.get("token")):
        return Response(
            render_template("unauthorized.html"), status=401, headers={"Cache-Control": "no-store"}
        )
    rest = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "token"])
    resp = redirect(request.path + (f"?{rest}" if rest else ""), code=303)
    resp.set_cookie(
        COOKIE, session_value(token), httponly=True, samesite="Strict", secure=request.is_secure, path="/"
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _require_token(bp: Blueprint, token: str, bind: str) -> None:
    @bp.before_request
    def _auth() -> Any:
        if not token and not host_allowed(request.headers.get("Host"), bind):
            return jsonify(error="forbidden: unexpected Host header (set a token to serve other names)"), 403
        if request.endpoint in OPEN_ENDPOINTS:
            return None
        if request.endpoint == "dashboard.index" and "token" in request.args and token:
            return _exchange_token(token)
        if not authorized(token, request.headers, request.cookies):
            if request.path.startswith("/api/") or request.path == "/metrics":
                return jsonify(error="unauthorized: wrong or missing token"), 401
            return Response(
                render_template("unauthorized.html"), status=401, headers={"Cache-Control": "no-store"}
            )
        return None

    @bp.errorhandler(400)
    def _bad_request(exc: Any) -> Any:
        return jsonify(error=getattr(exc, "description", "bad request")), 400


def _pages(bp: Blueprint, cfg: DashboardSettings, page: PageInfo) -> None:
    @bp.get("/")
    def index() -> Any:
        return render_template(
            "index.html",
            config=json.dumps(
                {
                    "maxFps": cfg.max_fps,
                    "timelineS": cfg.timeline_s,
                    "feed": "/feed",
                    "emotions": list(EMOTIONS),  # the page's lines and labels, in the model's order
                    "colors": EMOTION_COLORS,
                    "browserCameras": page.browser_cameras,
                    "privacy": page.privacy,
                    "links": LINK_PREFIXES,  # where a suggestion's links may point
                }
            ),
        )

    @bp.get("/vendor/<path:name>")
    def vendor(name: str) -> Any:
        path = vendoring.locate(name)
        if path is None:  # the page says so itself: it finds no `io`
            return Response(
                f"{name} is missing: run `make install` (npm ci in moodstream/dashboard/)\n",
                status=404,
                mimetype="text/plain",
            )
        return send_from_directory(path.parent, path.name, max_age=3600)

    @bp.get("/favicon.ico")
    def favicon() -> Any:
        return send_from_directory(HERE / "static", "favicon.svg", mimetype="image/svg+xml", max_age=86400)

    @bp.get("/api/schemas/<name>.json")
    def schema(name: str) -> Any:
        if name not in ("emotion", "recommendation", "alert", "stats", "frame"):
            abort(404)
        return send_from_directory(SCHEMAS, f"{name}.json", mimetype="application/schema+json")


def _camera_api(
    bp: Blueprint,
    cfg: DashboardSettings,
    bus: Bus,
    latest_stats: LatestStats,
    info: Info,
    aggregate: frozenset[str],
) -> None:
    @bp.get("/api/cameras")
    def cameras() -> Any:
        stats = latest_stats() or stats_payload(collect_status(bus), info())
        out = []
        for cam in stats["cameras"]:
            reco = current_suggestion(bus, cam["camera"])
            out.append(
                {**cam, "emotion": reco["emotion"] if reco else None, "mood": reco["mood"] if reco else None}
            )
        return jsonify(cameras=out)

    @bp.get("/api/cameras/<camera>/timeline")
    def camera_timeline(camera: str) -> Any:
        camera = _camera(camera)
        until = _time_arg("until", time.time())
        since = _time_arg("since", max(0.0, until - cfg.timeline_s))
        bucket = _float_arg("bucket", 1.0)
        if not 0.1 <= bucket <= 3600:
            abort(400, description="bucket must be between 0.1 and 3600 seconds")
        if since > until:
            abort(400, description="since is after until")
        since = max(since, until - MAX_TIMELINE_S)
        return jsonify(timeline(bus, camera, since, until, bucket))

    @bp.get("/api/alerts")
    def alerts() -> Any:
        """Alerts fired since ``since`` (epoch seconds; default the last 24 h), of one ``camera`` or all,
        oldest first, at most ``limit`` (the newest)."""
        since = _time_arg("since", time.time() - MAX_TIMELINE_S)
        camera = request.args.get("camera")
        limit = int(min(max(_float_arg("limit", 100), 1), 1000))
        streams = (
            [bus.keys.camera_stream("alerts", _camera(camera))] if camera else bus.keys.streams("alerts")
        )
        found = []
        for stream in streams:
            for entry in bus.recent(stream, str(int(since * 1000)), limit):
                body = public_body(entry, AlertEvent, aggregate)
                if body is not None and (camera is None or body["camera"] == camera):
                    found.append(body)
        found.sort(key=lambda b: (id_order(b["id"]), b["camera"]))
        return jsonify(alerts=found[-limit:])

    @bp.get("/api/cameras/<camera>/recommendation")
    def camera_recommendation(camera: str) -> Any:
        reco = current_suggestion(bus, _camera(camera))
        if reco is None:
            return jsonify(error=f"no suggestion yet for camera {camera}"), 404
        return jsonify(reco)


def _operations(bp: Blueprint, bus: Bus, info: Info, liveness: Liveness) -> None:
    @bp.get("/healthz")
    def healthz() -> Any:
        try:
            bus.ping()
        except CONNECTION_ERRORS:  # no error text: it is an open endpoint, and errors may name hosts
            return jsonify(status="unavailable", redis=False), 503
        me = info()
        stalled = liveness.stalled()
        if stalled:  # a background loop has not completed a pass lately: states only, no error text
            return jsonify(status="degraded", redis=True, stalled=stalled, clients=me.clients), 503
        return jsonify(status="ok", redis=True, clients=me.clients, leader=me.leader)

    @bp.get("/metrics")
    def metrics() -> Any:
        try:
            status = collect_status(bus)
        except CONNECTION_ERRORS:
            return Response("# Redis unavailable\n", status=503, mimetype="text/plain")
        return Response(prometheus.render(status, info()), content_type=prometheus.CONTENT_TYPE)


def _security_headers(resp: Response) -> Response:
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    if resp.mimetype == "text/html":
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
            "frame-src https://open.spotify.com; media-src https://p.scdn.co; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        )
    return resp
