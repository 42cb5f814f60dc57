"""The capture loop: read a source, pace it, JPEG-encode, publish.

Live sources (webcams, network streams) reconnect with backoff when they
drop, forever; the process keeps running and reports its state in its
heartbeat. Redis being away costs frames (live video cannot wait), never the
process.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

import cv2
import redis

from ..common.bus import CONNECTION_ERRORS
from ..common.runtime import Runtime, Stopper, setup_logging
from ..common.schemas import Frame
from ..common.settings import CameraSettings, ConfigError, Settings
from .sources import Captured, Source, SourceEnded, SourceError, open_source, wait_until

log = logging.getLogger(__name__)


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


class CaptureLoop:
    def __init__(self, rt: Runtime, source: Source, opts: CaptureOptions) -> None:
        if opts.every_frame and source.live:
            raise ConfigError(
                f"camera {opts.camera}: every_frame applies to files and recordings, not live sources"
            )
        self.rt = rt
        self.source = source
        self.opts = opts
        self.stop = rt.stopper
        self.seq = 0
        self.reconnects = 0
        self.state = "starting"
        self.error = ""
        self.rt.extra = {"camera": opts.camera}
        self._update_extra()

    def _update_extra(self) -> None:
        self.rt.extra.update(
            {
                "camera": self.opts.camera,
                "source": self.source.describe(),
                "kind": self.source.kind,
                "state": self.state,
                "error": self.error,
                "reconnects": self.reconnects,
                "frames": self.seq,
            }
        )

    def _beat(self) -> None:
        self._update_extra()
        try:
            self.rt.heartbeat()
            self.rt.on_connected()
        except CONNECTION_ERRORS as exc:
            self.rt.connected = False
            log.debug("heartbeat failed: %s", exc)

    def _set_state(self, state: str, error: str = "") -> None:
        if state != self.state or error != self.error:
            (log.warning if error else log.info)("camera %s: %s %s", self.opts.camera, state, error)
        self.state, self.error = state, error
        self._update_extra()

    def _open_with_backoff(self) -> bool:
        cfg = self.rt.settings.capture
        delay = cfg.reconnect_initial_s
        while not self.stop.is_set():
            try:
                self.source.open()
                self._set_state("streaming")
                return True
            except SourceError as exc:
                self._set_state("reconnecting", str(exc))
                self._beat()
                self.reconnects += 1
                self.stop.wait(delay)
                delay = min(delay * 2, cfg.reconnect_max_s)
        return False

    def _encode(self, cap: Captured) -> tuple[bytes, int, int] | None:
        if cap.jpeg is not None:
            return cap.jpeg, cap.width, cap.height
        image = cap.image
        assert image is not None
        h, w = image.shape[:2]
        if w > self.opts.max_width:
            scale = self.opts.max_width / w
            image = cv2.resize(
                image, (self.opts.max_width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA
            )
            h, w = image.shape[:2]
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.opts.jpeg_quality])
        if not ok:
            return None
        return buf.tobytes(), w, h

    def _publish(self, jpeg: bytes, w: int, h: int) -> None:
        limit = self.rt.settings.streams.max_frame_bytes
        if len(jpeg) > limit:
            self.rt.counters.inc("skipped")
            self._set_state("streaming", f"frame of {len(jpeg)} bytes over max_frame_bytes {limit}; dropped")
            return
        frame = Frame(
            camera=self.opts.camera,
            seq=self.seq,
            ts=time.time(),
            width=w,
            height=h,
            jpeg=jpeg,
            live=not self.opts.every_frame,
        )
        try:
            payload = frame.encode()
            self.rt.bus.publish(self.rt.keys.frames, payload)
            self.rt.bus.set_latest(self.rt.keys.latest_frame(self.opts.camera), payload, ttl_s=30)
            self.rt.counters.inc("processed")
            self.rt.counters.inc("published")
            self.rt.on_connected()
        except CONNECTION_ERRORS as exc:
            # Live video cannot wait for Redis: drop the frame, keep reading, back off a little.
            self.rt.counters.inc("errors")
            if self.rt.connected:
                log.warning("Redis unavailable (%s); dropping frames until it returns", exc)
            self.rt.connected = False
            self.stop.wait(min(self.rt.backoff.next(), 1.0))
        self.seq += 1

    def run(self) -> int:
        opts = self.opts
        if not self._open_with_backoff():
            return 0
        period = 1.0 / opts.fps if opts.fps > 0 else 0.0
        if period == 0.0 and not self.source.live and self.source.kind != "recording":
            period = 1.0 / (self.source.native_fps or 25.0)
        period /= max(opts.speed, 1e-3)
        start = time.monotonic()
        start_offset: float | None = None
        n = 0
        last_pub = 0.0
        while not self.stop.is_set():
            try:
                cap = self.source.read()
            except SourceEnded:
                if opts.loop:
                    self.source.close()
                    if not self._open_with_backoff():
                        break
                    start, start_offset, n = time.monotonic(), None, 0
                    continue
                self._set_state("ended")
                self._beat()
                log.info("camera %s: source ended after %d frames", opts.camera, self.seq)
                break
            except SourceError as exc:
                self.source.close()
                self._set_state("reconnecting", str(exc))
                if not self._open_with_backoff():
                    break
                start, start_offset, n = time.monotonic(), None, 0
                continue
            now = time.monotonic()
            if self.source.live:
                # Read everything the camera gives (so its buffer never lags) but publish at most fps.
                if period and now - last_pub < period * 0.95:
                    continue
                last_pub = now
            else:
                if cap.offset is not None and opts.fps <= 0:
                    if start_offset is None:
                        start_offset = cap.offset
                    due = start + (cap.offset - start_offset) / max(opts.speed, 1e-3)
                else:
                    due = start + n * period
                if now - due > 1.0:  # far behind (a stall): re-anchor rather than burst
                    start, start_offset, n = now, cap.offset, 0
                    due = now
                wait_until(due, self.stop.wait)
                n += 1
            encoded = self._encode(cap)
            if encoded is None:
                self.rt.counters.inc("errors")
                continue
            self._publish(*encoded)
            self._beat()
            if opts.max_frames and self.seq >= opts.max_frames:
                break
        self.source.close()
        self._update_extra()
        with contextlib.suppress(CONNECTION_ERRORS):
            self.rt.heartbeat(force=True)
        self.rt.close()
        return 0


def run(
    settings: Settings,
    camera_id: str,
    client: redis.Redis | None = None,
    stopper: Stopper | None = None,
) -> int:
    setup_logging(settings.runtime.log_level)
    cam = settings.camera(camera_id)
    stopper = stopper or Stopper().install()
    rt = Runtime("capture", settings, client, stopper, name_suffix=camera_id)
    source = open_source(cam.source, lambda p: settings.resolve_path(p))
    return CaptureLoop(rt, source, CaptureOptions.from_camera(cam)).run()
