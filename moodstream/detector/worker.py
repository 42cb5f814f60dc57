"""The detector loop: frames in, detections (boxes plus model-sized crops) out.

Any number of instances share the frames group. Each camera is scanned in
full every ``full_scan_every`` frames and searched only around its known
faces in between (regions.py); where those faces were is kept in Redis and
moved only forward, so instances that share a camera, or one that takes over
after a crash, search where the last one found them. Live frames
that have gone stale, or that a newer frame of the same camera in the same
read supersedes, are acked and counted as skipped: live video must never fall
behind. Frames marked ``live=False`` (every_frame files and replays) are all
processed.
"""

from __future__ import annotations

import logging
import time

import cv2

from moodstream.config import Settings
from moodstream.config.privacy import Protection
from moodstream.detector.crops import face_crops
from moodstream.detector.finder import Box, FaceFinder, Image
from moodstream.detector.jpeg import JpegHeaderError, read_jpeg_size
from moodstream.detector.methods import decode_image, method_for
from moodstream.detector.protect import black_out, mask_polygons, protected_jpeg
from moodstream.modelspec import ModelError, ModelSpec, resolve_model_dir
from moodstream.runtime.worker import Stopper, StreamWorker, entry_age_s, setup_logging
from moodstream.streams import capture_frames, detector_tracks, viewable
from moodstream.streams.bus import Entry
from moodstream.streams.client import Client
from moodstream.streams.schemas import Detections, DetectorState, Face, Frame

log = logging.getLogger(__name__)


def crop_size_for(settings: Settings) -> int:
    base = settings.resolve_path(".") if settings.source_path else None
    try:
        return ModelSpec.load(resolve_model_dir(settings.classifier.model, base)).size
    except ModelError as exc:
        log.warning("%s; using 64x64 crops", exc)
        return 64


