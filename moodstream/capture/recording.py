"""Writing and reading ``.msrec`` recordings (the format is moodstream/streams/schemas/recording.py).

A recording is written as frames arrive and read lazily, so one of any length
fits in memory a frame at a time, and one cut short (a crash, a full disk)
still replays up to its last whole frame.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from moodstream.errors import UserError
from moodstream.streams.schemas import RecordedFrame, RecordingHeader, SchemaError, read_frames, read_header


class RecordingError(UserError):
    pass


class RecordingWriter:
    def __init__(self, path: str | Path, camera: str, fps: float = 0.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] = self.path.open("wb")
        self._first_ts: float | None = None
        self.frames = 0
        self._fh.write(RecordingHeader(camera=camera, fps=fps, created=time.time()).encode())

    def write(self, ts: float, width: int, height: int, jpeg: bytes, seq: int = 0) -> None:
        if self._first_ts is None:
            self._first_ts = ts
        record = RecordedFrame(
            offset=ts - self._first_ts, width=width, height=height, jpeg=jpeg, seq=seq, ts=ts
        )
        self._fh.write(record.encode())
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
        with self.path.open("rb") as fh:
            try:
                self.header = read_header(fh)
            except SchemaError as exc:
                raise RecordingError(f"{self.path}: {exc}") from exc

    @property
    def camera(self) -> str:
        return self.header.camera

    @property
    def fps(self) -> float:
        return self.header.fps

    def frames(self) -> Iterator[RecordedFrame]:
        with self.path.open("rb") as fh:
            try:
                yield from read_frames(fh)
            except SchemaError as exc:
                raise RecordingError(f"{self.path}: {exc}") from exc
