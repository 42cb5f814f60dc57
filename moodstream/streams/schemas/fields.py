"""What every pipeline message shares: the schema version, the emotion order, the field checks and
the ``Message`` base that encodes and decodes.

Every message on a pipeline stream is a msgpack map with ``v`` (schema version) and ``t`` (message
type). Decoding validates types, ranges and sizes and raises ``SchemaError`` with a reason; the Redis
layer sends such payloads to the dead-letter stream instead of crashing the worker. The checks here
are the ranges docs/streams.md states; messages.py and events.py build their codecs from them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Self

from moodstream.streams.schemas.codec import MAX_PAYLOAD_BYTES, SchemaError, check_header, pack, unpack

SCHEMA_VERSION = 1
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
MAX_FACES = 256
MAX_CAMERA_LEN = 64


def required(data: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
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


def camera_of(data: dict[str, Any], what: str) -> str:
    camera = required(data, "camera", str, what)
    if not camera or len(camera) > MAX_CAMERA_LEN:
        raise SchemaError(f"{what}: bad camera id")
    return camera


MAX_SIDE = 16384
# Timestamps are Unix seconds; a negative one, or one past 2100, is corrupt or hostile whatever the clock.
TS_RANGE = (0.0, 4_102_444_800.0)
PROBS_SUM_TOLERANCE = 0.01


def check_range(value: float, low: float, high: float, key: str, what: str) -> None:
    if not low <= value <= high:
        raise SchemaError(f"{what}: field {key!r} out of range ({value!r}; expected {low:g}..{high:g})")


def frame_fields(data: dict[str, Any], what: str) -> dict[str, Any]:
    """The fields every per-frame message shares: which camera, which frame, when, and its size, each
    checked against the ranges docs/streams.md states."""
    fields = {
        "camera": camera_of(data, what),
        "seq": required(data, "seq", int, what),
        "ts": required(data, "ts", float, what),
        "width": required(data, "w", int, what),
        "height": required(data, "h", int, what),
    }
    check_range(fields["seq"], 0, 2**63 - 1, "seq", what)
    check_range(fields["ts"], *TS_RANGE, "ts", what)
    check_range(fields["width"], 1, MAX_SIDE, "w", what)
    check_range(fields["height"], 1, MAX_SIDE, "h", what)
    return fields


def box_inside(
    box: tuple[int, int, int, int], fields: dict[str, Any], what: str
) -> tuple[int, int, int, int]:
    x, y, w, h = box
    if x + w > fields["width"] or y + h > fields["height"]:
        raise SchemaError(f"{what}: box {list(box)} outside the {fields['width']}x{fields['height']} frame")
    return box


def box_of(value: Any, what: str) -> tuple[int, int, int, int]:
    if not isinstance(value, list | tuple) or len(value) != 4 or not all(isinstance(v, int) for v in value):
        raise SchemaError(f"{what}: box must be four integers")
    x, y, w, h = value
    if w <= 0 or h <= 0 or x < 0 or y < 0 or max(x + w, y + h) > 100_000:
        raise SchemaError(f"{what}: box {value} out of range")
    return (x, y, w, h)


def probs_of(value: Any, what: str) -> list[float]:
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
