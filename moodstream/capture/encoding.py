"""A captured frame as the JPEG that capture publishes: downscaled to the camera's ``max_width``."""

from __future__ import annotations

import cv2

from moodstream.capture.sources import Captured


def encode_jpeg(cap: Captured, max_width: int, quality: int) -> tuple[bytes, int, int] | None:
    """(JPEG, width, height); recordings' frames pass unchanged. None when the encoder refuses."""
    if cap.jpeg is not None:
        return cap.jpeg, cap.width, cap.height
    image = cap.image
    assert image is not None
    h, w = image.shape[:2]
    if w > max_width:
        scale = max_width / w
        image = cv2.resize(image, (max_width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return None
    return buf.tobytes(), w, h
