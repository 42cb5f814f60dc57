"""Which faces a frame holds, scanning in full only when it must, whatever the detection method.

A method (Haar, BlazeFace) offers two things: ``scan`` (every face in a frame) and ``search_one`` (the
face near where one was). The finder decides which a frame gets (regions.py says why): a full scan
every ``full_scan_every`` frames, a region search around the faces last found in between, a full scan
of the same frame when a region search loses a face, and none at all when no face is known and
nothing moved since the last full scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from moodstream.config import DetectorSettings
from moodstream.detector.regions import Box, distinct, needs_full_scan
from moodstream.streams.schemas import DetectorState

THUMB = (32, 18)  # motion gating compares frames this small: noise averages out, a person does not

Landmarks = list[tuple[float, float]]  # right eye, left eye, nose tip, mouth, right ear, left ear (x, y)


@dataclass
class Found:
    """A face in the frame's pixels, with its landmarks when the method gives them."""

    box: Box
    landmarks: Landmarks | None = None


@dataclass
class Image:
    """A decoded frame: gray always (crops and motion gating use it), colour for methods that need it."""

    gray: np.ndarray
    bgr: np.ndarray | None = None


class Method(Protocol):
    color: bool  # whether it needs the frame in colour

    def scan(self, image: Image) -> list[Found]: ...

    def search_one(self, image: Image, prior: Box) -> Found | None: ...


class FaceFinder:
    def __init__(self, method: Method, cfg: DetectorSettings):
        self.method = method
        self.cfg = cfg

    def scan(self, image: Image) -> list[Found]:
        """Every face, largest first, at most ``max_faces``."""
        found = sorted(self.method.scan(image), key=lambda f: -f.box[2] * f.box[3])
        return found[: self.cfg.max_faces]

    def find(self, image: Image, seq: int, state: DetectorState) -> tuple[DetectorState, str, list[Found]]:
        """Frame ``seq``'s faces, the state after it, and how they were found: ``region`` (searched
        around ``state``'s), ``still`` (no face known and nothing moved since the last full scan),
        ``full`` (a scan that was due, or no face known and something moved) or ``miss`` (a region
        search lost a face: scanned in full)."""
        every = self.cfg.full_scan_every
        if needs_full_scan(seq, state, every):
            return self._full(image, state, seq, "full")
        if state.boxes:
            found = self.search(image, state.priors())
            if found is None:
                return self._full(image, state, seq, "miss")
            return _next(state, seq, found), "region", found
        if state.lost and seq - state.lost_seq <= 2 * every:
            again = [f for prior in state.priors(lost=True) if (f := self.method.search_one(image, prior))]
            if again:
                found = _distinct(again)
                return _next(state, seq, found), "region", found
        thumb = thumbnail(image.gray)  # only here and on full scans: a region search needs none
        if still(thumb, state.thumb, self.cfg.motion_threshold):
            return _next(state, seq, []), "still", []
        found = self.scan(image)
        return _next(state, seq, found, thumb), "full", found

    def _full(
        self, image: Image, state: DetectorState, seq: int, how: str
    ) -> tuple[DetectorState, str, list[Found]]:
        found = self.scan(image)
        return _next(state, seq, found, thumbnail(image.gray)), how, found

    def search(self, image: Image, priors: list[Box]) -> list[Found] | None:
        """Each prior face found again near where it was, or None when one is lost (scan in full then)."""
        found: list[Found] = []
        for prior in priors:
            face = self.method.search_one(image, prior)
            if face is None:
                return None
            found.append(face)
        return _distinct(found)


def _distinct(found: list[Found]) -> list[Found]:
    """Near-duplicates dropped (two tracks' regions that found the same face), largest first."""
    kept = distinct([f.box for f in found])
    by_box = {f.box: f for f in found}
    return [by_box[b] for b in kept]


def _next(state: DetectorState, seq: int, found: list[Found], thumb: bytes | None = None) -> DetectorState:
    """The state after frame ``seq``, where ``found`` were found (by a full scan when ``thumb`` is given)."""
    full = thumb is not None
    gone = bool(state.boxes) and not found
    return DetectorState(
        seq=seq,
        full_seq=seq if full else state.full_seq,
        boxes=[list(f.box) for f in found],
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
