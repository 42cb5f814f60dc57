"""Faces and masked areas made unrecognisable in the frames viewers see.

The detector is where a frame's decoded pixels and the boxes found in that very frame meet, so it
makes the viewers' frame there, and only for cameras someone is watching (the dashboard marks them,
``streams/viewable.py``): a camera nobody views costs nothing. Masks are blacked out before
detection too, so nothing inside them is found or classified.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from moodstream.config.privacy import Protection
from moodstream.detector.regions import Box, region

Polygon = Sequence[tuple[float, float]]

# A face is shrunk to at most this many samples across, then smoothly enlarged again: no feature of
# it survives, and the result has no sharp block edges (which would keep high-frequency energy).
BLUR_SAMPLES = 5


def mask_polygons(masks: Iterable[Polygon], width: int, height: int) -> list[np.ndarray]:
    """The masks in this frame's pixels, as OpenCV's ``fillPoly`` takes them."""
    return [
        np.array([[round(x * (width - 1)), round(y * (height - 1))] for x, y in points], np.int32)
        for points in masks
    ]


def black_out(pixels: np.ndarray, polygons: list[np.ndarray]) -> None:
    """Fill every mask with black, in place (gray or colour)."""
    if polygons:
        cv2.fillPoly(pixels, polygons, 0 if pixels.ndim == 2 else (0, 0, 0))


def blur_region(pixels: np.ndarray, box: Box) -> None:
    """Make one region unrecognisable, in place: shrunk to a few samples and smoothly enlarged."""
    x, y, w, h = box
    if w < 2 or h < 2:
        return
    region = pixels[y : y + h, x : x + w]
    across = max(2, min(BLUR_SAMPLES, w, h))
    small = cv2.resize(region, (across, across), interpolation=cv2.INTER_AREA)
    region[:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def protect(pixels: np.ndarray, boxes: Iterable[Box], protection: Protection) -> np.ndarray:
    """The frame as viewers may see it: masks black, and (when the camera blurs) every face box, grown
    by the margin, blurred. Works on a copy."""
    out = pixels.copy()
    height, width = out.shape[:2]
    black_out(out, mask_polygons(protection.masks, width, height))
    if protection.blur:
        for box in boxes:
            blur_region(out, region(box, protection.margin, width, height))
    return out


def protected_jpeg(pixels: np.ndarray, boxes: Iterable[Box], protection: Protection, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", protect(pixels, boxes, protection), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the protected frame did not encode")
    return buf.tobytes()
