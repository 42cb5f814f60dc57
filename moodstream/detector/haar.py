"""Haar-cascade face detection tuned for speed (the research prototypes' method, ``method = "haar"``).

A full scan runs on a downscaled gray frame, where it is several times cheaper; a region search runs
only around a face found before, on a region scaled so the face is small, over a narrow range of
sizes (moodstream/detector/regions.py). Boxes are mapped back to the full-resolution frame. Haar gives
no landmarks, so its crops are squares around the box, never aligned.
"""

from __future__ import annotations

import cv2

from moodstream.config import DetectorSettings
from moodstream.detector.finder import Found, Image
from moodstream.detector.regions import Box, closest, region

REGION_FACE_PX = 56  # a region search scales the region so the face it looks for is about this wide
REGION_SIZE_RANGE = 1.3  # ... and looks for faces between 1/1.3 and 1.3 times the size it had
REGION_SCALE_FACTOR = 1.2  # each pyramid level costs ~0.7 ms on a face: few levels, near the size it had


class Haar:
    color = False

    def __init__(self, cfg: DetectorSettings, cascade: str = "haarcascade_frontalface_default.xml"):
        path = cv2.data.haarcascades + cascade
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise RuntimeError(f"cannot load Haar cascade {path}")
        self.cfg = cfg

    def scan(self, image: Image) -> list[Found]:
        """Every face in the frame, at full resolution."""
        gray = image.gray
        h, w = gray.shape[:2]
        scale = min(1.0, self.cfg.detect_width / w)
        small = (
            cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            if scale < 1
            else gray
        )
        small = cv2.equalizeHist(small)
        min_side = max(12, int(self.cfg.min_face_frac * small.shape[1]))
        found = self.cascade.detectMultiScale(
            small,
            scaleFactor=self.cfg.scale_factor,
            minNeighbors=self.cfg.min_neighbors,
            minSize=(min_side, min_side),
        )
        boxes = sorted((tuple(int(v) for v in b) for b in found), key=lambda b: -b[2] * b[3])
        out = [_to_frame(b, scale, 0, 0, w, h) for b in boxes[: self.cfg.max_faces]]
        return [Found(b) for b in out if b[2] >= 4 and b[3] >= 4]

    def search_one(self, image: Image, prior: Box) -> Found | None:
        """The face nearest ``prior`` in a region around it, searched near the size it had."""
        gray = image.gray
        h, w = gray.shape[:2]
        rx, ry, rw, rh = region(prior, self.cfg.region_margin, w, h)
        if rw < 8 or rh < 8:
            return None
        scale = min(1.0, REGION_FACE_PX / max(1, prior[2]))  # cheaper, still found
        sub = gray[ry : ry + rh, rx : rx + rw]
        if scale < 1:
            sub = cv2.resize(
                sub, (max(1, round(rw * scale)), max(1, round(rh * scale))), interpolation=cv2.INTER_AREA
            )
        side = prior[2] * scale
        lo, hi = max(20, int(side / REGION_SIZE_RANGE)), max(21, int(side * REGION_SIZE_RANGE) + 1)
        found = self.cascade.detectMultiScale(
            cv2.equalizeHist(sub),
            scaleFactor=REGION_SCALE_FACTOR,
            minNeighbors=self.cfg.min_neighbors,
            minSize=(lo, lo),
            maxSize=(hi, hi),
        )
        candidates = [_to_frame(tuple(int(v) for v in b), scale, rx, ry, w, h) for b in found]
        box = closest(prior, candidates)
        return Found(box) if box is not None else None


def _to_frame(box: tuple[int, ...], scale: float, ox: int, oy: int, w: int, h: int) -> Box:
    """A box found on a scaled (and offset) image, in the frame's pixels, clipped to it."""
    x, y, bw, bh = box
    fx, fy = ox + round(x / scale), oy + round(y / scale)
    fw, fh = round(bw / scale), round(bh / scale)
    fx, fy = max(0, fx), max(0, fy)
    return fx, fy, min(fw, w - fx), min(fh, h - fy)
