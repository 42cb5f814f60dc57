"""Network cameras (RTSP, HTTP): every read has a deadline, and the transport is chosen, not guessed.

OpenCV's FFmpeg capture takes open and read timeouts, but a read can still hang after a camera comes
back (opencv#22677): FFmpeg's interrupt callback is not consulted everywhere. So each read of a network
source runs on a reader thread and the capture loop waits for it with a deadline; a read that misses
it is abandoned with its ``VideoCapture`` (never released from another thread while it may be inside
FFmpeg), the source counts as failed, and the loop reconnects with a new one. RTSP goes over TCP by
default: UDP loses packets (grey smears, broken frames) on any busy network and through NAT.
"""

from __future__ import annotations

import concurrent.futures
import os
from typing import Any

import cv2
import numpy as np

# FFmpeg options for OpenCV's capture, read from the environment when a capture opens. Capture is one
# process per camera, so setting it there (at open, not at import) concerns that camera alone.
FFMPEG_OPTIONS = "OPENCV_FFMPEG_CAPTURE_OPTIONS"


def set_transport(url: str, transport: str) -> None:
    """RTSP over ``tcp`` or ``udp`` for the next open; other schemes are left as FFmpeg opens them."""
    if url.lower().startswith(("rtsp://", "rtsps://")):
        os.environ[FFMPEG_OPTIONS] = f"rtsp_transport;{transport}"
    else:
        os.environ.pop(FFMPEG_OPTIONS, None)


class ReadTimeout(Exception):
    """A read that did not return within its deadline (the reader thread was abandoned)."""


class WatchedCapture:
    """A network camera's ``VideoCapture``, opened and read on a thread of its own, each call waited for
    at most ``deadline_s``. After a missed deadline the object is spent: open a new one."""

    def __init__(
        self, target: str, timeout_ms: int, deadline_s: float, params: list[int] | None = None
    ) -> None:
        self.deadline_s = deadline_s
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="capture-read")
        self.cap: Any = self._call(lambda: open_capture(target, timeout_ms, params or []), "opening")

    def _call(self, fn: Any, what: str) -> Any:
        future = self._pool.submit(fn)
        try:
            return future.result(timeout=self.deadline_s)
        except concurrent.futures.TimeoutError:
            self._pool.shutdown(wait=False, cancel_futures=True)  # the hung thread keeps its capture
            self.cap = None
            raise ReadTimeout(f"{what} took longer than {self.deadline_s:g} s; abandoned") from None

    def is_opened(self) -> bool:
        return self.cap is not None and bool(self.cap.isOpened())

    def get(self, prop: int) -> float:
        return float(self.cap.get(prop)) if self.cap is not None else 0.0

    def grab(self) -> bool:
        if self.cap is None:
            return False
        return bool(self._call(self.cap.grab, "a read"))

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        if self.cap is None:
            return False, None
        return self._call(self.cap.retrieve, "converting a frame")

    def release(self) -> None:
        """Release the capture on its own thread once idle (abandoned, with the thread, if it hangs)."""
        cap, self.cap = self.cap, None
        if cap is not None:
            try:
                self._call(cap.release, "releasing")
            except ReadTimeout:
                return
        self._pool.shutdown(wait=False)


def open_capture(target: str, timeout_ms: int, params: list[int]) -> Any:
    """A ``VideoCapture`` for a network source, with FFmpeg's own open and read timeouts set as well."""
    params = [*params, cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
    return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
