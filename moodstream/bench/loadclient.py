"""Simulated dashboard viewers for ``moodstream bench --dashboard-clients N``.

Each viewer is a python-socketio asyncio client subscribed to every camera
with binary video, acknowledging each frame as the page does once it has
drawn it. All viewers share one event loop, so simulating them costs little
CPU on the machine being measured. On SIGTERM it prints what the viewers
received as one JSON line.

    python -m dashboard.loadclient URL TOKEN N
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import defaultdict
from typing import Any

import socketio


class Viewer:
    def __init__(self) -> None:
        self.frames: dict[str, int] = defaultdict(int)
        self.bytes = 0
        self.events = 0
        self.sio = socketio.AsyncClient(reconnection=True)
        self.sio.on("frame", self.on_frame, namespace="/feed")
        self.sio.on("emotion", self.on_event, namespace="/feed")
        self.sio.on("recommendation", self.on_event, namespace="/feed")
        self.sio.on("connect", self.on_connect, namespace="/feed")

    async def connect(self, url: str, token: str) -> None:
        for attempt in range(30):
            try:
                await self.sio.connect(
                    url, namespaces=["/feed"], auth={"token": token}, transports=["websocket"]
                )
                return
            except socketio.exceptions.ConnectionError:
                if attempt == 29:
                    raise
                await asyncio.sleep(1.0)

    async def on_connect(self) -> None:
        await self.sio.emit("subscribe", {"cameras": "*", "frames": True, "binary": True}, namespace="/feed")

    async def on_frame(self, frame: dict[str, Any]) -> bool:
        self.frames[frame["camera"]] += 1
        self.bytes += len(frame["jpeg"])
        return True  # the ack

    async def on_event(self, _event: dict[str, Any]) -> None:
        self.events += 1

    def snapshot(self) -> tuple[dict[str, int], int, int]:
        return dict(self.frames), self.bytes, self.events


async def run(url: str, token: str, n: int) -> None:
    viewers = [Viewer() for _ in range(n)]
    await asyncio.gather(*(v.connect(url, token) for v in viewers))
    print("connected", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # Counting starts on "go" (a line on stdin), after the warm-up.
    await loop.run_in_executor(None, sys.stdin.readline)
    start = [v.snapshot() for v in viewers]
    t0 = time.monotonic()
    await stop.wait()
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
    report = {
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
    print(json.dumps(report), flush=True)
    os._exit(0)  # don't wait on the clients' connections to close; the report is out


def main() -> int:
    url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    asyncio.run(run(url, token, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
