"""A dead letter: a message no stage could use, parked with the reason (``moodstream dead`` lists them).

Unlike the other contracts this is a Redis stream entry of named fields rather than one msgpack map,
so that ``XRANGE`` in redis-cli shows the reason as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moodstream.streams.schemas.codec import SchemaError, unpack

VERSION = 1
MAX_REASON = 2000


@dataclass
class DeadLetter:
    stream: str  # where the message was
    id: str  # its entry id there
    group: str
    stage: str
    reason: str
    ts: float
    payload: bytes  # the message's first ``dead_payload_bytes``, for a post-mortem (or a replay, if whole)
    camera: str = ""  # the message's origin, where it could be read
    seq: int = -1
    msg_ts: float = 0.0
    size: int = 0  # the whole payload's size (payload holds at most its first dead_payload_bytes)

    @property
    def truncated(self) -> bool:
        return self.size > len(self.payload)

    def encode(self) -> dict[bytes, bytes | str]:
        return {
            b"v": str(VERSION),
            b"stream": self.stream,
            b"id": self.id,
            b"group": self.group,
            b"stage": self.stage,
            b"reason": self.reason[:MAX_REASON],
            b"ts": repr(self.ts),
            b"camera": self.camera,
            b"seq": str(self.seq),
            b"mts": repr(self.msg_ts),
            b"size": str(self.size),
            b"d": self.payload,
        }

    @classmethod
    def bounded(cls, payload: bytes, limit: int, **fields: Any) -> DeadLetter:
        """A letter keeping at most ``limit`` bytes of ``payload``, with its origin read from it if it can be.

        Why: during a rolling upgrade with a version mismatch every frame is dead-lettered; whole frames
        would fill Redis's memory, while the reason, the camera, seq and ts are what an operator needs.
        """
        camera, seq, msg_ts = origin_of(payload)
        return cls(
            payload=payload[:limit], camera=camera, seq=seq, msg_ts=msg_ts, size=len(payload), **fields
        )

    @classmethod
    def decode(cls, fields: dict[bytes, bytes]) -> DeadLetter:
        def text(name: str) -> str:
            value = fields.get(name.encode())
            if value is None:
                raise SchemaError(f"dead letter: missing field {name!r}")
            return value.decode(errors="replace")

        version = fields.get(b"v")
        if version != str(VERSION).encode():
            raise SchemaError(f"dead letter: unsupported version {version!r}")
        try:
            ts, size = float(text("ts")), int(text("size"))
        except ValueError as exc:
            raise SchemaError("dead letter: field 'ts' or 'size' is not a number") from exc
        return cls(
            stream=text("stream"),
            id=text("id"),
            group=text("group"),
            stage=text("stage"),
            reason=text("reason"),
            ts=ts,
            payload=fields.get(b"d", b""),
            camera=fields.get(b"camera", b"").decode(errors="replace"),
            seq=_number(fields.get(b"seq"), int, -1),
            msg_ts=_number(fields.get(b"mts"), float, 0.0),
            size=size,
        )


def _number(raw: bytes | None, kind: type, default: Any) -> Any:
    try:
        return kind(raw) if raw is not None else default
    except ValueError:
        return default


def origin_of(payload: bytes) -> tuple[str, int, float]:
    """The camera, seq and ts of a message, as far as its bytes can be read; blanks where not."""
    try:
        data = unpack(payload, "dead letter")
    except Exception:  # noqa: BLE001 - any garbage: the origin is simply unknown
        return "", -1, 0.0
    if not isinstance(data, dict):
        return "", -1, 0.0
    camera, seq, ts = data.get("camera"), data.get("seq"), data.get("ts")
    return (
        camera[:64] if isinstance(camera, str) else "",
        seq if isinstance(seq, int) and not isinstance(seq, bool) else -1,
        float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else 0.0,
    )
