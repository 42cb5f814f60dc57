"""Simulated dashboard viewers for ``moodstream bench --dashboard-clients N``.

Each viewer is a python-socketio client subscribed to every camera with
video, acknowledging each frame as a browser does once it has drawn it. On
SIGTERM it prints what the viewers received as one JSON line.

    python -m dashboard.loadclient URL TOKEN N
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from typing import Any

import socketio


class Viewer:
    def __init__(self, url: str, token: str) -> None:
        self.frames: dict[str, int] = defaultdict(int)
        self.bytes = 0
        self.events = 0
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=True)
        self.sio.on("frame", self.on_frame, namespace="/feed")
        self.sio.on("emotion", self.on_event, namespace="/feed")
        self.sio.on("recommendation", self.on_event, namespace="/feed")
        self.sio.on("connect", self.on_connect, namespace="/feed")
        for attempt in range(30):
            try:
                self.sio.connect(url, namespaces=["/feed"], auth={"token": token}, transports=["websocket"])
                break
            except socketio.exceptions.ConnectionError:
                if attempt == 29:
                    raise
                time.sleep(1.0)

    def on_connect(self) -> None:
        self.sio.emit("subscribe", {"cameras": "*", "frames": True}, namespace="/feed")  # base64 JPEGs

    def on_frame(self, frame: dict[str, Any]) -> bool:
        with self.lock:
            self.frames[frame["camera"]] += 1
            self.bytes += len(frame["jpeg"])
        return True  # the ack

    def on_event(self, _event: dict[str, Any]) -> None:
        with self.lock:
            self.events += 1

    def snapshot(self) -> tuple[dict[str, int], int, int]:
        with self.lock:
            return dict(self.frames), self.bytes, self.events


def main() -> int:
    url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    viewers = [Viewer(url, token) for _ in range(n)]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Counting starts on "go" (a line on stdin), after the warm-up.
    sys.stdin.readline()
    start = [v.snapshot() for v in viewers]
    t0 = time.monotonic()
    while not stop.wait(0.5):
        pass
    elapsed = time.monotonic() - t0
    end = [v.snapshot() for v in viewers]
    per_camera_fps: list[float] = []
    total_frames = total_bytes = total_events = 0
    for (f0, b0, e0), (f1, b1, e1) in zip(start, end, strict=True):
        for camera, count in f1.items():
            per_camera_fps.append((count - f0.get(camera, 0)) / elapsed)
            total_frames += count - f0.get(camera, 0)
        total_bytes += b1 - b0
        total_events += e1 - e0
    print(
        json.dumps(
            {
                "clients": n,
                "seconds": round(elapsed, 1),
                "frames": total_frames,
                "events": total_events,
                "mbytes_per_s": round(total_bytes / elapsed / 1e6, 2),
                "fps_per_client_camera": {
                    "min": round(min(per_camera_fps or [0]), 1),
                    "mean": round(sum(per_camera_fps) / max(1, len(per_camera_fps)), 1),
                    "max": round(max(per_camera_fps or [0]), 1),
                },
                "streams": len(per_camera_fps),
            }
        ),
        flush=True,
    )
    # The clients' reader threads would keep a graceful exit waiting; the report is out.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
