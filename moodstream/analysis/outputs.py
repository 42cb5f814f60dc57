"""Where ``analyze`` writes: rows as CSV, JSON lines or Parquet (by the file's suffix), and optionally
the video with boxes and labels drawn on it."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from moodstream.analysis.run import FaceRow
from moodstream.config.privacy import Protection
from moodstream.detector.protect import protect
from moodstream.errors import UserError

FORMATS = (".csv", ".jsonl", ".parquet")
COLUMNS = ("frame", "t", "track", "box", "landmarks", "probs", "label", "smoothed")


class RowWriter:
    """Rows to ``path`` in the format its suffix names; nested values are JSON text in CSV."""

    def __init__(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix not in FORMATS:
            raise UserError(f"--out {path}: name a {', '.join(FORMATS)} file")
        self.path, self.suffix = path, suffix
        self._rows: list[dict[str, Any]] = []  # Parquet is written at the end, in one table
        self._fh: IO[str] | None = None
        self._csv: Any = None
        if suffix == ".parquet":
            _pyarrow()  # before any frame is analysed, not after
        else:
            self._fh = path.open("w", newline="")
            if suffix == ".csv":
                self._csv = csv.writer(self._fh)
                self._csv.writerow(COLUMNS)

    def write(self, rows: list[FaceRow]) -> None:
        for row in rows:
            data = row.to_map()
            if self.suffix == ".jsonl":
                assert self._fh is not None
                self._fh.write(json.dumps(data) + "\n")
            elif self.suffix == ".csv":
                self._csv.writerow(
                    [json.dumps(data[c]) if isinstance(data[c], list) else data[c] for c in COLUMNS]
                )
            else:
                self._rows.append(data)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self.suffix == ".parquet":
            _write_parquet(self.path, self._rows)


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 - the writer
    except ImportError as exc:
        raise UserError("writing Parquet needs pyarrow: pip install 'moodstream[parquet]'") from exc
    return pyarrow


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    pa = _pyarrow()
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("frame", pa.int64()),
            ("t", pa.float64()),
            ("track", pa.int64()),
            ("box", pa.list_(pa.int64())),
            ("landmarks", pa.list_(pa.list_(pa.float64()))),
            ("probs", pa.list_(pa.float64())),
            ("label", pa.string()),
            ("smoothed", pa.string()),
        ]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


class Annotator:
    """The input's frames with each face's box, track and smoothed label, as an MP4; with
    ``protection`` (``[privacy] blur_faces``, the default), each face blurred as the page shows it."""

    def __init__(self, path: Path, fps: float, protection: Protection | None = None) -> None:
        if path.suffix.lower() != ".mp4":
            raise UserError(f"--annotate {path}: name an .mp4 file")
        self.path, self.fps, self.protection = path, fps, protection
        self._writer: cv2.VideoWriter | None = None
        self._size = (0, 0)

    def write(self, bgr: np.ndarray, rows: list[FaceRow]) -> None:
        if self._writer is None:
            h, w = bgr.shape[:2]
            self._size = (w, h)
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._writer.isOpened():
                raise UserError(f"--annotate {self.path}: cannot write an MP4 there")
        boxes = [row.box for row in rows]
        frame = protect(bgr, boxes, self.protection) if self.protection else bgr.copy()
        for row in rows:
            x, y, w, h = row.box
            cv2.rectangle(frame, (x, y), (x + w, y + h), (80, 220, 80), 2)
            text = f"#{row.track} {row.smoothed or row.label}"
            cv2.putText(frame, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (80, 220, 80), 1)
        if frame.shape[:2] != self._size[::-1]:  # a folder's pictures differ in size: fit each in the first's
            frame = _fit(frame, self._size)
        self._writer.write(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()


def _fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``frame`` scaled to fit ``size`` (width, height), centred on black."""
    w, h = size
    scale = min(w / frame.shape[1], h / frame.shape[0])
    small = cv2.resize(frame, (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale))))
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out
