"""Ceilings a process sets on native libraries before it loads them.

OpenCV refuses to decode an image of more than ``OPENCV_IO_MAX_IMAGE_PIXELS`` pixels (2³⁰ by default:
one frame could take a gigabyte), and reads that ceiling once, when it loads. Every command sets it to
``[streams] max_frame_pixels`` as it loads its settings, before any stage imports OpenCV, so that a
frame whose header lies about its size still cannot be decoded past the limit.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

OPENCV_PIXELS = "OPENCV_IO_MAX_IMAGE_PIXELS"


def cap_image_decoding(max_pixels: int) -> bool:
    """Set OpenCV's pixel ceiling; False (and a warning) when OpenCV is already loaded and keeps its own."""
    if "cv2" in sys.modules:  # the ceiling set at start stays (cli/main.py); headers are checked anyway
        log.debug("OpenCV already loaded with ceiling %s", os.environ.get(OPENCV_PIXELS))
        return False
    os.environ[OPENCV_PIXELS] = str(max_pixels)
    return True
