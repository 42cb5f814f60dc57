"""The JPEG header is read as libjpeg reads it: fill bytes, one SOF, nothing that parses differently."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from moodstream.bench.jpeg_bombs import decodable_over_limit, forged_header, progressive, truncated_scan
from moodstream.detector.jpeg import JpegHeaderError, jpeg_size, read_jpeg_size


def naive_size(data: bytes) -> tuple[int, int] | None:
    """The reader this replaced: it took an FF fill byte for a marker with a length."""
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
        i += 2 + length
    return None


def encoded(width: int, height: int, progressive: bool = False) -> bytes:
    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
    params = [cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)]
    return cv2.imencode(".jpg", image, params)[1].tobytes()


def test_real_jpegs_give_their_size() -> None:
    assert jpeg_size(encoded(53, 37)) == (53, 37)
    assert jpeg_size(encoded(640, 360, progressive=True)) == (640, 360)
    data = encoded(32, 24)
    with_fill = data[:2] + b"\xff\xff\xff" + data[2:]  # fill bytes before a marker, as libjpeg allows
    assert jpeg_size(with_fill) == (32, 24)
    assert cv2.imdecode(np.frombuffer(with_fill, np.uint8), 1).shape == (24, 32, 3)


def test_the_forged_header_that_fooled_the_old_reader_is_refused() -> None:
    bomb = forged_header()
    assert naive_size(bomb) == (16, 16)  # what the old check let through: libjpeg reads 30000x30000
    with pytest.raises(JpegHeaderError):
        read_jpeg_size(bomb)


@pytest.mark.parametrize(
    "data, why",
    [
        (b"\xff\xd8garbage", "expected a marker"),
        (b"\x89PNG\r\n\x1a\n", "no SOI"),
        (encoded(16, 16)[:40], "past the end"),
        (b"\xff\xd8\xff\xda\x00\x08" + bytes(6), "SOS before SOF"),
    ],
)
def test_what_does_not_parse_is_refused_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(JpegHeaderError, match=why):
        read_jpeg_size(data)


def test_two_frames_headers_are_refused() -> None:
    data = encoded(16, 16)
    i = data.index(b"\xff\xc0")
    sof = data[i : i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")]
    with pytest.raises(JpegHeaderError, match="more than one SOF"):
        read_jpeg_size(data[:i] + sof + data[i:])


def test_the_other_bombs_give_their_true_size_for_the_pixel_limit() -> None:
    assert read_jpeg_size(truncated_scan()) == (20000, 20000)
    assert read_jpeg_size(progressive()) == (30000, 30000)
    assert read_jpeg_size(decodable_over_limit()) == (4104, 4104)
