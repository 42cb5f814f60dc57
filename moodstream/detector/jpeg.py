"""A JPEG's size from its header, read the way libjpeg reads it, before anything is decoded.

An oversized frame must cost nothing, so its size is read first; and the size read must be the one the
decoder will use. libjpeg skips any number of ``FF`` fill bytes before a marker, takes the first SOF
and refuses a second, and stops reading the header at the first SOS. A reader that takes a fill byte
for a marker with a length can be sent to a forged SOF while libjpeg decodes the real one: a 50 KB file
then passes as 16×16 and decodes as 30000×30000. So anything that does not parse as libjpeg would parse
it, or parses differently, is refused.
"""

from __future__ import annotations

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
# Start-of-frame markers (baseline, extended, progressive, lossless, arithmetic...); C4 (DHT), C8
# (reserved) and CC (DAC) share the range but are not frames.
SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length


class JpegHeaderError(ValueError):
    """The header does not parse as a decoder would parse it."""


def _frame_size(data: bytes, start: int, length: int) -> tuple[int, int]:
    """Width and height of a SOF segment, checked the way libjpeg checks it."""
    if length < 8:
        raise JpegHeaderError("SOF segment too short")
    height = int.from_bytes(data[start + 1 : start + 3], "big")
    width = int.from_bytes(data[start + 3 : start + 5], "big")
    components = data[start + 5]
    if width == 0 or height == 0:
        raise JpegHeaderError("SOF declares no size (or a DNL height)")
    if not 1 <= components <= 4 or length != 8 + 3 * components:
        raise JpegHeaderError("SOF segment malformed")
    return width, height


def read_jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the one SOF before the first SOS; JpegHeaderError otherwise."""
    n = len(data)
    if n < 4 or data[0] != 0xFF or data[1] != SOI:
        raise JpegHeaderError("not a JPEG (no SOI)")
    i, size = 2, None
    while True:
        if i >= n or data[i] != 0xFF:
            raise JpegHeaderError("expected a marker")
        while i < n and data[i] == 0xFF:  # fill bytes: any number of FF before the marker
            i += 1
        if i >= n:
            raise JpegHeaderError("truncated header")
        marker = data[i]
        i += 1
        if marker in STANDALONE:
            continue
        if marker in (0x00, SOI, EOI):
            raise JpegHeaderError(f"marker {marker:02X} in the header")
        if i + 2 > n:
            raise JpegHeaderError("truncated header")
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2 or i + length > n:
            raise JpegHeaderError("segment runs past the end")
        if marker in SOF:
            if size is not None:
                raise JpegHeaderError("more than one SOF")
            size = _frame_size(data, i + 2, length)
        elif marker == SOS:
            if size is None:
                raise JpegHeaderError("SOS before SOF")
            return size
        i += length


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height, or None when the header does not parse as libjpeg would parse it."""
    try:
        return read_jpeg_size(data)
    except JpegHeaderError:
        return None
