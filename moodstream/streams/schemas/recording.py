"""The ``.msrec`` recording format: a camera's frames with their timing, in a file.

A recording is a stream of msgpack maps: a header, then one map per frame with its offset from the
first frame, its size and its JPEG bytes. It is written as frames arrive and read lazily, so a
recording of any length fits in memory a frame at a time, and a recording cut short (a crash, a full
disk) still replays up to its last whole frame. Keys are short and fixed: files outlive versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import msgpack

from moodstream.streams.schemas.codec import Record, SchemaError, pack, wire

MAGIC = "moodstream-recording"
VERSION = 1
MAX_RECORD_BYTES = 64 * 1024 * 1024


@dataclass
class RecordingHeader(Record):
    camera: str
    fps: float
    created: float

    def encode(self) -> bytes:
        return pack({"magic": MAGIC, "v": VERSION, **self.to_map()})

    @classmethod
    def from_map(cls, data: Any, where: str = "recording header") -> RecordingHeader:
        """A file's header map: its magic and version checked first."""
        if not isinstance(data, dict) or data.get("magic") != MAGIC:
            raise SchemaError("not a moodstream recording")
        if data.get("v") != VERSION:
            raise SchemaError(f"unsupported recording version {data.get('v')!r}")
        return super().from_map(data, where)


@dataclass
class RecordedFrame(Record):
    offset: float = field(metadata=wire("o"))  # seconds since the first frame
    width: int = field(metadata=wire("w"))
    height: int = field(metadata=wire("h"))
    jpeg: bytes = field(metadata=wire("j"))
    seq: int = field(metadata=wire("s"))
    ts: float = field(metadata=wire("ts"))  # original capture time

    def encode(self) -> bytes:
        return pack(self.to_map())


def _maps(fh: IO[bytes]) -> Iterator[Any]:
    unpacker = msgpack.Unpacker(fh, raw=False, max_buffer_size=MAX_RECORD_BYTES)
    try:
        yield from unpacker
    except (ValueError, msgpack.UnpackException) as exc:
        # A truncated tail (the recorder was killed) ends the recording; earlier frames stand.
        if "incomplete" not in str(exc).lower() and "unexpected" not in str(exc).lower():
            raise SchemaError(f"damaged recording: {exc}") from exc


def read_header(fh: IO[bytes]) -> RecordingHeader:
    first = next(_maps(fh), None)
    if first is None:
        raise SchemaError("empty or not a recording")
    return RecordingHeader.from_map(first)


def read_frames(fh: IO[bytes]) -> Iterator[RecordedFrame]:
    """Every whole frame after the header, lazily."""
    maps = _maps(fh)
    RecordingHeader.from_map(next(maps, None))
    for i, data in enumerate(maps):
        yield RecordedFrame.from_map(data, f"frame record {i}")
