"""Viewers' own webcams as live cameras: the page sends JPEG frames over its authenticated Socket.IO
connection, and this process publishes them as capture publishes a camera's.

The people the research prototypes were written for sit at a laptop and open a web page; their
webcam is in the browser, not on the server. A browser camera is a camera like any other from the
frames stream on: the same ``Frame`` schema and limits, its id ``browser-<name>`` checked like a
configured camera's, and a capture heartbeat written for it by this process, so that ``status``,
``/metrics``, the page's tiles and the per-camera stages see it as they see any camera. It ends when
its viewer stops it or disconnects (its heartbeat is removed), or when this process dies (it expires).
How many exist is counted from those heartbeats, across every dashboard process.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moodstream.config import BrowserCameraSettings, StreamSettings
from moodstream.detector.jpeg import jpeg_size
from moodstream.runtime.metrics import Counters
from moodstream.streams import capture_frames, heartbeats
from moodstream.streams.bus import Bus
from moodstream.streams.client import consumer_name
from moodstream.streams.schemas import CaptureStatus, Frame, Heartbeat

PREFIX = "browser-"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
STAGE = "capture"


class BrowserCameraError(ValueError):
    """Why a start or a frame was refused: one line, sent back to the page."""


@dataclass
class BrowserCamera:
    camera: str
    worker: str
    started: float = field(default_factory=time.time)
    seq: int = 0
    last_sent: float = 0.0  # monotonic: the rate limit
    last_frame_ts: float = 0.0
    last_beat: float = 0.0
    counters: Counters = field(default_factory=Counters)


def camera_id(name: Any) -> str:
    """``browser-<name>`` for a valid name (lower-case letters, digits, '-'), else a random one."""
    text = name.strip().lower() if isinstance(name, str) else ""
    if not NAME_RE.match(text):
        text = uuid.uuid4().hex[:8]
    return PREFIX + text  # NAME_RE keeps it within CAMERA_ID_RE


class BrowserCameras:
    """This dashboard process's browser cameras, by Socket.IO session."""

    def __init__(
        self,
        bus: Bus,
        cfg: BrowserCameraSettings,
        streams: StreamSettings,
        heartbeat_s: float,
        raw_view: bool = False,
    ) -> None:
        self.bus, self.cfg, self.streams, self.heartbeat_s = bus, cfg, streams, heartbeat_s
        # With ``[privacy] blur_faces`` (the default) viewers see the detector's blurred frames only.
        self.raw_view = raw_view
        self.max_bytes = min(cfg.max_frame_bytes, streams.max_frame_bytes)
        self.by_sid: dict[str, BrowserCamera] = {}
        self._starting = threading.Lock()  # gevent's, in the dashboard (it patches threading)

    def page_config(self) -> dict[str, Any]:
        return {"enabled": self.cfg.enabled, "fps": self.cfg.fps, "maxWidth": self.cfg.max_width}

    def live_ids(self) -> set[str]:
        """Every browser camera with a live heartbeat, whichever process holds it."""
        return {
            h.detail.camera
            for h in heartbeats.live(self.bus, STAGE)
            if isinstance(h.detail, CaptureStatus) and h.detail.camera.startswith(PREFIX)
        }

    def start(self, sid: str, data: Any) -> dict[str, Any]:
        # One at a time: a start waits on Redis (the live count), and two from one connection must not
        # both pass the check below and start two cameras.
        with self._starting:
            return self._start(sid, data)

    def _start(self, sid: str, data: Any) -> dict[str, Any]:
        if not self.cfg.enabled:
            raise BrowserCameraError("browser cameras are turned off ([browser_cameras] enabled)")
        if sid in self.by_sid:
            return self._started(self.by_sid[sid])
        name = data.get("name") if isinstance(data, dict) else None
        live = self.live_ids()
        if len(live) >= self.cfg.max:
            raise BrowserCameraError(
                f"{len(live)} browser cameras already ([browser_cameras] max {self.cfg.max})"
            )
        camera = camera_id(name)
        if camera in live or any(c.camera == camera for c in self.by_sid.values()):
            camera = camera_id(None)
        cam = BrowserCamera(camera, f"{consumer_name(STAGE)}-{camera}")
        self.by_sid[sid] = cam
        self._beat(cam, force=True)
        return self._started(cam)

    def _started(self, cam: BrowserCamera) -> dict[str, Any]:
        return {"ok": True, "camera": cam.camera, "fps": self.cfg.fps, "max_width": self.cfg.max_width}

    def frame(self, sid: str, data: Any) -> dict[str, Any]:
        """Publish one frame; frames over ``fps`` are dropped (the page waits for each reply)."""
        cam = self.by_sid.get(sid)
        if cam is None:
            raise BrowserCameraError("no camera started on this connection")
        jpeg = data.get("jpeg") if isinstance(data, dict) else None
        width, height = self._check(jpeg)
        now = time.monotonic()
        if now - cam.last_sent < 0.9 / self.cfg.fps:
            cam.counters.inc("dropped")
            return {"ok": True, "dropped": True}
        cam.last_sent, cam.last_frame_ts = now, time.time()
        frame = Frame(cam.camera, cam.seq, cam.last_frame_ts, width, height, bytes(jpeg), live=True)
        capture_frames.publish_live(self.bus, cam.camera, frame.encode(), latest=self.raw_view)
        cam.seq += 1
        cam.counters.inc("decoded")
        cam.counters.inc("processed")
        cam.counters.inc("published")
        self._beat(cam)
        return {"ok": True, "seq": frame.seq}

    def _check(self, jpeg: Any) -> tuple[int, int]:
        if not isinstance(jpeg, bytes | bytearray):
            raise BrowserCameraError("a frame is {jpeg: <JPEG bytes>}")
        if len(jpeg) > self.max_bytes:
            raise BrowserCameraError(f"frame of {len(jpeg)} bytes over {self.max_bytes}")
        size = jpeg_size(bytes(jpeg))
        if size is None:
            raise BrowserCameraError("not a JPEG image")
        width, height = size
        if width > self.cfg.max_width or width * height > self.streams.max_frame_pixels:
            raise BrowserCameraError(
                f"frame of {width}x{height} over max_width {self.cfg.max_width} or max_frame_pixels"
            )
        return width, height

    def stop(self, sid: str) -> dict[str, Any]:
        cam = self.by_sid.pop(sid, None)
        if cam is not None:
            heartbeats.forget(self.bus, STAGE, cam.worker)
        return {"ok": True, "camera": cam.camera if cam else None}

    def beat_all(self) -> None:
        """Keep every camera listed while its viewer is connected, even between frames."""
        for cam in list(self.by_sid.values()):
            self._beat(cam)

    def _beat(self, cam: BrowserCamera, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - cam.last_beat < self.heartbeat_s:
            return
        cam.last_beat = now
        snap = cam.counters.snapshot()
        detail = CaptureStatus(
            camera=cam.camera,
            source="browser",
            kind="browser",
            state="streaming",
            error="",
            reconnects=0,
            frames=cam.seq,
            decoder="browser",
            last_frame_ts=cam.last_frame_ts,
        )
        beat = Heartbeat.of_this_process(STAGE, cam.worker, cam.started, snap, detail)
        heartbeats.beat(self.bus, STAGE, cam.worker, beat.encode(), self.heartbeat_s * 3 + 1)