class DetectorWorker(StreamWorker):
    stage = "detector"

    def __init__(self, settings: Settings, client: Client | None = None, stopper: Stopper | None = None):
        super().__init__(settings, client, stopper)
        self.cfg = settings.detector
        self.read_count = self.cfg.batch
        self.finder: FaceFinder | None = None
        self.crop_size = 64
        self._protections: dict[str, Protection] = {}
        self._shown_at: dict[str, float] = {}  # monotonic: when each camera's viewers' frame was last made

    def setup(self) -> None:
        self.finder = FaceFinder(method_for(self.cfg), self.cfg)
        self.crop_size = crop_size_for(self.settings)
        cv2.setNumThreads(1)  # instances scale out as processes; one thread each avoids oversubscription

    def _select(self, frames: list[tuple[Entry, Frame]]) -> tuple[list[tuple[Entry, Frame]], list[Entry]]:
        """Keep every non-live frame, and for live ones only the newest fresh frame per camera (fresh by
        Redis's clock: the entry id against TIME, never the capture host's clock)."""
        now = self.redis_clock.now()
        max_age = self.cfg.max_frame_age_ms / 1000.0
        newest: dict[str, int] = {}
        for _, f in frames:
            if f.live:
                newest[f.camera] = max(newest.get(f.camera, -1), f.seq)
        keep, skip = [], []
        for entry, f in frames:
            if f.live and (f.seq != newest[f.camera] or entry_age_s(entry.id, now) > max_age):
                skip.append(entry)
            else:
                keep.append((entry, f))
        return keep, skip

    def _image(self, entry: Entry, frame: Frame, color: bool = False) -> Image | None:
        """The frame at full resolution, its masks black, or None (dead-lettered) when it cannot or must
        not be decoded. ``color``: also in colour (for the viewers' frame) whatever the method needs."""
        limits = self.settings.streams
        try:
            dims = read_jpeg_size(frame.jpeg)
        except JpegHeaderError as exc:  # refused as libjpeg would read it differently, or not at all
            self.reject(entry, f"frame: JPEG header: {exc}")
            return None
        if dims[0] * dims[1] > limits.max_frame_pixels:
            self.reject(
                entry, f"frame: {dims[0]}x{dims[1]} exceeds max_frame_pixels {limits.max_frame_pixels}"
            )
            return None
        assert self.finder is not None
        image = decode_image(frame.jpeg, color or self.finder.method.color)
        if image is None:
            self.reject(entry, "frame: JPEG does not decode")
            return None
        masks = self.protection(frame.camera).masks
        if masks:  # nothing inside a mask is detected, classified or shown
            h, w = image.gray.shape[:2]
            polygons = mask_polygons(masks, w, h)
            black_out(image.gray, polygons)
            if image.bgr is not None:
                black_out(image.bgr, polygons)
        return image

    def protection(self, camera: str) -> Protection:
        if camera not in self._protections:
            self._protections[camera] = self.settings.protection(camera)
        return self._protections[camera]

    def _watched(self, cameras: set[str]) -> set[str]:
        """The cameras whose viewers' frame this worker must make now: protected, watched, and due at
        the rate the dashboard sends video (``[dashboard] max_fps``), not the camera's."""
        now, gap = time.monotonic(), 0.9 / self.settings.dashboard.max_fps
        need = sorted(
            c
            for c in cameras
            if (p := self.protection(c)).frames_need_work
            and not p.aggregate
            and now - self._shown_at.get(c, float("-inf")) >= gap
        )
        watched = viewable.watched(self.bus, need) if need else set()
        for camera in watched:
            self._shown_at[camera] = now
        return watched

    def _show(self, frame: Frame, image: Image, boxes: list[Box]) -> None:
        """Publish the frame as viewers may see it: masks black, faces (this frame's, and the last
        frame's where a region search may have missed one) blurred beyond recognition."""
        assert image.bgr is not None
        started = time.process_time()
        jpeg = protected_jpeg(image.bgr, boxes, self.protection(frame.camera), self.cfg.view_jpeg_quality)
        shown = Frame(frame.camera, frame.seq, frame.ts, frame.width, frame.height, jpeg, frame.live)
        capture_frames.publish_view(self.bus, frame.camera, shown.encode())
        self.counters.inc("protected_frames")
        self.counters.inc("protect_cpu_us", round((time.process_time() - started) * 1e6))

    def _detect(
        self, entry: Entry, frame: Frame, state: DetectorState, shown: bool = False
    ) -> tuple[Detections, DetectorState] | None:
        image = self._image(entry, frame, color=shown)
        if image is None:
            return None
        assert self.finder is not None
        after, how, found = self.finder.find(image, frame.seq, state)
        self.counters.inc(f"{how}_scans")  # full, region, still, miss (a region search lost a face)
        if shown:
            self._show(frame, image, [f.box for f in found] + state.priors())
        crops = face_crops(image.gray, found, self.crop_size, self.cfg.align)
        self.counters.inc("faces", len(found))
        h, w = image.gray.shape[:2]
        det = Detections(
            camera=frame.camera,
            seq=frame.seq,
            ts=frame.ts,
            width=w,
            height=h,
            crop_size=self.crop_size,
            faces=[Face(box=f.box, crop=c.tobytes()) for f, c in zip(found, crops, strict=True)],
            live=frame.live,
        )
        return det, after

    def _states(self, cameras: set[str]) -> dict[str, DetectorState]:
        """Where each camera's faces were last found (any instance may have found them)."""
        saved = detector_tracks.load(self.bus, sorted(cameras))
        return {c: self.camera_state(c, saved.get(c), DetectorState) for c in cameras}

    def process(self, entries: list[Entry]) -> None:
        max_bytes = self.settings.streams.max_frame_bytes + 4096
        frames = [(e, f) for e in entries if (f := self.decode(e, Frame, max_bytes)) is not None]
        keep, skip = self._select(frames)
        for stream, skipped in self.by_stream(skip).items():
            self.bus.ack(stream, self.group, [e.id for e in skipped])
        self.counters.inc("skipped", len(skip))
        states = self._states({f.camera for _, f in keep}) if keep else {}
        shown = self._watched(set(states))
        for entry, frame in keep:
            try:
                done = self._detect(entry, frame, states[frame.camera], frame.camera in shown)
            except Exception as exc:  # a frame that breaks OpenCV must not break the worker
                log.exception("detection failed")
                self.reject(entry, f"detection failed: {exc.__class__.__name__}: {exc}")
                continue
            if done is None:
                continue
            det, found = done
            if found.seq > states[frame.camera].seq:  # the next frame of this read searches around these
                states[frame.camera] = found
            # Publish each frame as soon as it is done: holding a read's worth of frames adds latency.
            tracks = (frame.camera, frame.seq, found.encode())
            ack = (entry.stream, self.group, [entry.id])
            detector_tracks.publish_and_ack(self.bus, self.out_stream(entry), [det.encode()], ack, tracks)
            self.counters.inc("processed")
            self.counters.inc("published")
            self.counters.observe_latency((time.time() - frame.ts) * 1000.0)


def run(settings: Settings, client: Client | None = None, stopper: Stopper | None = None) -> int:
    setup_logging(settings.runtime.log_level)
    return DetectorWorker(settings, client, stopper or Stopper().install()).run()
