"""Haar-cascade face detection tuned for speed (the research prototypes' method).

A full scan runs on a downscaled gray frame, where it is several times
cheaper; a region search runs only around a face found before
(moodstream/detector/regions.py). Boxes are mapped back and crops are cut
from the full-resolution frame, so the classifier still sees every pixel
the camera gave.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from moodstream.config import DetectorSettings
from moodstream.detector.regions import Box, closest, distinct, needs_full_scan, region
from moodstream.streams.schemas import DetectorState

THUMB = (32, 18)  # motion gating compares frames this small: noise averages out, a person does not
REGION_FACE_PX = 56  # a region search scales the region so the face it looks for is about this wide
REGION_SIZE_RANGE = 1.3  # ... and looks for faces between 1/1.3 and 1.3 times the size it had
REGION_SCALE_FACTOR = 1.2  # each pyramid level costs ~0.7 ms on a face: few levels, near the size it had


@dataclass
class FaceCrop:
    box: tuple[int, int, int, int]
    crop: np.ndarray  # uint8 [S, S]


class HaarDetector:
    def __init__(
        self, cfg: DetectorSettings, crop_size: int, cascade: str = "haarcascade_frontalface_default.xml"
    ):
        path = cv2.data.haarcascades + cascade
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise RuntimeError(f"cannot load Haar cascade {path}")
        self.cfg = cfg
        self.crop_size = crop_size

    def detect(self, gray: np.ndarray) -> list[FaceCrop]:
        """A full scan, with crops: what every frame got before region search."""
        return self.crops(gray, self.scan(gray))

    def find(self, gray: np.ndarray, seq: int, state: DetectorState) -> tuple[DetectorState, str]:
        """Frame ``seq``'s faces, and how they were found: ``region`` (searched around ``state``'s),
        ``still`` (no face known and nothing moved since the last full scan), ``full`` (a scan that was
        due, or no face known and something moved) or ``miss`` (a region search lost a face: scanned in
        full)."""
        every = self.cfg.full_scan_every
        if needs_full_scan(seq, state, every):
            return _next(state, seq, self.scan(gray), thumbnail(gray)), "full"
        if state.boxes:
            boxes = self.search(gray, state.priors())
            if boxes is None:
                return _next(state, seq, self.scan(gray), thumbnail(gray)), "miss"
            return _next(state, seq, boxes), "region"
        if state.lost and seq - state.lost_seq <= 2 * every:
            found = [
                b for prior in state.priors(lost=True) if (b := self._search_one(gray, prior)) is not None
            ]
            if found:
                return _next(state, seq, distinct(found)), "region"
        thumb = thumbnail(gray)  # only here and on full scans: a region search needs none
        if still(thumb, state.thumb, self.cfg.motion_threshold):
            return _next(state, seq, []), "still"
        return _next(state, seq, self.scan(gray), thumb), "full"

    def scan(self, gray: np.ndarray) -> list[Box]:
        """Every face in the frame, largest first, at full resolution (at most ``max_faces``)."""
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
        return [b for b in out if b[2] >= 4 and b[3] >= 4]

    def search(self, gray: np.ndarray, priors: list[Box]) -> list[Box] | None:
        """Each prior face found again near where it was, or None when one is lost (scan in full then)."""
        found: list[Box] = []
        for prior in priors:
            box = self._search_one(gray, prior)
            if box is None:
                return None
            found.append(box)
        return distinct(found)

    def _search_one(self, gray: np.ndarray, prior: Box) -> Box | None:
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
        return closest(prior, candidates)

    def crops(self, gray: np.ndarray, boxes: list[Box]) -> list[FaceCrop]:
        """Model-sized crops from the full-resolution frame: the classifier sees every pixel there is."""
        return [
            FaceCrop(
                box=(x, y, bw, bh),
                crop=cv2.resize(
                    gray[y : y + bh, x : x + bw],
                    (self.crop_size, self.crop_size),
                    interpolation=cv2.INTER_AREA,
                ),
            )
            for x, y, bw, bh in boxes
        ]


def _next(state: DetectorState, seq: int, boxes: list[Box], thumb: bytes | None = None) -> DetectorState:
    """The state after frame ``seq``, where ``boxes`` were found (by a full scan when ``thumb`` is given)."""
    full = thumb is not None
    gone = bool(state.boxes) and not boxes
    return DetectorState(
        seq=seq,
        full_seq=seq if full else state.full_seq,
        boxes=[list(b) for b in boxes],
        thumb=thumb if thumb is not None else state.thumb,
        lost=state.boxes if gone else state.lost,
        lost_seq=seq if gone else state.lost_seq,
    )


def thumbnail(gray: np.ndarray) -> bytes:
    return cv2.resize(gray, THUMB, interpolation=cv2.INTER_AREA).tobytes()


def still(thumb: bytes, last: bytes, threshold: float) -> bool:
    """Whether nothing moved since the last full scan: mean absolute difference of the thumbnails."""
    if threshold <= 0 or len(thumb) != len(last):
        return False
    a, b = np.frombuffer(thumb, np.uint8), np.frombuffer(last, np.uint8)
    return float(np.abs(a.astype(np.int16) - b).mean()) < threshold


def _to_frame(box: tuple[int, ...], scale: float, ox: int, oy: int, w: int, h: int) -> Box:
    """A box found on a scaled (and offset) image, in the frame's pixels, clipped to it."""
    x, y, bw, bh = box
    fx, fy = ox + round(x / scale), oy + round(y / scale)
    fw, fh = round(bw / scale), round(bh / scale)
    fx, fy = max(0, fx), max(0, fy)
    return fx, fy, min(fw, w - fx), min(fh, h - fy)


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG's SOF header, read before decoding so oversized frames cost nothing."""
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, height
        i += 2 + length
    return None
