"""``bench --rtsp``: how many cameras one machine holds when they are real RTSP cameras.

The pipeline benchmark replays a file paced at capture's rate, so capture never decodes a frame it
then drops. Here every camera is a mount of a real RTSP server (rtsp_server.py, GStreamer's) sending
camera-like H.264 at 25 fps, looping: a 360p sub stream or a 720p main stream, each camera its own
mount, so that their frames arrive out of step as real cameras' do. For each stream and capture fps the
search adds cameras until a window has more than 5 % of frames skipped or a p95 latency over 250 ms,
and reports the last count that held with its figures: skipped, p95, capture's CPU and the whole
pipeline's cores busy, from the workers' own heartbeats. The server runs on the same machine; its CPU
is reported apart and is not the pipeline's.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from moodstream.bench.camera_video import camera_video
from moodstream.config import Settings
from moodstream.errors import UserError

SERVER = Path(__file__).with_name("rtsp_server.py")
DEBIAN_PYTHON = "/usr/bin/python3"
MAX_SKIPPED = 0.05
MAX_P95_MS = 250.0


class RtspServerProcess:
    """``rtsp_server.py`` under Debian's python3 (GStreamer's bindings are Debian's), on loopback;
    stoppable and restartable on the same port."""

    def __init__(
        self, workdir: Path, mounts: dict[str, str], port: int, user: str = "", password: str = ""
    ) -> None:
        self.port, self.workdir, self.mounts = port, workdir, mounts
        self.credentials = ["--user", user, "--password", password] if user else []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"rtsp-{port}.log"
        self.starts = 0

    def url(self, mount: str, userinfo: str = "") -> str:
        return f"rtsp://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}/{mount}"

    def start(self, timeout_s: float = 60.0) -> None:
        """Start it and return once it listens (it writes its ready file then)."""
        if not Path(DEBIAN_PYTHON).exists():
            raise UserError("the RTSP server runs under Debian's python3 with GStreamer: make rtsp-server")
        self.starts += 1
        ready = self.workdir / f"rtsp-{self.port}-{self.starts}.ready"
        mounts = [a for name, file in self.mounts.items() for a in ("--mount", f"{name}={file}")]
        command = [DEBIAN_PYTHON, str(SERVER), "--port", str(self.port), "--ready", str(ready)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([*command, *mounts, *self.credentials], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while not ready.exists() and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the condition itself: the file appears once it listens
        if not ready.exists():
            self.stop()
            raise UserError(f"the RTSP server did not start: {self.output().strip()[-300:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def held(result: dict[str, Any]) -> bool:
    captured = max(result["frames_captured"], 1)
    p95 = result["latency_ms"].get("p95")
    return result["frames_skipped"] / captured <= MAX_SKIPPED and p95 is not None and p95 <= MAX_P95_MS


def _summary(result: dict[str, Any], server_cores: float) -> dict[str, Any]:
    per_stage = result["cpu"]["per_stage"]
    return {
        "cameras": result["cameras"],
        "skipped_pct": round(100 * result["frames_skipped"] / max(result["frames_captured"], 1), 2),
        "p95_ms": result["latency_ms"].get("p95"),
        "capture_cores": (per_stage.get("capture") or {}).get("cores"),
        "pipeline_cores": result["cpu"]["cores_busy"],
        "server_cores": round(server_cores, 2),
        "held": held(result),
    }


def _window(
    settings: Settings, server: RtspServerProcess, cameras: int, fps: float, seconds: float
) -> dict[str, Any]:
    from moodstream.bench.pipeline import BenchOptions, _cpu_seconds, run_bench

    assert server.proc is not None
    cpu0, t0 = _cpu_seconds(server.proc.pid), time.monotonic()
    opts = BenchOptions(
        cameras=cameras, fps=fps, seconds=seconds, micro=False, progress=False, video=server.url("cam{i}")
    )
    result = run_bench(settings, opts)
    return _summary(result, (_cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic() - t0))


def most_cameras(
    settings: Settings, server: RtspServerProcess, fps: float, start: int, seconds: float, limit: int
) -> dict[str, Any]:
    """Up by two from ``start`` while a window holds (down by two while it does not): the last that held."""
    tried: list[dict[str, Any]] = []
    n = max(1, min(start, limit))
    best: dict[str, Any] | None = None
    while 1 <= n <= limit:
        row = _window(settings, server, n, fps, seconds)
        tried.append(row)
        print(f"  {n} cameras at {fps:g} fps: {row}", file=sys.stderr, flush=True)
        if row["held"]:
            best = row
            if any(not t["held"] and t["cameras"] == n + 2 for t in tried):
                break
            n += 2
        else:
            if best is not None:
                break
            n -= 2
    return {"fps": fps, "best": best, "tried": tried}


def rtsp_bench(
    settings: Settings, streams: list[str], fps_list: list[float], seconds: float, limit: int = 32
) -> dict[str, Any]:
    from moodstream.ops.stack import free_port

    out: dict[str, Any] = {
        "seconds": seconds,
        "rule": f"skipped <= {MAX_SKIPPED:.0%}, p95 <= {MAX_P95_MS:g} ms",
    }
    for stream in streams:
        guess = 8  # then each fps starts from the last one's result
        video = str(camera_video(stream))
        workdir = Path(tempfile.mkdtemp(prefix="moodstream-rtsp-"))
        server = RtspServerProcess(workdir, {f"cam{i}": video for i in range(limit)}, free_port())
        server.start()
        try:
            rows = []
            for fps in fps_list:
                print(f"{stream} at {fps:g} fps", file=sys.stderr, flush=True)
                row = most_cameras(settings, server, fps, guess, seconds, limit)
                rows.append(row)
                if row["best"]:
                    guess = row["best"]["cameras"]
            out[stream] = rows
        finally:
            server.stop()
    return out


def format_rtsp(result: dict[str, Any]) -> str:
    lines = [
        f"most cameras held ({result['rule']}), {result['seconds']:g} s windows",
        f"{'stream':<8}{'fps':>5}{'cameras':>9}{'skipped':>9}{'p95 ms':>8}{'capture':>9}{'pipeline':>10}{'server':>8}",
    ]
    for stream, rows in result.items():
        if not isinstance(rows, list):
            continue
        for row in rows:
            b = row["best"]
            if b is None:
                lines.append(f"{stream:<8}{row['fps']:>5g}{'none':>9}")
                continue
            lines.append(
                f"{stream:<8}{row['fps']:>5g}{b['cameras']:>9}{b['skipped_pct']:>8.1f}%{b['p95_ms'] or 0:>8.0f}"
                f"{b['capture_cores'] or 0:>9.2f}{b['pipeline_cores']:>10.2f}{b['server_cores']:>8.2f}"
            )
    return "\n".join(lines)
