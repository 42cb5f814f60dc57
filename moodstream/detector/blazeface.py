"""BlazeFace (MediaPipe's face detector, Apache-2.0) run on LiteRT: boxes with six landmarks.

Two models ship in the ``mediapipe`` wheel and are fetched from it, sha256-checked
(``moodstream assets fetch``); mediapipe itself is not needed at run time:

- ``short``: 128×128 input, for faces within ~2 m of the camera (a webcam);
- ``full``: 192×192 input, for faces farther away (a room camera).

Decoding follows the models' MediaPipe graphs (``face_detection_*_cpu.pbtxt``): SSD anchors, box
centres and sizes relative to the anchor grid, a sigmoid score, and weighted non-maximum suppression.
The frame is letterboxed into the square input so faces keep their shape. Faces too small for one
pass over the whole frame are found by ``tiles``: overlapping squares, each run at the model's input
size, whose results are merged by the same suppression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from moodstream.classifier.runtimes import TFLiteRunner
from moodstream.config import DetectorSettings
from moodstream.detector.finder import Found, Image, Landmarks
from moodstream.detector.regions import Box, closest


@dataclass(frozen=True)
class BlazeModel:
    """What decoding needs to know about one of the two models (their graphs' options)."""

    file: str
    size: int
    strides: tuple[int, ...]
    anchors_per_cell: tuple[int, ...]  # per stride, after layers of equal stride are merged
    min_score: float


MODELS = {
    "short": BlazeModel("face_detection_short_range.tflite", 128, (8, 16), (2, 6), 0.5),
    "full": BlazeModel("face_detection_full_range_sparse.tflite", 192, (4,), (1,), 0.6),
}
SUPPRESSION_IOU = 0.3


@dataclass
class Detection:
    """One face, in the frame's pixels: its box, landmarks and score."""

    box: tuple[int, int, int, int]
    landmarks: Landmarks
    score: float


@cache
def anchor_centres(size: int, strides: tuple[int, ...], per_cell: tuple[int, ...]) -> np.ndarray:
    """The SSD anchors' centres, [N, 2] in 0..1, in the order the model's outputs come (row, column,
    anchor); fixed-size anchors, so the centre is all decoding needs."""
    centres = []
    for stride, n in zip(strides, per_cell, strict=True):
        cells = math.ceil(size / stride)
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, n, axis=1).reshape(-1, 2))
    return np.concatenate(centres).astype(np.float32)


def decode(
    regressors: np.ndarray, scores: np.ndarray, model: BlazeModel, min_score: float
) -> tuple[np.ndarray, np.ndarray]:
    """Raw outputs ([N, 16], [N]) into (boxes [M, 4] as x0, y0, x1, y1 and landmarks [M, 12], both in the
    input square's 0..1 units, with scores [M]) for the anchors above ``min_score``."""
    anchors = anchor_centres(model.size, model.strides, model.anchors_per_cell)
    prob = 1.0 / (1.0 + np.exp(-np.clip(scores, -80.0, 80.0)))
    keep = np.nonzero(prob >= min_score)[0]
    raw, centre = regressors[keep] / model.size, anchors[keep]
    cx, cy = centre[:, 0] + raw[:, 0], centre[:, 1] + raw[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    landmarks = raw[:, 4:16] + np.tile(centre, 6)
    return np.concatenate([boxes, landmarks, prob[keep, None]], axis=1), prob[keep]


def weighted_suppression(rows: np.ndarray, threshold: float = SUPPRESSION_IOU) -> np.ndarray:
    """MediaPipe's weighted NMS: each kept detection is the score-weighted mean of those it overlaps,
    which steadies boxes from frame to frame better than keeping the single best one."""
    order = np.argsort(-rows[:, -1])
    rows = rows[order]
    out = []
    remaining = np.ones(len(rows), dtype=bool)
    for i in range(len(rows)):
        if not remaining[i]:
            continue
        overlaps = _iou(rows[i, :4], rows[:, :4]) > threshold
        group = remaining & overlaps
        group[i] = True
        weights = rows[group, -1:]
        merged = (rows[group, :-1] * weights).sum(axis=0) / weights.sum()
        out.append(np.append(merged, rows[i, -1]))
        remaining &= ~group
    return np.array(out, dtype=np.float32).reshape(-1, rows.shape[1])


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area - inter, 1e-9)


def tile_squares(width: int, height: int, tiles: int) -> list[tuple[int, int, int]]:
    """Squares (x, y, side) covering the frame: the whole frame as one letterboxed square, plus, when
    ``tiles`` > 1, a ``tiles``-wide row-major grid of overlapping squares for the faces too small for
    the first."""
    squares = [(0, 0, max(width, height))]
    if tiles <= 1:
        return squares
    side = min(height, max(1, round(width / tiles * 1.25)))  # a quarter of overlap: faces on a seam
    nx = tiles
    ny = max(1, math.ceil((height - side) / (side * 0.8)) + 1) if height > side else 1
    for j in range(ny):
        y = 0 if ny == 1 else round(j * (height - side) / (ny - 1))
        for i in range(nx):
            x = 0 if nx == 1 else round(i * (width - side) / (nx - 1))
            squares.append((x, y, side))
    return squares


