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
    """``grab`` takes the next frame (decoding it, for compressed video); ``retrieve`` converts the frame
    grabbed last into a ``Captured``. Capture grabs every frame a live camera sends, so that its buffer
    never lags, and retrieves only those it keeps."""

    kind = "source"
    live = True
    native_fps = 0.0
    decoder = "software"  # or the hardware decoder FFmpeg uses ("vaapi", ...)

    def open(self) -> None:
        raise NotImplementedError

    def grab(self) -> None:
        raise NotImplementedError

    def retrieve(self) -> Captured:
        raise NotImplementedError

    def read(self) -> Captured:
        self.grab()
        return self.retrieve()

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return self.kind

    def open_with_backoff(
        self,
        initial_s: float,
        max_s: float,
        stopped: Callable[[], bool],
        failed: Callable[[str, float], None],
    ) -> bool:
        """Open, retrying with a doubling delay until it opens (True) or ``stopped`` (False).
        ``failed(reason, delay)`` reports each failure and waits the delay (a camera retries forever)."""
        delay = initial_s
        while not stopped():
            try:
                self.open()
                return True
            except SourceError as exc:
                failed(str(exc), delay)
                delay = min(delay * 2, max_s)
        return False


class OpenCVSource(Source):
    def __init__(
        self,
        target: str | int,
        kind: str,
        live: bool,
        timeout_ms: int = 5000,
        transport: str = "tcp",
        hwaccel: str = "auto",
    ) -> None:
        self.target = target
        self.shown = redact(str(target))  # what messages and the heartbeat say: never a credential
        self.kind = kind
        self.live = live
        self.timeout_ms = timeout_ms
        self.transport = transport
        self.hwaccel = hwaccel
        self.cap: Any = None  # a cv2.VideoCapture, or a WatchedCapture for network sources

    def open(self) -> None:
        self.close()
        if self.kind == "file" and not Path(str(self.target)).exists():
            raise SourceError(f"video file not found: {self.target}")
        cap = self._open_capture(hwaccel_mode(self.hwaccel))
        if not _opened(cap) and self.kind != "webcam" and self.hwaccel not in ("auto", "none"):
            cap.release()  # the named hardware decoder is not there: software, said once by the caller
            cap = self._open_capture(cv2.VIDEO_ACCELERATION_NONE)
        if not _opened(cap):
            cap.release()
            raise SourceError(f"cannot open {self.kind} source {self.shown!r}")
        self.cap = cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.native_fps = float(fps) if fps and 0 < fps < 1000 else 0.0
        self.decoder = decoder_name(cap.get(cv2.CAP_PROP_HW_ACCELERATION))

    def _open_capture(self, accel: int) -> Any:
        """Files and network streams through FFmpeg (never whichever backend claims them first)."""
        if self.kind == "webcam":
            return cv2.VideoCapture(self.target)
        params = [cv2.CAP_PROP_HW_ACCELERATION, accel]
        if self.kind == "file":
            return cv2.VideoCapture(str(self.target), cv2.CAP_FFMPEG, params)
        set_transport(str(self.target), self.transport)  # network: every call with a deadline (network.py)
        deadline_s = 2 * self.timeout_ms / 1000.0  # FFmpeg's own timeouts first; this one if they fail
        try:
            return WatchedCapture(str(self.target), self.timeout_ms, deadline_s, params)
        except ReadTimeout as exc:
            raise SourceError(f"{self.kind} source {self.shown!r}: {exc}") from None

    def grab(self) -> None:
        if self.cap is None:
            raise SourceError("source not open")
        try:
            ok = self.cap.grab()
        except ReadTimeout as exc:
            self.cap = None  # spent: the next open makes a new one
            raise SourceError(f"{self.kind} source {self.shown!r}: {exc}") from None
        if not ok:
            if self.kind == "file":
                raise SourceEnded(str(self.target))
            raise SourceError(f"{self.kind} source {self.shown!r} stopped delivering frames")

    def retrieve(self) -> Captured:
        if self.cap is None:
            raise SourceError("source not open")
        try:
            ok, image = self.cap.retrieve()
        except ReadTimeout as exc:
            self.cap = None
            raise SourceError(f"{self.kind} source {self.shown!r}: {exc}") from None
        if not ok or image is None:
            raise SourceError(f"{self.kind} source {self.shown!r}: a frame could not be converted")
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
        self._grabbed: Captured | None = None

    def open(self) -> None:
        try:
            reader = RecordingReader(self.path)
        except RecordingError as exc:
            raise SourceError(str(exc)) from exc
        self.native_fps = reader.fps
        self._frames = reader.frames()

    def grab(self) -> None:
        if self._frames is None:
            raise SourceError("recording not open")
        try:
            rec = next(self._frames)
        except StopIteration:
            raise SourceEnded(self.path) from None
        except RecordingError as exc:
            raise SourceError(str(exc)) from exc
        self._grabbed = Captured(
            image=None, jpeg=rec.jpeg, width=rec.width, height=rec.height, offset=rec.offset
        )

    def retrieve(self) -> Captured:
        if self._grabbed is None:
            raise SourceError("no frame grabbed")
        return self._grabbed

    def describe(self) -> str:
        return f"recording:{self.path}"


def open_source(
    spec: str,
    resolve: Callable[[str], Path | str] = Path,
    timeout_ms: int = 5000,
    transport: str = "tcp",
    hwaccel: str = "auto",
) -> Source:
    """Pick the source type from the config string (network sources use ``timeout_ms`` and ``transport``;
    files and network sources decode on ``hwaccel``)."""
    spec = spec.strip()
    if not spec:
        raise SourceError("empty camera source")
    if spec.isdigit():
        return OpenCVSource(int(spec), "webcam", live=True)
    if spec.startswith("sample:"):
        from moodstream.assets import sample_video

        return OpenCVSource(str(sample_video(spec.split(":", 1)[1])), "file", live=False, hwaccel=hwaccel)
    if spec.startswith("/dev/video"):
        return OpenCVSource(spec, "webcam", live=True)
    if URL_RE.match(spec):
        return OpenCVSource(
            spec, "url", live=True, timeout_ms=timeout_ms, transport=transport, hwaccel=hwaccel
        )
    path = str(resolve(spec))
    if path.endswith(".msrec"):
        return RecordingSource(path)
    return OpenCVSource(path, "file", live=False, hwaccel=hwaccel)


# FFmpeg's hardware decoders as OpenCV names them; "auto" takes whichever the machine has, else software.
HWACCEL_MODES = {
    "auto": cv2.VIDEO_ACCELERATION_ANY,
    "none": cv2.VIDEO_ACCELERATION_NONE,
    "vaapi": cv2.VIDEO_ACCELERATION_VAAPI,
    "d3d11": cv2.VIDEO_ACCELERATION_D3D11,
    "mfx": cv2.VIDEO_ACCELERATION_MFX,
    "drm": cv2.VIDEO_ACCELERATION_DRM,
}


def hwaccel_mode(name: str) -> int:
    return HWACCEL_MODES[name]


def decoder_name(accel: float) -> str:
    """What an opened capture decodes on: "software", or the hardware decoder's name."""
    for name, mode in HWACCEL_MODES.items():
        if name not in ("auto", "none") and mode == int(accel):
            return name
    return "software"


def _opened(cap: Any) -> bool:
    return bool(cap.is_opened() if isinstance(cap, WatchedCapture) else cap.isOpened())


def wait_until(deadline: float, stop_wait: Callable[[float], object]) -> None:
    """Sleep until a monotonic deadline in slices, so a stop request is never kept waiting."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        if stop_wait(min(remaining, 0.5)):
            return
