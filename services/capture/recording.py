"""The ``.msrec`` recording format: a camera's frames with their timing.

A recording is a msgpack stream: a header map, then one map per frame with
its offset from the first frame, its size and its JPEG bytes. It is written
as frames arrive and read lazily, so a recording of any length fits in memory
a frame at a time, and a recording cut short (a crash, a full disk) still
replays up to its last whole frame.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgpack

MAGIC = "moodstream-recording"
VERSION = 1


class RecordingError(Exception):
    pass


@dataclass
class RecordedFrame:
    offset: float  # seconds since the first frame
    width: int
    height: int
    jpeg: bytes
    seq: int = 0
    ts: float = 0.0  # original capture time


class RecordingWriter:
    def __init__(self, path: str | Path, camera: str, fps: float = 0.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] = self.path.open("wb")
        self._packer = msgpack.Packer(use_bin_type=True)
        self._first_ts: float | None = None
        self.frames = 0
        header = {"magic": MAGIC, "v": VERSION, "camera": camera, "fps": fps, "created": time.time()}
        self._fh.write(self._packer.pack(header))

    def write(self, ts: float, width: int, height: int, jpeg: bytes, seq: int = 0) -> None:
        if self._first_ts is None:
            self._first_ts = ts
        record = {"o": ts - self._first_ts, "w": width, "h": height, "j": jpeg, "s": seq, "ts": ts}
        self._fh.write(self._packer.pack(record))
        self.frames += 1

    def close(self) -> None:
        self._fh.flush()
        self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class RecordingReader:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise RecordingError(f"recording not found: {self.path}")
        self.header = self._read_header()

    def _read_header(self) -> dict[str, Any]:
        with self.path.open("rb") as fh:
            unpacker = msgpack.Unpacker(fh, raw=False, max_buffer_size=64 * 1024 * 1024)
            try:
                header = next(unpacker)
            except (StopIteration, ValueError, msgpack.ExtraData) as exc:
                raise RecordingError(f"{self.path}: empty or not a recording") from exc
        if not isinstance(header, dict) or header.get("magic") != MAGIC:
            raise RecordingError(f"{self.path}: not a moodstream recording")
        if header.get("v") != VERSION:
            raise RecordingError(f"{self.path}: unsupported recording version {header.get('v')}")
        return header

    @property
    def camera(self) -> str:
        return str(self.header.get("camera", ""))

    @property
    def fps(self) -> float:
        return float(self.header.get("fps") or 0.0)

    def frames(self) -> Iterator[RecordedFrame]:
        with self.path.open("rb") as fh:
            unpacker = msgpack.Unpacker(fh, raw=False, max_buffer_size=64 * 1024 * 1024)
            first = True
            try:
                for record in unpacker:
                    if first:
                        first = False
                        continue
                    if not isinstance(record, dict) or not isinstance(record.get("j"), bytes):
                        raise RecordingError(f"{self.path}: malformed frame record")
                    yield RecordedFrame(
                        offset=float(record["o"]),
                        width=int(record["w"]),
                        height=int(record["h"]),
                        jpeg=record["j"],
                        seq=int(record.get("s", 0)),
                        ts=float(record.get("ts", 0.0)),
                    )
            except (ValueError, msgpack.UnpackException) as exc:
                # A truncated tail (the recorder was killed) ends the recording; earlier frames stand.
                if "incomplete" not in str(exc).lower() and "unexpected" not in str(exc).lower():
                    raise RecordingError(f"{self.path}: {exc}") from exc
