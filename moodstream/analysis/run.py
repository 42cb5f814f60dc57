"""The live pipeline's perception in one process: detector, aligned crops, classifier, smoother.

Nothing here re-implements a stage: the finder and crops are the detector worker's, the predictor is
the classifier worker's (``load_predictor``: the same model, runtime and batching), and the smoother is
the smoother worker's ``Smoother`` over a ``Classified`` message built as the classifier builds it.
Only Redis is left out. A folder of images is a set of unrelated pictures: each is scanned in full and
nothing is smoothed across them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moodstream.analysis.inputs import InputFrame, frames, kind_of
from moodstream.classifier.worker import load_predictor
from moodstream.config import Settings
from moodstream.detector.crops import face_crops
from moodstream.detector.finder import FaceFinder, Found
from moodstream.detector.methods import method_for
from moodstream.smoother.tracking import Smoother
from moodstream.streams.schemas import EMOTIONS, Classified, DetectorState, Face, SmootherState

CAMERA = "analyze"


@dataclass
class FaceRow:
    """One face in one frame: the row ``analyze`` writes."""

    frame: int
    t: float
    track: int
    box: list[int]
    landmarks: list[list[float]] | None
    probs: list[float]
    label: str
    smoothed: str  # what the page would show for this face now ("" while its vote is still open; a
    # picture's own label for unrelated pictures)
    name: str = ""

    def to_map(self) -> dict[str, Any]:
        return {
            "frame": self.frame,
            "t": self.t,
            "track": self.track,
            "box": self.box,
            "landmarks": self.landmarks,
            "probs": [round(p, 5) for p in self.probs],
            "label": self.label,
            "smoothed": self.smoothed,
        }


class Analyzer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.finder = FaceFinder(method_for(settings.detector), settings.detector)
        self.predictor = load_predictor(settings)
        self.smoother = Smoother(settings.smoother)

    def rows(self, path: Path) -> Iterator[tuple[InputFrame, list[FaceRow]]]:
        """Each frame, and its faces, frame after frame (a frame with none has an empty list)."""
        independent = kind_of(path) in ("folder", "image")
        detector_state, smoother_state = DetectorState(), SmootherState()
        for frame in frames(path, self.finder.method.color):
            if independent:
                found = self.finder.scan(frame.image)
                smoother_state = SmootherState()
            else:
                detector_state, _, found = self.finder.find(frame.image, frame.index, detector_state)
            yield frame, self._frame_rows(frame, found, smoother_state, independent)

    def _frame_rows(
        self, frame: InputFrame, found: list[Found], state: SmootherState, independent: bool
    ) -> list[FaceRow]:
        size = self.predictor.spec.size
        crops = face_crops(frame.image.gray, found, size, self.settings.detector.align)
        probs = self.predictor.predict_crops(np.stack(crops)) if crops else np.zeros((0, len(EMOTIONS)))
        h, w = frame.image.gray.shape[:2]
        msg = Classified(
            camera=CAMERA,
            seq=frame.index,
            ts=frame.t,
            width=w,
            height=h,
            faces=[
                Face(box=f.box, probs=[float(p) for p in row]) for f, row in zip(found, probs, strict=True)
            ],
            model=self.predictor.spec.name,
        )
        _, tracks = self.smoother.update_tracks(state, msg, now=frame.t)
        return [
            FaceRow(
                frame=frame.index,
                t=frame.t,
                track=track.id,
                box=list(face.box),
                landmarks=[[round(x, 1), round(y, 1)] for x, y in f.landmarks] if f.landmarks else None,
                probs=face.probs,
                label=face.label(),
                smoothed=face.label() if independent else (EMOTIONS[track.label] if track.label >= 0 else ""),
                name=frame.name,
            )
            for f, face, track in zip(found, msg.faces, tracks, strict=True)
        ]
