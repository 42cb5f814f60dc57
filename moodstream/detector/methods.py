"""The detection method ``[detector] method`` names, built once per worker."""

from __future__ import annotations

import cv2
import numpy as np

from moodstream.config import DetectorSettings
from moodstream.detector.finder import Image, Method


def method_for(cfg: DetectorSettings) -> Method:
    """Haar, or BlazeFace with its models checked against their pinned sums (fetched if missing)."""
    if cfg.method == "haar":
        from moodstream.detector.haar import Haar

        return Haar(cfg)
    from moodstream.assets import fetch_detector
    from moodstream.detector.blazeface import BlazeFaceMethod

    return BlazeFaceMethod(cfg, fetch_detector())


def decode_image(jpeg: bytes, color: bool) -> Image | None:
    """The frame as the method needs it (gray, or colour and gray), or None when it does not decode."""
    data = np.frombuffer(jpeg, np.uint8)
    try:
        if not color:
            gray = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
            return Image(gray) if gray is not None else None
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error:  # over OpenCV's pixel ceiling (runtime/limits.py), say
        return None
    return Image(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), bgr) if bgr is not None else None


def image_of(bgr: np.ndarray) -> Image:
    """A frame already decoded (a video read by ``analyze``, a test's picture)."""
    return Image(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), bgr)
