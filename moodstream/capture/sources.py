"""Frame sources: video files, webcams, network streams and recordings.

Every source yields ``Captured`` frames and raises ``SourceError`` when it
cannot deliver; the capture loop decides whether to reconnect (live sources)
or stop (a file that ended without ``loop``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from moodstream.capture.network import ReadTimeout, WatchedCapture, set_transport
from moodstream.capture.recording import RecordingError, RecordingReader
from moodstream.errors import UserError
from moodstream.runtime.redact import redact

URL_RE = re.compile(r"^(rtsp|rtsps|rtmp|http|https|udp|tcp)://", re.I)


class SourceError(UserError):
    pass


class SourceEnded(Exception):
    """A finite source reached its end."""


@dataclass
class Captured:
    image: np.ndarray | None  # BGR, when decoded
    jpeg: bytes | None  # already-encoded frames (recordings)
    width: int
    height: int
    offset: float | None = None  # seconds from the recording's start, for recorded timing


class Source:
    kind = "source"
    live = True
    native_fps = 0.0

    def open(self) -> None:
        raise NotImplementedError

    def read(self) -> Captured:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return self.kind


class OpenCVSource(Source):
    def __init__(
        self, target: str | int, kind: str, live: bool, timeout_ms: int = 5000, transport: str = "tcp"
    ) -> None:
        self.target = target
        self.shown = redact(str(target))  # what messages and the heartbeat say: never a credential
        self.kind = kind
        self.live = live
        self.timeout_ms = timeout_ms
        self.transport = transport
        self.cap: Any = None  # a cv2.VideoCapture, or a WatchedCapture for network sources

    def open(self) -> None:
        self.close()
        if self.kind == "file" and not Path(str(self.target)).exists():
            raise SourceError(f"video file not found: {self.target}")
        cap = self._open_network() if self.kind == "url" else cv2.VideoCapture(self.target)
        opened = cap.is_opened() if isinstance(cap, WatchedCapture) else cap.isOpened()
        if not opened:
            cap.release()
            raise SourceError(f"cannot open {self.kind} source {self.shown!r}")
        self.cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.native_fps = float(fps) if fps and 0 < fps < 1000 else 0.0

    def _open_network(self) -> WatchedCapture:
        """Over the configured RTSP transport, every call with a deadline (network.py says why)."""
        set_transport(str(self.target), self.transport)
        deadline_s = 2 * self.timeout_ms / 1000.0  # FFmpeg's own timeouts first; this one if they fail
        try:
            return WatchedCapture(str(self.target), self.timeout_ms, deadline_s)
        except ReadTimeout as exc:
            raise SourceError(f"{self.kind} source {self.shown!r}: {exc}") from None

    def read(self) -> Captured:
        if self.cap is None:
            raise SourceError("source not open")
        try:
            ok, image = self.cap.read()
        except ReadTimeout as exc:
            self.cap = None  # spent: the next open makes a new one
            raise SourceError(f"{self.kind} source {self.shown!r}: {exc}") from None
        if not ok or image is None:
            if self.kind == "file":
                raise SourceEnded(str(self.target))
            raise SourceError(f"{self.kind} source {self.shown!r} stopped delivering frames")
        h, w = image.shape[:2]
        return Captured(image=image, jpeg=None, width=w, height=h)

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None

    def describe(self) -> str:
        return f"{self.kind}:{self.shown}"


class RecordingSource(Source):
    kind = "recording"
    live = False

    def __init__(self, path: str) -> None:
        self.path = path
        self._frames: Iterator | None = None

    def open(self) -> None:
        try:
            reader = RecordingReader(self.path)
        except RecordingError as exc:
            raise SourceError(str(exc)) from exc
        self.native_fps = reader.fps
        self._frames = reader.frames()

    def read(self) -> Captured:
        if self._frames is None:
            raise SourceError("recording not open")
        try:
            rec = next(self._frames)
        except StopIteration:
            raise SourceEnded(self.path) from None
        except RecordingError as exc:
            raise SourceError(str(exc)) from exc
        return Captured(image=None, jpeg=rec.jpeg, width=rec.width, height=rec.height, offset=rec.offset)

    def describe(self) -> str:
        return f"recording:{self.path}"


def open_source(
    spec: str,
    resolve: callable = Path,
    timeout_ms: int = 5000,
    transport: str = "tcp",  # type: ignore[valid-type]
) -> Source:
    """Pick the source type from the config string (network sources use ``timeout_ms`` and ``transport``)."""
    spec = spec.strip()
    if not spec:
        raise SourceError("empty camera source")
    if spec.isdigit():
        return OpenCVSource(int(spec), "webcam", live=True)
    if spec.startswith("sample:"):
        from moodstream.assets import sample_video

        return OpenCVSource(str(sample_video(spec.split(":", 1)[1])), "file", live=False)
    if spec.startswith("/dev/video"):
        return OpenCVSource(spec, "webcam", live=True)
    if URL_RE.match(spec):
        return OpenCVSource(spec, "url", live=True, timeout_ms=timeout_ms, transport=transport)
    path = str(resolve(spec))
    if path.endswith(".msrec"):
        return RecordingSource(path)
    return OpenCVSource(path, "file", live=False)


def wait_until(deadline: float, stop_wait: Callable[[float], object]) -> None:
    """Sleep until a monotonic deadline in slices, so a stop request is never kept waiting."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        if stop_wait(min(remaining, 0.5)):
            return
