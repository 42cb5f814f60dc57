"""Detection against faces labelled by eye: recall, precision and CPU per method and mode.

``moodstream bench --detector-recall`` runs each detection method over the labelled set
(moodstream/bench/labels/faces.json: every frame of the sample videos, and photos of several people)
in one process, frame by frame, in two modes: ``full`` scans every frame in full; ``tracked`` is what
the pipeline does (a full scan every ``full_scan_every`` frames, region search in between, motion
gating), over each video in order. A labelled face is found when a box overlaps it at IoU ≥ 0.5 (and,
more leniently, 0.3: methods draw the face's box differently); every box matching no face is a false
box. The photos are also measured made harder, with the same labels moved along: shrunk so their
faces are 20–40 px (far), darkened, and turned 20° (tilted heads).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from moodstream.config import DetectorSettings
from moodstream.detector.finder import FaceFinder, Image
from moodstream.detector.methods import image_of, method_for
from moodstream.detector.regions import Box, iou
from moodstream.streams.schemas import DetectorState

SIZES = ((0, 20), (20, 40), (40, 80), (80, 100_000))
VARIANTS = ("as is", "far", "dark", "tilted")


@dataclass
class Labelled:
    """One labelled frame: the picture, its faces, and what kind of scene it is."""

    media: str
    index: int
    image: Image
    faces: list[Box]
    scene: str
    variant: str = "as is"


def labels() -> dict[str, Any]:
    return json.loads(resources.files("moodstream.bench").joinpath("labels/faces.json").read_text())


def labelled_frames(root: Path, under: str = "") -> Iterator[list[Labelled]]:
    """Each medium's labelled frames, in order (a video's, one after another, as a camera sends them);
    only media whose path starts with ``under``, if given."""
    for media in labels()["media"]:
        if not media["path"].startswith(under):
            continue
        path, frames = root / media["path"], media["frames"]
        out = []
        for index, bgr in enumerate(_pictures(path)):
            if str(index) in frames:
                boxes = [tuple(f[:4]) for f in frames[str(index)]]
                out.append(Labelled(media["path"], index, image_of(bgr), boxes, media["scene"]))
        yield out


def _pictures(path: Path) -> Iterator[np.ndarray]:
    if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
        yield cv2.imread(str(path))
        return
    cap = cv2.VideoCapture(str(path))
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        yield bgr
    cap.release()


def harder(frame: Labelled, variant: str) -> Labelled:
    """A photo made harder, its labels moved along: ``far`` (median face 30 px), ``dark``, ``tilted``."""
    bgr = frame.image.bgr
    assert bgr is not None
    boxes = frame.faces
    if variant == "far":
        scale = 30 / float(np.median([b[2] for b in boxes]))
        bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        boxes = [tuple(round(v * scale) for v in b) for b in boxes]
    elif variant == "dark":
        bgr = (255 * (bgr / 255.0) ** 2.2 * 0.45).astype(np.uint8)  # a dim room, gamma and exposure
    elif variant == "tilted":
        return turned(frame, 20, variant)
    return Labelled(frame.media, frame.index, image_of(bgr), boxes, frame.scene, variant)  # type: ignore[arg-type]


def turned(frame: Labelled, degrees: float, variant: str = "turned") -> Labelled:
    """The frame turned by ``degrees`` about its centre, its labels moved along."""
    bgr = frame.image.bgr
    assert bgr is not None
    h, w = bgr.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    bgr = cv2.warpAffine(bgr, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    boxes = [_turned(b, matrix) for b in frame.faces]
    return Labelled(frame.media, frame.index, image_of(bgr), boxes, frame.scene, variant)


def _turned(box: Box, matrix: np.ndarray) -> Box:
    """The same face turned: its centre moves, its size stays (a face's box is upright and square)."""
    x, y, w, h = box
    cx, cy = matrix @ np.array([x + w / 2, y + h / 2, 1.0])
    return round(cx - w / 2), round(cy - h / 2), w, h


@dataclass
class Tally:
    faces: dict[str, int] = field(default_factory=dict)
    found: dict[str, int] = field(default_factory=dict)
    boxes: int = 0
    true_boxes: int = 0
    frames: int = 0
    cpu_s: float = 0.0

    def add(self, key: str, faces: int, found: int) -> None:
        self.faces[key] = self.faces.get(key, 0) + faces
        self.found[key] = self.found.get(key, 0) + found

    def result(self) -> dict[str, Any]:
        recall = {k: round(self.found[k] / n, 3) for k, n in sorted(self.faces.items()) if n}
        return {
            "faces": dict(sorted(self.faces.items())),
            "recall": recall,
            "precision": round(self.true_boxes / self.boxes, 3) if self.boxes else None,
            "false_boxes": self.boxes - self.true_boxes,
            "cpu_ms_per_frame": round(self.cpu_s * 1000 / max(1, self.frames), 2),
        }


def pairs(labels: list[Box], boxes: list[Box], threshold: float) -> dict[int, int]:
    """Greedy one-to-one matching by IoU, best overlaps first: label index -> box index."""
    ranked = sorted(
        ((iou(a, b), i, j) for i, a in enumerate(labels) for j, b in enumerate(boxes)), reverse=True
    )
    out: dict[int, int] = {}
    for overlap, i, j in ranked:
        if overlap >= threshold and i not in out and j not in out.values():
            out[i] = j
    return out


def match(labels: list[Box], boxes: list[Box], threshold: float) -> tuple[list[bool], int]:
    """Which labels were found, and how many boxes matched one."""
    paired = pairs(labels, boxes, threshold)
    return [i in paired for i in range(len(labels))], len(paired)


def _size(box: Box) -> str:
    lo, hi = next((lo, hi) for lo, hi in SIZES if lo <= box[2] < hi)
    return f"{lo}-{hi}px" if hi < 100_000 else f">={lo}px"


def _score(tally: dict[float, Tally], frame: Labelled, boxes: list[Box], cpu_s: float) -> None:
    for threshold, t in tally.items():
        found, true_boxes = match(frame.faces, boxes, threshold)
        t.frames += 1
        t.cpu_s += cpu_s
        t.boxes += len(boxes)
        t.true_boxes += true_boxes
        for box, hit in zip(frame.faces, found, strict=True):
            size = _size(box)
            t.add(f"{frame.variant}/all/{size}", 1, int(hit))
            t.add(f"{frame.variant}/{frame.scene}/{size}", 1, int(hit))


def evaluate(cfg: DetectorSettings, root: Path, variants: bool = True) -> dict[str, Any]:
    """One method (``cfg``) over the labelled set, full and tracked, at IoU 0.5 and 0.3."""
    finder = FaceFinder(method_for(cfg), cfg)
    out: dict[str, Any] = {}
    for mode in ("full", "tracked"):
        tally = {0.5: Tally(), 0.3: Tally()}
        for media in labelled_frames(root):
            state = DetectorState()
            still = len(media) == 1
            for frame in media:
                for variant in VARIANTS if (still and variants and frame.scene == "several") else ("as is",):
                    shown = frame if variant == "as is" else harder(frame, variant)
                    t0 = time.process_time()
                    if mode == "full" or still:
                        boxes = [f.box for f in finder.scan(shown.image)]
                    else:
                        state, _, found = finder.find(shown.image, frame.index, state)
                        boxes = [f.box for f in found]
                    _score(tally, shown, boxes, time.process_time() - t0)
        out[mode] = {f"iou_{k}": t.result() for k, t in tally.items()}
    return out


METHODS = {
    "haar": {"method": "haar"},
    "blazeface-short": {"method": "blazeface", "range": "short"},
    "blazeface-full": {"method": "blazeface", "range": "full"},
    "blazeface-full-tiles2": {"method": "blazeface", "range": "full", "tiles": 2},
}


def detector_recall(base: DetectorSettings, root: Path) -> dict[str, Any]:
    cv2.setNumThreads(1)  # as in the detector worker
    return {name: evaluate(base.model_copy(update=options), root) for name, options in METHODS.items()}


def format_recall(r: dict[str, Any], every: int) -> str:
    lines = [
        f"faces labelled by eye; tracked = full scan every {every} frames, region search between",
        f"{'method':<24}{'mode':<9}{'subset':<26}{'faces':>6}{'R@.5':>7}{'R@.3':>7}",
    ]
    for name, modes in r.items():
        for mode, by in modes.items():
            strict, loose = by["iou_0.5"], by["iou_0.3"]
            for key, n in strict["faces"].items():
                if key.split("/")[1] == "all" or key.startswith("as is/several"):
                    lines.append(
                        f"{name:<24}{mode:<9}{key:<26}{n:>6}{strict['recall'][key]:>7.3f}{loose['recall'][key]:>7.3f}"
                    )
            lines.append(
                f"{name:<24}{mode:<9}{'precision @.3, false boxes':<26}{'':>6}{str(loose['precision']):>7}"
                f"{loose['false_boxes']:>7}   CPU {loose['cpu_ms_per_frame']} ms/frame"
            )
    return "\n".join(lines)
