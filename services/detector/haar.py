"""Haar-cascade face detection tuned for speed (the research prototypes' method).

Detection runs on a downscaled gray frame, where it is several times
cheaper; boxes are mapped back and crops are cut from the full-resolution
frame, so the classifier still sees every pixel the camera gave.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..common.settings import DetectorSettings


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
        out: list[FaceCrop] = []
        for x, y, bw, bh in boxes[: self.cfg.max_faces]:
            fx, fy = round(x / scale), round(y / scale)
            fw, fh = round(bw / scale), round(bh / scale)
            fx, fy = max(0, fx), max(0, fy)
            fw, fh = min(fw, w - fx), min(fh, h - fy)
            if fw < 4 or fh < 4:
                continue
            crop = cv2.resize(
                gray[fy : fy + fh, fx : fx + fw],
                (self.crop_size, self.crop_size),
                interpolation=cv2.INTER_AREA,
            )
            out.append(FaceCrop(box=(fx, fy, fw, fh), crop=crop))
        return out


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
