"""The pipeline's per-frame messages: a captured frame, the faces found in it, and their emotions.

These codecs are written out by hand (short keys, positional faces) because they run for every frame;
the slower-moving contracts are declared as ``Record``s (codec.py), the public events are events.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from moodstream.streams.schemas.codec import SchemaError
from moodstream.streams.schemas.fields import (
    EMOTIONS,
    MAX_FACES,
    Message,
    box_inside,
    box_of,
    frame_fields,
    probs_of,
    required,
)


@dataclass
class Frame(Message):
    """One captured frame, JPEG-encoded.

    The map's first keys (version, type, camera, seq, ts) come before the JPEG: the dashboard tells a
    camera's new frame from the one it last sent by comparing those first bytes alone.
    """

    TYPE: ClassVar[str] = "frame"
    camera: str
    seq: int
    ts: float  # capture time, epoch seconds
    width: int
    height: int
    jpeg: bytes
    live: bool = True  # live frames may be skipped when stale; file/replay frames with every_frame are not

    def to_map(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "seq": self.seq,
            "ts": self.ts,
            "w": self.width,
            "h": self.height,
            "jpeg": self.jpeg,
            "live": self.live,
        }

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> Frame:
        what = "frame"
        frame = cls(
            **frame_fields(data, what),
            jpeg=required(data, "jpeg", bytes, what),
            live=required(data, "live", bool, what),
        )
        if not frame.jpeg.startswith(b"\xff\xd8"):
            raise SchemaError("frame: jpeg field is not a JPEG")
        return frame


@dataclass
class Face:
    box: tuple[int, int, int, int]  # x, y, w, h in full-resolution frame pixels
    crop: bytes = b""  # gray uint8, crop_size x crop_size, row-major (detections only)
    probs: list[float] = field(default_factory=list)  # classifier output, EMOTIONS order

    def label(self) -> str:
        return EMOTIONS[max(range(len(self.probs)), key=self.probs.__getitem__)]


@dataclass
class Detections(Message):
    """The faces found in one frame, with model-sized gray crops."""

    TYPE: ClassVar[str] = "detections"
    camera: str
    seq: int
    ts: float
    width: int
    height: int
    crop_size: int
    faces: list[Face]
    live: bool = True

    def to_map(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "seq": self.seq,
            "ts": self.ts,
            "w": self.width,
            "h": self.height,
            "crop": self.crop_size,
            "live": self.live,
            "faces": [[list(f.box), f.crop] for f in self.faces],
        }

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> Detections:
        what = "detections"
        crop_size = required(data, "crop", int, what)
        if not 8 <= crop_size <= 512:
            raise SchemaError(f"{what}: crop size {crop_size} out of range")
        fields = frame_fields(data, what)
        raw_faces = required(data, "faces", list, what)
        if len(raw_faces) > MAX_FACES:
            raise SchemaError(f"{what}: {len(raw_faces)} faces exceeds {MAX_FACES}")
        faces = []
        for item in raw_faces:
            if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], bytes):
                raise SchemaError(f"{what}: face must be [box, crop]")
            if len(item[1]) != crop_size * crop_size:
                raise SchemaError(f"{what}: crop has {len(item[1])} bytes, expected {crop_size * crop_size}")
            faces.append(Face(box=box_inside(box_of(item[0], what), fields, what), crop=item[1]))
        return cls(
            **fields,
            crop_size=crop_size,
            faces=faces,
            live=required(data, "live", bool, what),
        )


@dataclass
class Classified(Message):
    """Per-face class probabilities for one frame (raw, unsmoothed)."""

    TYPE: ClassVar[str] = "classified"
    camera: str
    seq: int
    ts: float
    width: int
    height: int
    faces: list[Face]
    model: str = ""

    def to_map(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "seq": self.seq,
            "ts": self.ts,
            "w": self.width,
            "h": self.height,
            "model": self.model,
            "faces": [[list(f.box), [round(p, 5) for p in f.probs]] for f in self.faces],
        }

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> Classified:
        what = "classified"
        fields = frame_fields(data, what)
        raw_faces = required(data, "faces", list, what)
        if len(raw_faces) > MAX_FACES:
            raise SchemaError(f"{what}: {len(raw_faces)} faces exceeds {MAX_FACES}")
        faces = []
        for item in raw_faces:
            if not isinstance(item, list) or len(item) != 2:
                raise SchemaError(f"{what}: face must be [box, probs]")
            box = box_inside(box_of(item[0], what), fields, what)
            faces.append(Face(box=box, probs=probs_of(item[1], what)))
        return cls(
            **fields,
            faces=faces,
            model=required(data, "model", str, what),
        )
