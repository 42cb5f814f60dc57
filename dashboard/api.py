"""The page and the REST API.

Everything but ``/healthz`` and static files needs the token when one is
configured. Camera sources are never exposed: an RTSP URL may carry
credentials.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, abort, jsonify, render_template, request, send_from_directory

from services.common.bus import CONNECTION_ERRORS
from services.common.schemas import RecommendationEvent, SchemaError
from services.common.settings import CAMERA_ID_RE
from services.observe import collect_status

from . import prometheus
from .auth import token_from_request, token_matches
from .timeline import timeline

if TYPE_CHECKING:
    from .server import Dashboard

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
VENDOR = {"socket.io.min.js": HERE / "node_modules" / "socket.io-client" / "dist"}
MAX_TIMELINE_S = 24 * 3600


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


def build_blueprint(dash: Dashboard) -> Blueprint:
    bp = Blueprint("dashboard", __name__)
    cfg = dash.cfg

    @bp.before_request
    def _auth() -> Any:
        if request.endpoint in ("dashboard.healthz", "dashboard.vendor", "dashboard.favicon", "static"):
            return None
        if not token_matches(cfg.token, token_from_request(request.args, request.headers)):
            if request.path.startswith("/api/") or request.path == "/metrics":
                return jsonify(error="unauthorized: wrong or missing token"), 401
            return Response(
                render_template("unauthorized.html"), status=401, headers={"Cache-Control": "no-store"}
            )
        return None

    @bp.errorhandler(400)
    def _bad_request(exc: Any) -> Any:
        return jsonify(error=getattr(exc, "description", "bad request")), 400

    @bp.get("/")
    def index() -> Any:
        return render_template(
            "index.html",
            config=json.dumps({"maxFps": cfg.max_fps, "timelineS": cfg.timeline_s, "feed": "/feed"}),
        )

    @bp.get("/vendor/<path:name>")
    def vendor(name: str) -> Any:
        folder = VENDOR.get(name)
        if folder is None or not (folder / name).exists():
            return Response(
                f"{name} is missing: run `make install` (npm ci in dashboard/)\n",
                status=404,
                mimetype="text/plain",
            )
        return send_from_directory(folder, name, max_age=3600)

    @bp.get("/favicon.ico")
    def favicon() -> Any:
        return send_from_directory(HERE / "static", "favicon.svg", mimetype="image/svg+xml", max_age=86400)

    @bp.get("/healthz")
    def healthz() -> Any:
        try:
            dash.bus.ping()
        except CONNECTION_ERRORS as exc:
            return jsonify(status="unavailable", redis=False, error=str(exc)), 503
        return jsonify(status="ok", redis=True, clients=len(dash.clients), leader=dash.bridge.leader)

    @bp.get("/metrics")
    def metrics() -> Any:
        try:
            status = collect_status(dash.bus)
        except CONNECTION_ERRORS as exc:
            return Response(f"# Redis unavailable: {exc}\n", status=503, mimetype="text/plain")
        return Response(prometheus.render(status, dash.info()), content_type=prometheus.CONTENT_TYPE)

    @bp.get("/api/cameras")
    def cameras() -> Any:
        stats = dash.stats.latest or dash.stats.collect()
        out = []
        for cam in stats["cameras"]:
            reco = _latest_reco(dash, cam["camera"])
            out.append(
                {**cam, "emotion": reco.emotion if reco else None, "mood": reco.mood if reco else None}
            )
        return jsonify(cameras=out)

    @bp.get("/api/cameras/<camera>/timeline")
    def camera_timeline(camera: str) -> Any:
        camera = _camera(camera)
        now = time.time()
        until = _float_arg("until", now)
        since = _float_arg("since", until - cfg.timeline_s)
        bucket = _float_arg("bucket", 1.0)
        if not 0.1 <= bucket <= 3600:
            abort(400, description="bucket must be between 0.1 and 3600 seconds")
        if since > until:
            abort(400, description="since is after until")
        since = max(since, until - MAX_TIMELINE_S)
        return jsonify(timeline(dash.bus, camera, since, until, bucket))

    @bp.get("/api/cameras/<camera>/recommendation")
    def camera_recommendation(camera: str) -> Any:
        reco = _latest_reco(dash, _camera(camera))
        if reco is None:
            return jsonify(error=f"no suggestion yet for camera {camera}"), 404
        return jsonify(reco.public())

    @bp.get("/api/schemas/<name>.json")
    def schema(name: str) -> Any:
        if name not in ("emotion", "recommendation", "stats", "frame"):
            abort(404)
        return send_from_directory(SCHEMAS, f"{name}.json", mimetype="application/schema+json")

    @bp.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        if resp.mimetype == "text/html":
            resp.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; "
                "frame-src https://open.spotify.com; media-src https:; style-src 'self'; script-src 'self'"
            )
        return resp

    return bp


def _latest_reco(dash: Dashboard, camera: str) -> RecommendationEvent | None:
    raw = dash.bus.get(dash.bus.keys.latest_recommendation(camera))
    if not raw:
        return None
    try:
        return RecommendationEvent.decode(raw)
    except SchemaError:
        return None
