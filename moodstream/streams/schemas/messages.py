"""The pipeline's messages: frames, detections, classifications and the two public events.

Every message on a pipeline stream is a msgpack map with ``v`` (schema
version) and ``t`` (message type). Decoding validates types, ranges and sizes
and raises ``SchemaError`` with a reason; the Redis layer sends such payloads
to the dead-letter stream instead of crashing the worker. These codecs are
written out by hand (short keys, positional faces) because they run for every
frame; the slower-moving contracts are declared as ``Record``s (codec.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from moodstream.streams.schemas.codec import MAX_PAYLOAD_BYTES, SchemaError, check_header, pack, unpack

SCHEMA_VERSION = 1
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
MAX_FACES = 256
MAX_CAMERA_LEN = 64


def _req(data: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in data:
        raise SchemaError(f"{what}: missing field {key!r}")
    value = data[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SchemaError(f"{what}: field {key!r} has type {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise SchemaError(f"{what}: field {key!r} is not finite")
    return value


def _camera(data: dict[str, Any], what: str) -> str:
    camera = _req(data, "camera", str, what)
    if not camera or len(camera) > MAX_CAMERA_LEN:
        raise SchemaError(f"{what}: bad camera id")
    return camera


MAX_SIDE = 16384
# Timestamps are Unix seconds; a negative one, or one past 2100, is corrupt or hostile whatever the clock.
TS_RANGE = (0.0, 4_102_444_800.0)
PROBS_SUM_TOLERANCE = 0.01


def _in_range(value: float, low: float, high: float, key: str, what: str) -> None:
    if not low <= value <= high:
        raise SchemaError(f"{what}: field {key!r} out of range ({value!r}; expected {low:g}..{high:g})")


def _frame_fields(data: dict[str, Any], what: str) -> dict[str, Any]:
    """The fields every per-frame message shares: which camera, which frame, when, and its size, each
    checked against the ranges docs/streams.md states."""
    fields = {
        "camera": _camera(data, what),
        "seq": _req(data, "seq", int, what),
        "ts": _req(data, "ts", float, what),
        "width": _req(data, "w", int, what),
        "height": _req(data, "h", int, what),
    }
    _in_range(fields["seq"], 0, 2**63 - 1, "seq", what)
    _in_range(fields["ts"], *TS_RANGE, "ts", what)
    _in_range(fields["width"], 1, MAX_SIDE, "w", what)
    _in_range(fields["height"], 1, MAX_SIDE, "h", what)
    return fields


def _inside(box: tuple[int, int, int, int], fields: dict[str, Any], what: str) -> tuple[int, int, int, int]:
    x, y, w, h = box
    if x + w > fields["width"] or y + h > fields["height"]:
        raise SchemaError(f"{what}: box {list(box)} outside the {fields['width']}x{fields['height']} frame")
    return box


def _box(value: Any, what: str) -> tuple[int, int, int, int]:
    if not isinstance(value, list | tuple) or len(value) != 4 or not all(isinstance(v, int) for v in value):
        raise SchemaError(f"{what}: box must be four integers")
    x, y, w, h = value
    if w <= 0 or h <= 0 or x < 0 or y < 0 or max(x + w, y + h) > 100_000:
        raise SchemaError(f"{what}: box {value} out of range")
    return (x, y, w, h)


def _probs(value: Any, what: str) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) != len(EMOTIONS):
        raise SchemaError(f"{what}: probs must have {len(EMOTIONS)} values")
    out = []
    for p in value:
        if (
            not isinstance(p, int | float)
            or isinstance(p, bool)
            or not math.isfinite(p)
            or not -1e-3 <= p <= 1.001
        ):
            raise SchemaError(f"{what}: probability {p!r} out of range")
        out.append(float(p))
    if abs(sum(out) - 1.0) > PROBS_SUM_TOLERANCE:
        raise SchemaError(f"{what}: probabilities sum to {sum(out):.4f}, not 1")
    return out


class Message:
    TYPE: ClassVar[str] = ""
    camera: str  # every message belongs to one camera (declared again by each dataclass)

    def to_map(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> Self:
        raise NotImplementedError

    def encode(self) -> bytes:
        return pack({"v": SCHEMA_VERSION, "t": self.TYPE, **self.to_map()})

    @classmethod
    def decode(cls, payload: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> Self:
        return cls.from_map(check_header(unpack(payload, cls.TYPE, max_bytes), cls.TYPE, SCHEMA_VERSION))


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
            **_frame_fields(data, what),
            jpeg=_req(data, "jpeg", bytes, what),
            live=_req(data, "live", bool, what),
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
        crop_size = _req(data, "crop", int, what)
        if not 8 <= crop_size <= 512:
            raise SchemaError(f"{what}: crop size {crop_size} out of range")
        fields = _frame_fields(data, what)
        raw_faces = _req(data, "faces", list, what)
        if len(raw_faces) > MAX_FACES:
            raise SchemaError(f"{what}: {len(raw_faces)} faces exceeds {MAX_FACES}")
        faces = []
        for item in raw_faces:
            if not isinstance(item, list) or len(item) != 2 or not isinstance(item[1], bytes):
                raise SchemaError(f"{what}: face must be [box, crop]")
            if len(item[1]) != crop_size * crop_size:
                raise SchemaError(f"{what}: crop has {len(item[1])} bytes, expected {crop_size * crop_size}")
            faces.append(Face(box=_inside(_box(item[0], what), fields, what), crop=item[1]))
        return cls(
            **fields,
            crop_size=crop_size,
            faces=faces,
            live=_req(data, "live", bool, what),
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
        fields = _frame_fields(data, what)
        raw_faces = _req(data, "faces", list, what)
        if len(raw_faces) > MAX_FACES:
            raise SchemaError(f"{what}: {len(raw_faces)} faces exceeds {MAX_FACES}")
        faces = []
        for item in raw_faces:
            if not isinstance(item, list) or len(item) != 2:
                raise SchemaError(f"{what}: face must be [box, probs]")
            box = _inside(_box(item[0], what), fields, what)
            faces.append(Face(box=box, probs=_probs(item[1], what)))
        return cls(
            **fields,
            faces=faces,
            model=_req(data, "model", str, what),
        )


@dataclass
class EmotionEvent(Message):
    """A smoothed emotion for one face track: the public ``emotion`` event."""

    TYPE: ClassVar[str] = "emotion"
    camera: str
    ts: float
    track: int
    label: str
    confidence: float
    probs: dict[str, float]
    box: tuple[int, int, int, int] = (0, 0, 1, 1)
    seq: int = 0
    changed: bool = False  # True when the label changed with this event
    latency_ms: float = 0.0  # capture -> smoothed, measured by the smoother

    def to_map(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "ts": self.ts,
            "track": self.track,
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probs": {k: round(v, 4) for k, v in self.probs.items()},
            "box": list(self.box),
            "seq": self.seq,
            "changed": self.changed,
            "latency_ms": round(self.latency_ms, 2),
        }

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> EmotionEvent:
        what = "emotion"
        label = _req(data, "label", str, what)
        if label not in EMOTIONS:
            raise SchemaError(f"{what}: unknown label {label!r}")
        probs = _req(data, "probs", dict, what)
        if set(probs) != set(EMOTIONS):
            raise SchemaError(f"{what}: probs must be keyed by the {len(EMOTIONS)} emotions")
        values = _probs([probs[e] for e in EMOTIONS], what)
        return cls(
            camera=_camera(data, what),
            ts=_req(data, "ts", float, what),
            track=_req(data, "track", int, what),
            label=label,
            confidence=_req(data, "confidence", float, what),
            probs=dict(zip(EMOTIONS, values, strict=True)),
            box=_box(_req(data, "box", list, what), what),
            seq=_req(data, "seq", int, what),
            changed=_req(data, "changed", bool, what),
            latency_ms=_req(data, "latency_ms", float, what),
        )

    def public(self) -> dict[str, Any]:
        """The JSON shape served by ``moodstream watch`` and the Socket.IO feed."""
        return {"type": "emotion", **self.to_map()}


@dataclass
class Track:
    title: str
    artist: str
    spotify_id: str
    url: str
    source: str  # "catalog" or "spotify"
    album: str = ""
    popularity: int = 0
    embed_url: str = ""
    preview_url: str = ""
    reason: str = ""

    def to_map(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "artist": self.artist,
            "spotify_id": self.spotify_id,
            "url": self.url,
            "source": self.source,
            "album": self.album,
            "popularity": self.popularity,
            "embed_url": self.embed_url,
            "preview_url": self.preview_url,
            "reason": self.reason,
        }

    @classmethod
    def from_map(cls, data: Any) -> Track:
        what = "track"
        if not isinstance(data, dict):
            raise SchemaError(f"{what}: must be a map")
        return cls(
            title=_req(data, "title", str, what),
            artist=_req(data, "artist", str, what),
            spotify_id=_req(data, "spotify_id", str, what),
            url=_req(data, "url", str, what),
            source=_req(data, "source", str, what),
            album=data.get("album", "") if isinstance(data.get("album", ""), str) else "",
            popularity=data.get("popularity", 0) if isinstance(data.get("popularity", 0), int) else 0,
            embed_url=str(data.get("embed_url", "")),
            preview_url=str(data.get("preview_url", "") or ""),
            reason=str(data.get("reason", "")),
        )


@dataclass
class RecommendationEvent(Message):
    """A music suggestion for one camera: the public ``recommendation`` event."""

    TYPE: ClassVar[str] = "recommendation"
    camera: str
    ts: float
    emotion: str
    strategy: str
    mood: str
    tracks: list[Track]

    def to_map(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "ts": self.ts,
            "emotion": self.emotion,
            "strategy": self.strategy,
            "mood": self.mood,
            "tracks": [t.to_map() for t in self.tracks],
        }

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> RecommendationEvent:
        what = "recommendation"
        emotion = _req(data, "emotion", str, what)
        if emotion not in EMOTIONS:
            raise SchemaError(f"{what}: unknown emotion {emotion!r}")
        return cls(
            camera=_camera(data, what),
            ts=_req(data, "ts", float, what),
            emotion=emotion,
            strategy=_req(data, "strategy", str, what),
            mood=_req(data, "mood", str, what),
            tracks=[Track.from_map(t) for t in _req(data, "tracks", list, what)],
        )

    def public(self) -> dict[str, Any]:
        return {"type": "recommendation", **self.to_map()}


@dataclass
class AlertEvent(Message):
    """An alert rule fired for one camera: the public ``alert`` event (and the webhook's body).

    ``emotion`` held on face track ``track`` from ``since`` until ``ts``, at or above the rule's
    confidence; the rule then stays quiet on that camera for its cooldown."""

    TYPE: ClassVar[str] = "alert"
    camera: str
    ts: float  # when it fired: the time of the emotion event that completed the hold
    rule: str
    emotion: str
    track: int
    since: float
    confidence: float

    def to_map(self) -> dict[str, Any]:
        return {
            "camera": self.camera,
            "ts": self.ts,
            "rule": self.rule,
            "emotion": self.emotion,
            "track": self.track,
            "since": self.since,
            "held_s": round(self.ts - self.since, 3),
            "confidence": round(self.confidence, 4),
        }

    @classmethod
    def from_map(cls, data: dict[str, Any]) -> AlertEvent:
        what = "alert"
        emotion = _req(data, "emotion", str, what)
        if emotion not in EMOTIONS:
            raise SchemaError(f"{what}: unknown emotion {emotion!r}")
        confidence = _req(data, "confidence", float, what)
        _in_range(confidence, 0.0, 1.0, "confidence", what)
        return cls(
            camera=_camera(data, what),
            ts=_req(data, "ts", float, what),
            rule=_req(data, "rule", str, what),
            emotion=emotion,
            track=_req(data, "track", int, what),
            since=_req(data, "since", float, what),
            confidence=confidence,
        )

    def public(self) -> dict[str, Any]:
        return {"type": "alert", **self.to_map()}
