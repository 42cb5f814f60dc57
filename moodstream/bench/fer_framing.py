"""How FER2013 frames a face, in units of the face's own landmarks: the constant aligned crops use.

``moodstream bench --fer-framing DATA`` runs BlazeFace's short-range model on FER2013 training faces,
each set in the middle of a gray canvas twice its size (a face filling its whole picture is not what
the detector was trained on). It measures the 48×48 square against the distance from the midpoint of
the eyes to the mouth, which neither roll nor the detector's box size changes: the square's side, and
its centre's offset from the eyes' midpoint along the eyes' line and towards the mouth. The medians
are ``crops.FER_FRAMING``; the head's roll is reported too.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from moodstream.detector.blazeface import BlazeFace
from moodstream.detector.crops import eye_angle, face_axes

CANVAS = 2  # the face's picture is set in a canvas this many times its size
UPSCALE = 2  # and the canvas enlarged this much, so the 128 px input sees the face at ~64 px


def fer_framing(data: Path, detector_dir: Path, samples: int = 2000, seed: int = 0) -> dict[str, Any]:
    files = sorted((data / "train").glob("*/*.jpg"))
    if not files:
        raise FileNotFoundError(f"{data / 'train'}: no FER2013 training images (train/<class>/*.jpg)")
    random.Random(seed).shuffle(files)
    detector = BlazeFace(detector_dir, "short")
    sides, dxs, dys, rolls = [], [], [], []
    for path in files[:samples]:
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        size = gray.shape[0]
        canvas = np.full((size * CANVAS, size * CANVAS), int(gray.mean()), np.uint8)
        off = (size * CANVAS - size) // 2
        canvas[off : off + size, off : off + size] = gray
        big = cv2.resize(canvas, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_LINEAR)
        found = detector.detect(cv2.cvtColor(big, cv2.COLOR_GRAY2BGR))
        if len(found) != 1:
            continue
        marks = [(px / UPSCALE, py / UPSCALE) for px, py in found[0].landmarks]
        eyes, across, down, span = face_axes(marks)
        centre = np.array([off + size / 2, off + size / 2]) - eyes
        sides.append(size / span)
        dxs.append(float(centre @ across) / span)
        dys.append(float(centre @ down) / span)
        rolls.append(abs(eye_angle(marks)))
    return {
        "images": min(samples, len(files)),
        "found": len(sides),
        "side": round(float(np.median(sides)), 3),
        "dx": round(float(np.median(dxs)), 3),
        "dy": round(float(np.median(dys)), 3),
        "roll_deg_median": round(float(np.median(rolls)), 1),
        "roll_deg_p90": round(float(np.percentile(rolls, 90)), 1),
    }
