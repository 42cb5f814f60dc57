"""When capture publishes a frame: its options, and the pacing of live sources, files and recordings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from moodstream.capture.sources import Captured, Source, wait_until
from moodstream.config import CameraSettings


@dataclass
class CaptureOptions:
    camera: str
    fps: float = 0.0
    loop: bool = False
    every_frame: bool = False
    speed: float = 1.0
    max_width: int = 1280
    jpeg_quality: int = 80
    max_frames: int = 0  # stop after this many frames (0: no limit); for tests and benchmarks
    for_viewers: bool = True  # False: viewers watch another stream of the camera (view.py)

    @classmethod
    def from_camera(cls, cam: CameraSettings) -> CaptureOptions:
        return cls(
            camera=cam.id,
            fps=cam.fps,
            loop=cam.loop,
            every_frame=cam.every_frame,
            max_width=cam.max_width,
            jpeg_quality=cam.jpeg_quality,
        )


class Pacer:
    """When to publish: live sources at most ``fps``; files and recordings at their own timing.

    A live camera is read as fast as it delivers (so its buffer never lags) and
    frames are dropped down to ``fps``. Files are paced to ``fps`` (or the
    file's rate) and recordings to their recorded offsets, both scaled by
    ``speed``; after a stall they re-anchor rather than burst.
    """

    def __init__(self, opts: CaptureOptions, source: Source) -> None:
        self.live = source.live
        self.use_offsets = opts.fps <= 0
        self.speed = max(opts.speed, 1e-3)
        period = 1.0 / opts.fps if opts.fps > 0 else 0.0
        if period == 0.0 and not source.live and source.kind != "recording":
            period = 1.0 / (source.native_fps or 25.0)
        self.period = period / self.speed
        self.next_due = 0.0  # live sources: when the next frame is due (monotonic)
        self.restart()

    def restart(self) -> None:
        self.start, self.start_offset, self.n = time.monotonic(), None, 0

    def keep_live(self, now: float | None = None) -> bool:
        """Whether a live source's frame just grabbed is kept: ``fps`` a second on average. Asked before
        the frame is converted, so a dropped frame costs its decode and nothing more.

        Each kept frame moves the next due time on by one period from the last due time, not from the
        frame's arrival: a 25 fps camera kept at 15 gives 15 (alternately every second and every third
        frame), where "at least a period since the last kept" would give 12.5, and at 10 would give 8.3.
        A due time left more than a period behind (a stall, a slow camera) restarts from now."""
        if not self.period:
            return True
        now = time.monotonic() if now is None else now
        if now < self.next_due - self.period * 0.05:  # 5 % early still counts: arrival jitter
            return False
        behind = self.next_due + self.period <= now
        self.next_due = now + self.period if behind else self.next_due + self.period
        return True

    def wait_due(self, cap: Captured, wait: Callable[[float], object]) -> None:
        """Wait until a file's or recording's frame is due (every one is kept)."""
        now = time.monotonic()
        if cap.offset is not None and self.use_offsets:
            if self.start_offset is None:
                self.start_offset = cap.offset
            due = self.start + (cap.offset - self.start_offset) / self.speed
        else:
            due = self.start + self.n * self.period
        if now - due > 1.0:  # far behind (a stall): re-anchor rather than burst
            self.start, self.start_offset, self.n = now, cap.offset, 0
            due = now
        wait_until(due, wait)
        self.n += 1
