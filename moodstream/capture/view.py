"""A camera's viewers' stream when detection reads another one (``detect_source``, e.g. the sub stream).

IP cameras send a full-resolution main stream and a small sub stream of the same scene. Detection and
classification gain nothing from 1080p faces they downscale anyway, while decoding and re-encoding it
costs several times the sub stream's CPU; viewers, though, want the sharp picture. So capture analyses
``detect_source`` and, on this thread, reads ``source`` for the page alone: its frames go only to the
camera's latest-frame key (never the frames stream), at most at the camera's ``fps``, and the
dashboard scales the boxes found on the sub stream onto them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from moodstream.capture.encoding import encode_jpeg
from moodstream.capture.pacing import CaptureOptions, Pacer
from moodstream.capture.sources import Source, SourceEnded, SourceError
from moodstream.runtime.backoff import OnceLog
from moodstream.runtime.redact import redact
from moodstream.runtime.worker import Runtime
from moodstream.streams import capture_frames
from moodstream.streams.client import CONNECTION_ERRORS
from moodstream.streams.schemas import Frame

log = logging.getLogger(__name__)


class ViewStream(threading.Thread):
    """Reads the viewers' source until the runtime's stop event; reconnects as capture does."""

    def __init__(self, rt: Runtime, source: Source, opts: CaptureOptions, clock: Callable[[], float]) -> None:
        super().__init__(name=f"view-{opts.camera}", daemon=True)
        self.rt, self.source, self.opts, self.clock = rt, source, opts, clock
        self.stop = rt.stopper
        self.state = "starting"
        self.seq = 0
        self._once = OnceLog(log, logging.WARNING)

    def _set_state(self, state: str, error: str = "") -> None:
        shown = f"{state}: {redact(error)}" if error else state
        if shown != self.state:
            (log.warning if error else log.info)("camera %s: view stream %s", self.opts.camera, shown)
        self.state = shown

    def _open(self) -> bool:
        cfg = self.rt.settings.capture

        def failed(reason: str, delay: float) -> None:
            self._set_state("reconnecting", reason)
            self.stop.wait(delay)

        opened = self.source.open_with_backoff(
            cfg.reconnect_initial_s, cfg.reconnect_max_s, self.stop.is_set, failed
        )
        if opened:
            self._set_state("streaming")
        return opened

    def run(self) -> None:
        pacer: Pacer | None = None
        while not self.stop.is_set():
            if pacer is None:
                if not self._open():
                    break
                pacer = Pacer(self.opts, self.source)
            try:
                self._step(pacer)
            except SourceEnded:
                pacer = None  # a file's end: the view loops, whatever detection does
                self.source.close()
            except SourceError as exc:
                pacer = None
                self.source.close()
                self._set_state("reconnecting", str(exc))
            except Exception as exc:  # noqa: BLE001 - the view must never take capture down
                self.rt.counters.inc("errors")
                self._once(type(exc).__name__, "camera %s: view stream: %s", self.opts.camera, exc)
                self.stop.wait(min(self.rt.backoff.next(), 1.0))
        self.source.close()

    def _step(self, pacer: Pacer) -> None:
        self.source.grab()
        self.rt.counters.inc("view_decoded")
        if self.source.live and not pacer.keep_live():
            return
        cap = self.source.retrieve()
        if not self.source.live:
            pacer.wait_due(cap, self.stop.wait)
        encoded = encode_jpeg(cap, self.opts.max_width, self.opts.jpeg_quality)
        if encoded is None:
            return
        jpeg, w, h = encoded
        frame = Frame(
            camera=self.opts.camera, seq=self.seq, ts=self.clock(), width=w, height=h, jpeg=jpeg, live=True
        )
        self.seq += 1
        try:
            capture_frames.publish_view(self.rt.bus, self.opts.camera, frame.encode())
            self.rt.counters.inc("view_published")
        except CONNECTION_ERRORS:
            self.stop.wait(min(self.rt.backoff.next(), 1.0))  # capture's loop reports Redis's absence
