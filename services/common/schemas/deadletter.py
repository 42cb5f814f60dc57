"""A dead letter: a message no stage could use, parked with the reason (``moodstream dead`` lists them).

Unlike the other contracts this is a Redis stream entry of named fields rather than one msgpack map,
so that ``XRANGE`` in redis-cli shows the reason as text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codec import SchemaError

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
    payload: bytes  # as it was, for a post-mortem

    def to_fields(self) -> dict[bytes, bytes | str]:
        return {
            b"v": str(VERSION),
            b"stream": self.stream,
            b"id": self.id,
            b"group": self.group,
            b"stage": self.stage,
            b"reason": self.reason[:MAX_REASON],
            b"ts": repr(self.ts),
            b"d": self.payload,
        }

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> DeadLetter:
        def text(name: str) -> str:
            value = fields.get(name.encode())
            if value is None:
                raise SchemaError(f"dead letter: missing field {name!r}")
            return value.decode(errors="replace")

        version = fields.get(b"v", b"1")  # entries from before the field was added are version 1
        if version != str(VERSION).encode():
            raise SchemaError(f"dead letter: unsupported version {version!r}")
        try:
            ts = float(text("ts"))
        except ValueError as exc:
            raise SchemaError("dead letter: field 'ts' is not a number") from exc
        return cls(
            stream=text("stream"),
            id=text("id"),
            group=text("group"),
            stage=text("stage"),
            reason=text("reason"),
            ts=ts,
            payload=fields.get(b"d", b""),
        )
