"""The classifier's view of a face: a model-sized gray crop, cut from the full-resolution frame.

Without landmarks (Haar), a crop is the square the detector's box gives. With landmarks (BlazeFace),
the face is framed as FER2013's faces, which the model learned from, are framed: the square's size and
centre relative to the eyes and mouth were measured by running BlazeFace on FER2013's own training
faces (``FER_FRAMING``, from ``moodstream bench --fer-framing``). Landmarks, not the box, set the
scale: a box shrinks when the head rolls, the distance from the eyes to the mouth does not. With ``[detector] align`` the face is also
turned so its eyes are level. The box that goes on the page and in events stays the detector's.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from moodstream.detector.finder import Found, Landmarks
from moodstream.detector.regions import Box

# FER2013's framing in units of the distance from the eyes' midpoint to the mouth: the crop's side, and
# its centre's offset from the eyes' midpoint along the eyes' line and towards the mouth. Medians over
# 1,987 of 2,000 FER2013 training faces (moodstream bench --fer-framing): a square 2.55 spans wide, centred
# 0.27 of a span below the eyes (the eyes sit at 0.39 of its height), on the eyes' axis (0.005 across).
FER_FRAMING = (2.55, 0.0, 0.273)


def square_crop(gray: np.ndarray, box: Box, size: int) -> np.ndarray:
    """The box, resized to size × size (the research prototypes' crop)."""
    x, y, w, h = box
    return cv2.resize(gray[y : y + h, x : x + w], (size, size), interpolation=cv2.INTER_AREA)


def eye_angle(landmarks: Landmarks) -> float:
    """The head's roll in degrees: the angle of the line from the right eye to the left eye."""
    (rx, ry), (lx, ly) = landmarks[0], landmarks[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def face_axes(landmarks: Landmarks) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The eyes' midpoint, the unit vectors along the eyes' line and across it towards the mouth, and
    the distance from the midpoint to the mouth."""
    right, left, mouth = (np.array(landmarks[i], np.float64) for i in (0, 1, 3))
    eyes = (right + left) / 2
    across = left - right
    across /= max(float(np.linalg.norm(across)), 1e-6)
    down = np.array([-across[1], across[0]])  # across turned 90°: image y grows downwards
    if float((mouth - eyes) @ down) < 0:
        down = -down
    return eyes, across, down, max(float(np.linalg.norm(mouth - eyes)), 1.0)


def aligned_crop(
    gray: np.ndarray,
    landmarks: Landmarks,
    size: int,
    rotate: bool = True,
    framing: tuple[float, float, float] = FER_FRAMING,
) -> np.ndarray:
    """The face framed as FER2013 frames faces, size × size, rotated so its eyes are level if ``rotate``.

    The region around the face is first shrunk with area interpolation to about twice the crop's
    resolution, so the rotation's bilinear sampling does not alias a large face."""
    side_f, dx, dy = framing
    eyes, across, down, span = face_axes(landmarks)
    if not rotate:
        across, down = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    side = side_f * span
    cx, cy = eyes + dx * span * across + dy * span * down
    reach = side * 0.75  # half the diagonal of the rotated square, and a little more
    x0, y0 = max(0, int(cx - reach)), max(0, int(cy - reach))
    x1 = min(gray.shape[1], int(math.ceil(cx + reach)))
    y1 = min(gray.shape[0], int(math.ceil(cy + reach)))
    region = gray[y0:y1, x0:x1]
    shrink = min(1.0, 2.0 * size / side)
    if shrink < 1.0:
        region = cv2.resize(
            region,
            (max(1, round(region.shape[1] * shrink)), max(1, round(region.shape[0] * shrink))),
            interpolation=cv2.INTER_AREA,
        )
    centre = ((cx - x0) * shrink, (cy - y0) * shrink)
    angle = eye_angle(landmarks) if rotate else 0.0
    matrix = cv2.getRotationMatrix2D(centre, angle, size / (side * shrink))
    matrix[:, 2] += (size / 2 - centre[0], size / 2 - centre[1])
    return cv2.warpAffine(
        region, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def face_crops(gray: np.ndarray, found: list[Found], size: int, align: bool) -> list[np.ndarray]:
    """One crop per face: framed as FER2013 (and levelled if ``align``) where landmarks allow, the
    detector's square otherwise."""
    return [
        aligned_crop(gray, f.landmarks, size, rotate=align) if f.landmarks else square_crop(gray, f.box, size)
        for f in found
    ]