class BlazeFace:
    """Faces with landmarks in a BGR frame, by one of the two BlazeFace models, over one or more squares."""

    def __init__(self, folder: Path, model: str = "full", min_score: float | None = None, tiles: int = 1):
        self.model = MODELS[model]
        self.min_score = self.model.min_score if min_score is None else min_score
        self.tiles = tiles
        self.runner = TFLiteRunner(folder / self.model.file, threads=1)

    def _inputs(self, bgr: np.ndarray, squares: list[tuple[int, int, int]]) -> np.ndarray:
        size = self.model.size
        batch = np.zeros((len(squares), size, size, 3), np.float32)
        h, w = bgr.shape[:2]
        for n, (x, y, side) in enumerate(squares):
            part = bgr[y : min(h, y + side), x : min(w, x + side)]
            scale = size / side
            pw, ph = max(1, round(part.shape[1] * scale)), max(1, round(part.shape[0] * scale))
            small = cv2.resize(
                part, (pw, ph), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            )
            batch[n, :ph, :pw] = small[:, :, ::-1]  # RGB, top-left aligned: the padding is zero
        return batch / 127.5 - 1.0

    def detect(self, bgr: np.ndarray, max_faces: int = 256) -> list[Detection]:
        """Every face in the frame, best first, in the frame's pixels."""
        h, w = bgr.shape[:2]
        return self._detect(bgr, tile_squares(w, h, self.tiles), max_faces)

    def detect_square(self, bgr: np.ndarray) -> list[Detection]:
        """The faces in one region, in one pass (no tiles), in the region's pixels."""
        h, w = bgr.shape[:2]
        return self._detect(bgr, [(0, 0, max(w, h))], 256)

    def _detect(
        self, bgr: np.ndarray, squares: list[tuple[int, int, int]], max_faces: int
    ) -> list[Detection]:
        h, w = bgr.shape[:2]
        inputs = self._inputs(bgr, squares)
        rows = []
        for n, (x, y, side) in enumerate(squares):
            # One square a call: the short-range graph's reshapes assume a batch of one.
            regressors, scores = _split_outputs(self.runner.run_all(inputs[n : n + 1]))
            found, _ = decode(regressors.reshape(-1, 16), scores.reshape(-1), self.model, self.min_score)
            found[:, :16:2] = found[:, :16:2] * side + x
            found[:, 1:16:2] = found[:, 1:16:2] * side + y
            rows.append(found)
        merged = weighted_suppression(np.concatenate(rows)) if rows else np.zeros((0, 17), np.float32)
        return [_detection(row, w, h) for row in merged[:max_faces]]


def _split_outputs(outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(regressors [B, N, 16], scores [B, N, 1]) whichever order the model lists its outputs in."""
    by_width = {o.shape[-1]: o for o in outputs}
    return by_width[16], by_width[1]


def _detection(row: np.ndarray, width: int, height: int) -> Detection:
    x0, y0 = max(0.0, float(row[0])), max(0.0, float(row[1]))
    x1, y1 = min(float(width), float(row[2])), min(float(height), float(row[3]))
    box = (round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0)))
    marks = [(float(row[4 + 2 * k]), float(row[5 + 2 * k])) for k in range(6)]
    return Detection(box=box, landmarks=marks, score=float(row[16]))


REGION_SIDE = 2.2  # a region search runs the short-range model on a square this many face widths wide


class BlazeFaceMethod:
    """``method = "blazeface"``: full scans by the configured model (``range``), and region searches by
    the short-range model on a square around the face, where the face is as large as that model likes."""

    color = True

    def __init__(self, cfg: DetectorSettings, folder: Path):
        self.scanner = BlazeFace(folder, cfg.range, min_score=cfg.min_score, tiles=cfg.tiles)
        self.searcher = (
            BlazeFace(folder, "short", min_score=cfg.min_score) if cfg.range != "short" else self.scanner
        )

    def scan(self, image: Image) -> list[Found]:
        assert image.bgr is not None
        return [Found(d.box, d.landmarks) for d in self.scanner.detect(image.bgr)]

    def search_one(self, image: Image, prior: Box) -> Found | None:
        assert image.bgr is not None
        x, y, w, h = prior
        side = round(max(w, h) * REGION_SIDE)
        x0, y0 = max(0, x + w // 2 - side // 2), max(0, y + h // 2 - side // 2)
        part = image.bgr[y0 : y0 + side, x0 : x0 + side]
        if min(part.shape[:2]) < 16:
            return None
        found = [
            Found(
                (d.box[0] + x0, d.box[1] + y0, d.box[2], d.box[3]),
                [(px + x0, py + y0) for px, py in d.landmarks],
            )
            for d in self.searcher.detect_square(part)
        ]
        box = closest(prior, [f.box for f in found])
        return next(f for f in found if f.box == box) if box is not None else None
