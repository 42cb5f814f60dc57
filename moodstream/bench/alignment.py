"""Does aligning faces help the classifier? Accuracy on the labelled set's expressions, three crops each.

``moodstream bench --alignment`` finds every face labelled with an expression (docs: labels/faces.json)
by BlazeFace, then classifies three crops of it: the detector's square box (what Haar's crops are),
the square framed as FER2013 frames faces but not turned (``align = false``), and framed and turned so
the eyes are level (``align = true``). Each frame is also measured turned by ±20°, with its labels
moved along, so that tilted heads are more than the few the footage holds. Faces are split by the roll
their landmarks show: up to 10°, and more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from moodstream.bench.detector_recall import labelled_frames, labels, pairs, turned
from moodstream.classifier.worker import load_predictor
from moodstream.config import Settings
from moodstream.detector.crops import aligned_crop, eye_angle, square_crop
from moodstream.detector.finder import FaceFinder
from moodstream.detector.methods import method_for
from moodstream.streams.schemas import EMOTIONS

CROPS = ("box", "framed", "aligned")
TURNS = (0, 20, -20)


def _expressions() -> dict[tuple[str, int], list[str | None]]:
    """(media, frame) -> each labelled face's expression (None where none was obvious)."""
    out = {}
    for media in labels()["media"]:
        for index, faces in media["frames"].items():
            out[(media["path"], int(index))] = [f[4] if len(f) > 4 else None for f in faces]
    return out


def alignment(settings: Settings, root: Path) -> dict[str, Any]:
    predictor = load_predictor(settings)
    finder = FaceFinder(method_for(settings.detector), settings.detector)
    size, expressions = predictor.spec.size, _expressions()
    tally: dict[str, dict[str, list[int]]] = {}
    for media in labelled_frames(root):
        for frame in media:
            wanted = expressions[(frame.media, frame.index)]
            if not any(wanted):
                continue
            for turn in TURNS:
                shown = frame if turn == 0 else turned(frame, turn)
                found = finder.scan(shown.image)
                for face_index, j in pairs(shown.faces, [f.box for f in found], 0.3).items():
                    truth, detection = wanted[face_index], found[j]
                    if truth is None or detection.landmarks is None:
                        continue
                    gray, marks = shown.image.gray, detection.landmarks
                    crops = [
                        square_crop(gray, detection.box, size),
                        aligned_crop(gray, marks, size, rotate=False),
                        aligned_crop(gray, marks, size, rotate=True),
                    ]
                    probs = predictor.predict_crops(np.stack(crops))
                    tilted = "roll > 10°" if abs(eye_angle(marks)) > 10 else "roll <= 10°"
                    for crop, row in zip(CROPS, probs, strict=True):
                        right = int(EMOTIONS[int(np.argmax(row))] == truth)
                        for group in ("all", tilted):
                            tally.setdefault(group, {}).setdefault(crop, []).append(right)
    return {
        group: {"faces": len(by["box"]), **{c: round(float(np.mean(v)), 3) for c, v in by.items()}}
        for group, by in sorted(tally.items())
    }


def format_alignment(r: dict[str, Any]) -> str:
    lines = [f"{'faces':<14}{'n':>6}" + "".join(f"{c:>10}" for c in CROPS)]
    for group, v in r.items():
        lines.append(f"{group:<14}{v['faces']:>6}" + "".join(f"{v[c]:>10.3f}" for c in CROPS))
    return "\n".join(lines)
