"""JPEGs built to cost a decoder far more than their size: what the fuzzer sends the detector.

- ``forged_header``: ``FF`` fill bytes that a naive header reader takes for a marker with a length, which
  sends it past the real SOF (30000×30000) to a forged one (16×16); libjpeg decodes the real one.
- ``truncated_scan``: a SOF of 20000×20000 over a few bytes of scan.
- ``progressive``: a progressive JPEG whose SOF2 says 30000×30000.
- ``decodable_over_limit``: a genuine image, flat and small to send, just over 4096×4096 pixels.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from moodstream.detector.jpeg import SOF


def _encoded(size: tuple[int, int], progressive: bool = False, quality: int = 90) -> bytes:
    image = np.full((size[1], size[0], 3), 128, np.uint8)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)]
    return cv2.imencode(".jpg", image, params)[1].tobytes()


def _sof_at(jpeg: bytes) -> int:
    """Where a well-formed JPEG's SOF marker is."""
    i = 2
    while jpeg[i + 1] not in SOF:
        i += 2 + int.from_bytes(jpeg[i + 2 : i + 4], "big")
    return i


def _resized(jpeg: bytes, width: int, height: int) -> bytes:
    """The same file with its SOF declaring another size."""
    at = _sof_at(jpeg) + 5  # marker (2), length (2), precision (1)
    return jpeg[:at] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[at + 4 :]


@cache
def forged_header() -> bytes:
    small = _encoded((16, 16))
    at = _sof_at(small)
    forged_sof = small[at : at + 2 + int.from_bytes(small[at + 2 : at + 4], "big")]
    body = _resized(small, 30000, 30000)[2:]
    # A reader that takes FF FF for a marker reads the next two bytes as a length and lands on the forgery.
    return b"\xff\xd8\xff\xff" + (len(body) + 2).to_bytes(2, "big") + body + forged_sof


@cache
def truncated_scan() -> bytes:
    whole = _resized(_encoded((16, 16)), 20000, 20000)
    return whole[: whole.index(b"\xff\xda") + 24]


@cache
def progressive() -> bytes:
    return _resized(_encoded((16, 16), progressive=True), 30000, 30000)


@cache
def decodable_over_limit() -> bytes:
    return _encoded((4104, 4104), quality=10)


BOMBS = (forged_header, truncated_scan, progressive, decodable_over_limit)
