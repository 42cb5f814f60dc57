"""The classifier loop: gather faces across cameras into batches, classify, publish.

A batch goes when it holds ``max_batch`` faces or ``max_wait_ms`` after its
first face arrived, whichever comes first (the rule of DeepStream's stream
muxer): full batches under load, bounded latency when quiet. Frames without
faces pass straight through so downstream stages see every frame's outcome.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from moodstream.classifier.predictor import Predictor
from moodstream.config import Settings
from moodstream.modelspec import ModelSpec, resolve_model_dir
from moodstream.runtime.worker import Stopper, StreamWorker, entry_age_s, setup_logging
from moodstream.streams.bus import Entry
from moodstream.streams.client import Client
from moodstream.streams.schemas import Classified, ClassifierStatus, Detections, Face

log = logging.getLogger(__name__)


def load_predictor(settings: Settings) -> Predictor:
    base = settings.resolve_path(".") if settings.source_path else None
    spec = ModelSpec.load(resolve_model_dir(settings.classifier.model, base))
    c = settings.classifier
    predictor = Predictor(spec, c.max_batch, c.device, c.runtime)
    predictor.warmup()
    return predictor


class ClassifierWorker(StreamWorker):
    stage = "classifier"

    def __init__(
        self,
        settings: Settings,
        client: Client | None = None,
        stopper: Stopper | None = None,
        predictor: Predictor | None = None,
    ):
        super().__init__(settings, client, stopper)
        self.cfg = settings.classifier
        self.predictor = predictor
        self.status = ClassifierStatus(model="", device="", batches=0)
        self.pending: list[tuple[Entry, Detections]] = []
        self.pending_faces = 0
        self.first_face_at: float | None = None

    def setup(self) -> None:
        if self.predictor is None:
            self.predictor = load_predictor(self.settings)
        self.status = ClassifierStatus(
            model=self.predictor.spec.name, device=self.predictor.device, batches=0
        )
        self.rt.detail = self.status

    def forget_in_hand(self) -> None:
        self.pending, self.pending_faces, self.first_face_at = [], 0, None

    def block_ms(self) -> int:
        if self.first_face_at is None:
            return 1000
        remaining = self.first_face_at + self.cfg.max_wait_ms / 1000.0 - time.monotonic()
        return max(1, int(remaining * 1000))

    @property
    def read_count(self) -> int:  # type: ignore[override]
        return max(1, self.cfg.max_batch - self.pending_faces)

    def process(self, entries: list[Entry]) -> None:
        for entry in entries:
            det = self.decode(entry, Detections)
            if det is None:
                continue
            if det.live and entry_age_s(entry.id, self.redis_clock.now()) > self.cfg.max_age_ms / 1000.0:
                self.bus.ack(entry.stream, self.group, [entry.id])
                self.counters.inc("skipped")
                continue
            self.pending.append((entry, det))
            if det.faces and self.first_face_at is None:
                self.first_face_at = time.monotonic()
            self.pending_faces += len(det.faces)
        if self.pending_faces >= self.cfg.max_batch:
            self.flush()

    def idle(self) -> None:
        if not self.pending:
            return
        if self.pending_faces == 0 or (
            self.first_face_at is not None
            and time.monotonic() - self.first_face_at >= self.cfg.max_wait_ms / 1000.0
        ):
            self.flush()

    def drain(self) -> None:
        if self.pending:
            self.flush()

    def flush(self) -> None:
        assert self.predictor is not None
        batch, self.pending = self.pending, []
        self.pending_faces, self.first_face_at = 0, None
        crops = [
            np.frombuffer(f.crop, np.uint8).reshape(d.crop_size, d.crop_size)
            for _, d in batch
            for f in d.faces
        ]
        size = self.predictor.spec.size
        if crops and any(c.shape[0] != size for c in crops):
            import cv2

            crops = [
                c if c.shape[0] == size else cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA)
                for c in crops
            ]
        probs = self.predictor.predict_crops(np.stack(crops)) if crops else np.zeros((0, 7), np.float32)
        outputs: dict[str, list[bytes]] = {}  # per input stream: a batch may span partitions
        ids: dict[str, list[str]] = {}
        i = 0
        for entry, det in batch:
            faces = []
            for face in det.faces:
                faces.append(Face(box=face.box, probs=[float(p) for p in probs[i]]))
                i += 1
            out = Classified(
                camera=det.camera,
                seq=det.seq,
                ts=det.ts,
                width=det.width,
                height=det.height,
                faces=faces,
                model=self.predictor.spec.name,
            )
            outputs.setdefault(entry.stream, []).append(out.encode())
            ids.setdefault(entry.stream, []).append(entry.id)
        for stream, done in outputs.items():
            self.bus.publish_and_ack(self._outputs[stream], done, stream, self.group, ids[stream])
        now = time.time()
        for _, det in batch:
            self.counters.observe_latency((now - det.ts) * 1000.0)
        self.counters.inc("processed", len(batch))
        self.counters.inc("published", len(batch))
        self.counters.inc("faces", len(crops))
        self.status.batches += 1 if crops else 0


def run(settings: Settings, client: Client | None = None, stopper: Stopper | None = None) -> int:
    setup_logging(settings.runtime.log_level)
    settings.check_lawful()  # no emotion is inferred where the law prohibits it: refused at start
    return ClassifierWorker(settings, client, stopper or Stopper().install()).run()
