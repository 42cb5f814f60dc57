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
from moodstream.detector.crops import face_crops
from moodstream.detector.finder import FaceFinder, Image
from moodstream.detector.jpeg import jpeg_size
from moodstream.detector.methods import decode_image, method_for
from moodstream.modelspec import ModelError, ModelSpec, resolve_model_dir
from moodstream.runtime.worker import Stopper, StreamWorker, entry_age_s, setup_logging
from moodstream.streams import detector_tracks
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

    def _image(self, entry: Entry, frame: Frame) -> Image | None:
        """The frame at full resolution, or None (dead-lettered) when it cannot or must not be decoded."""
        limits = self.settings.streams
        dims = jpeg_size(frame.jpeg)
        if dims is None:
            self.reject(entry, "frame: cannot read JPEG header")
            return None
        if dims[0] * dims[1] > limits.max_frame_pixels:
            self.reject(
                entry, f"frame: {dims[0]}x{dims[1]} exceeds max_frame_pixels {limits.max_frame_pixels}"
            )
            return None
        assert self.finder is not None
        image = decode_image(frame.jpeg, self.finder.method.color)
        if image is None:
            self.reject(entry, "frame: JPEG does not decode")
        return image

    def _detect(
        self, entry: Entry, frame: Frame, state: DetectorState
    ) -> tuple[Detections, DetectorState] | None:
        image = self._image(entry, frame)
        if image is None:
            return None
        assert self.finder is not None
        after, how, found = self.finder.find(image, frame.seq, state)
        self.counters.inc(f"{how}_scans")  # full, region, still, miss (a region search lost a face)
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
        for entry, frame in keep:
            try:
                done = self._detect(entry, frame, states[frame.camera])
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
