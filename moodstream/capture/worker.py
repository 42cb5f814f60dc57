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
from collections.abc import Callable, Iterator

from moodstream.capture.encoding import encode_jpeg
from moodstream.capture.pacing import CaptureOptions, Pacer
from moodstream.capture.sources import Captured, Source, SourceEnded, SourceError, open_source
from moodstream.capture.view import ViewStream
from moodstream.config import ConfigError, Settings
from moodstream.runtime.backoff import OnceLog
from moodstream.runtime.redact import redact, register_url_secrets
from moodstream.runtime.worker import Runtime, Stopper, setup_logging
from moodstream.streams import capture_frames, consumer_groups
from moodstream.streams.client import CONNECTION_ERRORS, Client
from moodstream.streams.schemas import CaptureStatus, Frame
from moodstream.streams.stages import consumers

log = logging.getLogger(__name__)


class CaptureLoop:
    """One camera's frames into the frames stream, at its rate, through outages of the camera and Redis.

    ``clock`` stamps each frame's ``ts``: metadata for readers, since staleness is judged by Redis's
    clock; a host whose clock is off is exactly what callers may pass in.
    """

    def __init__(
        self,
        rt: Runtime,
        source: Source,
        opts: CaptureOptions,
        clock: Callable[[], float] = time.time,
        view: ViewStream | None = None,
    ) -> None:
        if opts.every_frame and source.live:
            raise ConfigError(
                f"camera {opts.camera}: every_frame applies to files and recordings, not live sources"
            )
        self.rt = rt
        self.source = source
        self.opts = opts
        self.clock = clock
        self.view = view  # the stream viewers see, when detection reads another (detect_source)
        self.stop = rt.stopper
        self.seq = 0
        self.pass_start = 0  # the seq of this pass's first frame (a looping file starts a pass per loop)
        self.pacer: Pacer | None = None
        self.cursor: int | None = None  # where this capture's last kept frame left the cursor in Redis
        self.reconnects = 0
        self.decode = DecodeMeter()
        self.decoder = ""  # what the source decodes on, once opened
        self.state = "starting"
        self.error = ""
        self._once = OnceLog(log, logging.ERROR)
        self._update_status()

    def _update_status(self) -> None:
        self.rt.detail = CaptureStatus(
            camera=self.opts.camera,
            source=self.source.describe(),
            kind=self.source.kind,
            state=self.state,
            error=self.error,
            reconnects=self.reconnects,
            frames=self.seq,
            decoder=self.decoder,
            decode_ms=round(self.decode.ms, 3),
            last_frame_ts=self.decode.last_frame_ts,
            view_state=self.view.state if self.view is not None else "",
        )

    def _beat(self) -> None:
        self.rt.liveness.passed("main")  # called from every turn of the loop, backing off included
        self._update_status()
        try:
            if self.rt.heartbeat():  # only a heartbeat that reached Redis says it is back
                self.rt.on_connected()
        except CONNECTION_ERRORS as exc:
            self._lost(exc)
        except Exception as exc:  # noqa: BLE001 - e.g. a key of the wrong type: report, never exit
            self._unexpected("heartbeat", exc)

    def _unexpected(self, what: str, exc: BaseException) -> None:
        """Any other error (a Redis ResponseError, a bug): counted, logged once per kind with its traceback."""
        self.rt.counters.inc("errors")
        self._once(
            f"{what}:{type(exc).__name__}:{exc}",
            "camera %s: %s failed: %s",
            self.opts.camera,
            what,
            exc,
            exc_info=exc,
        )

    def _wait_beating(self, seconds: float) -> None:
        """Wait, writing the heartbeat meanwhile: a camera that backs off for 15 s stays listed."""
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.stop.wait(min(left, self.rt.settings.runtime.heartbeat_s))
            self._beat()

    def _lost(self, exc: BaseException) -> None:
        """Redis went away: say so once, then drop frames quietly until it returns."""
        if self.rt.connected:
            log.warning("Redis unavailable (%s); dropping frames until it returns", exc)
        self.rt.connected = False
        self.rt.report_health(redis=False, error=type(exc).__name__)

    def _set_state(self, state: str, error: str = "") -> None:
        error = redact(error)  # it goes into the heartbeat, and from there to every viewer
        if state != self.state or error != self.error:
            (log.warning if error else log.info)("camera %s: %s %s", self.opts.camera, state, error)
        self.state, self.error = state, error
        self._update_status()

    def _open_with_backoff(self) -> bool:
        cfg = self.rt.settings.capture

        def failed(reason: str, delay: float) -> None:
            self._set_state("reconnecting", reason)
            self._beat()
            self.reconnects += 1
            self._wait_beating(delay)

        opened = self.source.open_with_backoff(
            cfg.reconnect_initial_s, cfg.reconnect_max_s, self.stop.is_set, failed
        )
        if opened:
            self._say_decoder()
            self._set_state("streaming")
        return opened

    def _say_decoder(self) -> None:
        """One line when the decoder is known or changes: hardware, or software and why."""
        decoder = self.source.decoder
        if decoder == self.decoder:
            return
        self.decoder = decoder
        wanted = self.rt.settings.capture.hwaccel
        if decoder != "software":
            log.info("camera %s: decoding on %s (hardware)", self.opts.camera, decoder)
        elif self.source.kind in ("file", "url") and wanted != "none":
            why = "none found" if wanted == "auto" else f"{wanted} unavailable"
            log.info("camera %s: decoding in software (hardware decode: %s)", self.opts.camera, why)

    def _readers_backlog(self) -> int:
        """Frames not finished by every reader (after deleting those that are), plus any newer ones."""
        groups = [s.group for s in consumers() if s.reads == "frames" and s.group]
        frames = self.rt.keys.camera_stream("frames", self.opts.camera)
        return consumer_groups.trim_finished(self.rt.bus, frames, groups)

    def _wait_for_room(self) -> None:
        """Backpressure for frames that must all be processed (files, recordings, replays): finished frames
        are deleted, and while half of ``frames_maxlen`` remain, capture waits. MAXLEN trimming therefore
        never reaches an unread (or pending) frame, whatever the replay speed and however slow the
        detectors, even while a dead detector's frames wait to be claimed."""
        bound = max(1, self.rt.settings.streams.frames_maxlen // 2)
        waiting = False
        while not self.stop.is_set():
            try:
                if self._readers_backlog() < bound:
                    break
            except CONNECTION_ERRORS:
                break  # the publish will meet it, and handle it
            if not waiting:  # counted in the heartbeat, not logged: at 50x it happens every frame
                waiting = True
                self.rt.counters.inc("backpressure_waits")
            self.stop.wait(0.05)
            self._beat()

    def _publish(self, jpeg: bytes, w: int, h: int) -> None:
        if self.opts.every_frame:
            self._wait_for_room()
        limit = self.rt.settings.streams.max_frame_bytes
        if len(jpeg) > limit:
            self.rt.counters.inc("skipped")
            self._set_state("streaming", f"frame of {len(jpeg)} bytes over max_frame_bytes {limit}; dropped")
            self.seq += 1
            return
        frame = Frame(
            camera=self.opts.camera,
            seq=self.seq,
            ts=self.clock(),  # metadata: staleness is judged by Redis's clock
            width=w,
            height=h,
            jpeg=jpeg,
            live=not self.opts.every_frame,
        )
        kept = self.seq if self.opts.every_frame else None
        try:
            if kept is None:
                capture_frames.publish_live(
                    self.rt.bus, self.opts.camera, frame.encode(), latest=self.opts.for_viewers
                )
            elif not self._publish_kept(frame):
                return  # Redis holds fewer frames than we sent: the source was rewound to its cursor
            self.rt.counters.inc("processed")
            self.rt.counters.inc("published")
            self.rt.on_connected()
        except CONNECTION_ERRORS as exc:
            self.rt.counters.inc("errors")
            self._lost(exc)
            if kept is not None:  # this frame, and any Redis lost on a restart, are read again
                self._resume_after_outage()
                return
            # Live video cannot wait for Redis: drop the frame, keep reading, back off a little.
            self.stop.wait(min(self.rt.backoff.next(), 1.0))
        except Exception as exc:  # noqa: BLE001 - a non-connection Redis error: the next frame may pass
            self._unexpected("publish", exc)
            self.stop.wait(min(self.rt.backoff.next(), 1.0))
        self.seq += 1

    def _publish_kept(self, frame: Frame) -> bool:
        """Publish a frame that must not be lost, checking that Redis still holds every earlier one."""
        camera, latest = self.opts.camera, self.opts.for_viewers
        done, held = capture_frames.publish_kept(
            self.rt.bus, camera, frame.encode(), frame.seq, self.cursor, latest=latest
        )
        if not done and held is not None and held < frame.seq:
            log.warning(
                "camera %s: Redis holds frames only up to %d of %d; publishing the rest again",
                self.opts.camera,
                held - 1,
                frame.seq - 1,
            )
            self._seek(held)
            return False
        if not done:  # Redis restarted empty, or another capture wrote: nothing to go back to
            log.warning(
                "camera %s: the frame cursor in Redis moved (to %s); going on", self.opts.camera, held
            )
            capture_frames.publish_kept(self.rt.bus, camera, frame.encode(), frame.seq, None, latest=latest)
        self.cursor = frame.seq + 1
        return True

    def _resume_after_outage(self) -> None:
        """Wait for Redis, then re-read the source from the first frame Redis does not hold.

        A Redis restarted from its AOF (``appendfsync everysec``) may have lost its last second of
        frames along with the cursor past them; one restarted empty holds no cursor, and we go on
        from the frame that failed."""
        cursor: int | None = None
        while not self.stop.is_set():
            self.stop.wait(min(self.rt.backoff.next(), 1.0))
            try:
                cursor = capture_frames.capture_cursor(self.rt.bus, self.opts.camera)
                break
            except CONNECTION_ERRORS:
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. a wrong-type key: report, keep trying
                self._unexpected("resume", exc)
        if self.stop.is_set():
            return
        self.rt.on_connected()
        target = self.seq if cursor is None else min(cursor, self.seq)
        self.cursor = cursor if cursor is not None and cursor <= self.seq else None
        if target != self.seq:
            log.warning(
                "camera %s: Redis came back without frames %d-%d; publishing them again",
                self.opts.camera,
                target,
                self.seq - 1,
            )
        self._seek(target)

    def _seek(self, target: int) -> None:
        """Reopen the source and read past frames until the next one read is frame ``target``."""
        self.source.close()
        if not self._open_with_backoff():
            return
        skip = max(0, target - self.pass_start)
        for _ in range(skip):
            try:
                self.source.grab()  # skipped frames are never converted
            except (SourceEnded, SourceError):
                break  # the source changed under us: go on from where it is
        self.seq = self.pass_start + skip
        if self.pacer is not None:
            self.pacer.restart()

    def run(self) -> int:
        if self.view is not None:
            self.view.start()
        if not self._open_with_backoff():
            self._finish()
            return 0
        self.pacer = Pacer(self.opts, self.source)
        while not self.stop.is_set():
            cap = self._next_frame()
            if cap is None:
                if self.state == "ended":
                    break
                continue
            encoded = encode_jpeg(cap, self.opts.max_width, self.opts.jpeg_quality)
            if encoded is None:
                self.rt.counters.inc("errors")
                continue
            self._publish(*encoded)
            self._beat()
            if self.opts.max_frames and self.seq >= self.opts.max_frames:
                break
        self._finish()
        return 0

    def _next_frame(self) -> Captured | None:
        """The next frame to publish, or None: dropped (live), or the source ended or failed and was
        reopened (state ``ended`` when it will not be)."""
        assert self.pacer is not None
        try:
            with self.decode.timing():
                self.source.grab()
            self.rt.counters.inc("decoded")
            if self.source.live and not self.pacer.keep_live():
                self.rt.counters.inc("dropped")  # decoded only: never converted
                return None
            with self.decode.timing(frame=False):
                cap = self.source.retrieve()
        except SourceEnded:
            if not self.opts.loop:
                self._set_state("ended")
                self._beat()
                log.info("camera %s: source ended after %d frames", self.opts.camera, self.seq)
                return None
            self._reopen()
            return None
        except SourceError as exc:
            self.source.close()
            self._set_state("reconnecting", str(exc))
            self._reopen()
            return None
        if not self.source.live:
            self.pacer.wait_due(cap, self.stop.wait)
        return cap

    def _reopen(self) -> None:
        """Open the source again (a file's next loop, a camera back after a failure)."""
        assert self.pacer is not None
        self.source.close()
        if not self._open_with_backoff():
            return  # asked to stop
        self.pass_start = self.seq
        self.pacer.restart()

    def _finish(self) -> None:
        if self.view is not None:
            self.stop.event.set()  # the view thread ends with capture, whichever way capture ended
            self.view.join(timeout=2 * self.rt.settings.capture.read_timeout_s + 1)
        self.source.close()
        self._update_status()
        with contextlib.suppress(CONNECTION_ERRORS):
            self.rt.heartbeat(force=True)
        self.rt.close()


class DecodeMeter:
    """The CPU a source's frames cost to take in: the process's CPU (all threads: FFmpeg decodes on
    its own) while the loop grabs and converts, per frame grabbed, as a moving average. Waiting for a
    live camera's next frame costs no CPU, so it counts nothing; encoding and publishing, outside these
    calls, are not counted either."""

    ALPHA = 0.05

    def __init__(self) -> None:
        self.ms = 0.0
        self.last_frame_ts = 0.0  # wall clock of the last frame grabbed: status shows its age
        self._pending = 0.0

    @contextlib.contextmanager
    def timing(self, frame: bool = True) -> Iterator[None]:
        """Meter one call; ``frame`` marks a grab (a frame's cost is its grab plus any conversion)."""
        start = time.process_time()
        yield
        spent = (time.process_time() - start) * 1000.0
        if not frame:  # a conversion: added to the frame grabbed just before
            self.ms += self.ALPHA * spent
            return
        self.last_frame_ts = time.time()
        self.ms = spent if self.ms == 0.0 else self.ms + self.ALPHA * (spent - self.ms)


def run(
    settings: Settings,
    camera_id: str,
    client: Client | None = None,
    stopper: Stopper | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    setup_logging(settings.runtime.log_level)
    cam = settings.camera(camera_id)
    for spec in (cam.source, cam.detect_source):
        register_url_secrets(spec)  # masked alone too, wherever FFmpeg quotes part of it
    stopper = stopper or Stopper().install()
    rt = Runtime("capture", settings, client, stopper, name_suffix=camera_id)
    capture = settings.capture

    def source(spec: str) -> Source:
        return open_source(
            spec,
            lambda p: settings.resolve_path(p),
            timeout_ms=round(capture.read_timeout_s * 1000),
            transport=capture.rtsp_transport,
            hwaccel=capture.hwaccel,
        )

    opts = CaptureOptions.from_camera(cam)
    # A camera whose faces are blurred or areas masked is shown by the detector's frames, and an
    # aggregate-only one not at all: its raw frames never become what viewers see.
    opts.for_viewers = settings.protection(camera_id).raw_frames_leave
    if not cam.detect_source or not opts.for_viewers:
        return CaptureLoop(rt, source(cam.detect_source or cam.source), opts, clock).run()
    opts.for_viewers = False
    view = ViewStream(rt, source(cam.source), opts, clock)
    return CaptureLoop(rt, source(cam.detect_source), opts, clock, view).run()
