"""The wire codec every contract shares: msgpack in and out, and validation with a reason.

Anything read from Redis or a recording may come from another host, another version or a bug, so
decoding never trusts it: a payload that is not what its class declares raises ``SchemaError`` naming
the field and what was wrong, and the caller decides what happens to it (dead-letter a message, log
and replace a state). Never pickle.

``Record`` is the base of the typed contracts that are not hot-path pipeline messages (heartbeats,
per-camera state, the overlay, caches, recordings): a dataclass whose annotations *are* its schema,
so adding a field is one line and its validation comes with it.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping
from typing import Any, ClassVar, Self, Union, get_args, get_origin, get_type_hints

import msgpack

MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


class SchemaError(ValueError):
    """A payload that cannot be decoded into a valid record; the reason is the message."""


def pack(data: Any) -> bytes:
    return msgpack.packb(data, use_bin_type=True)


def unpack(payload: Any, what: str, max_bytes: int = MAX_PAYLOAD_BYTES) -> Any:
    """msgpack bytes -> Python values, refusing non-bytes, oversized and malformed input."""
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise SchemaError(f"{what}: payload is not bytes")
    if len(payload) > max_bytes:
        raise SchemaError(f"{what}: payload of {len(payload)} bytes exceeds limit of {max_bytes}")
    try:
        return msgpack.unpackb(payload, raw=False, strict_map_key=True, max_bin_len=max_bytes)
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        raise SchemaError(f"{what}: not valid msgpack: {exc.__class__.__name__}: {exc}") from exc


def check_header(data: Any, kind: str, version: int) -> dict[str, Any]:
    """The envelope every top-level payload carries: ``v`` (schema version) and ``t`` (its kind)."""
    if not isinstance(data, dict):
        raise SchemaError(f"{kind}: payload is not a map")
    if data.get("v") != version:
        raise SchemaError(
            f"{kind}: unsupported schema version {data.get('v')!r} (this side speaks {version})"
        )
    if data.get("t") != kind:
        raise SchemaError(f"expected message type {kind!r}, got {data.get('t')!r}")
    return data


def _type_name(value: Any) -> str:
    return "nil" if value is None else type(value).__name__


def _scalar(value: Any, tp: type, where: str) -> Any:
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, tp) or (isinstance(value, bool) and tp is not bool):
        raise SchemaError(f"{where}: expected {tp.__name__}, got {_type_name(value)}")
    if tp is float and not math.isfinite(value):
        raise SchemaError(f"{where}: {value!r} is not finite")
    return value


def _union(value: Any, options: tuple[Any, ...], where: str) -> Any:
    if value is None:
        if type(None) in options:
            return None
        raise SchemaError(f"{where}: must not be nil")
    records = [o for o in options if isinstance(o, type) and issubclass(o, Record)]
    if records and isinstance(value, dict):
        for record in records:
            if record.KIND and value.get("t") == record.KIND:
                return record.from_wire(value, where)
        if len(records) == 1 and not records[0].KIND:
            return records[0].from_wire(value, where)
        raise SchemaError(f"{where}: unknown kind {value.get('t')!r}")
    error: SchemaError | None = None
    for option in options:
        if option is not type(None):
            try:
                return check(value, option, where)
            except SchemaError as exc:
                error = exc
    raise error or SchemaError(f"{where}: no type fits {_type_name(value)}")


def _sequence(value: Any, tp: Any, where: str) -> Any:
    args = get_args(tp)
    if not isinstance(value, list | tuple):
        raise SchemaError(f"{where}: expected a list, got {_type_name(value)}")
    if get_origin(tp) is list or (len(args) == 2 and args[1] is Ellipsis):
        item = args[0]
        if item in (int, str) and all(type(v) is item for v in value):  # the common case, fast
            items = list(value)
        else:
            items = [check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if get_origin(tp) is list else tuple(items)
    if len(value) != len(args):
        raise SchemaError(f"{where}: expected {len(args)} items, got {len(value)}")
    return tuple(check(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))


def check(value: Any, tp: Any, where: str) -> Any:
    """``value`` as the annotation ``tp`` says it must be, or SchemaError naming ``where``."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        return _union(value, get_args(tp), where)
    if origin in (list, tuple):
        return _sequence(value, tp, where)
    if origin in (dict, Mapping):
        key_type, value_type = get_args(tp)
        if not isinstance(value, dict):
            raise SchemaError(f"{where}: expected a map, got {_type_name(value)}")
        return {
            check(k, key_type, f"{where} key"): check(v, value_type, f"{where}[{k!r}]")
            for k, v in value.items()
        }
    if isinstance(tp, type) and issubclass(tp, Record):
        return tp.from_wire(value, where)
    if tp in (int, float, str, bytes, bool):
        return _scalar(value, tp, where)
    raise TypeError(f"{where}: unsupported annotation {tp!r}")  # a mistake in a schema class, not in data


def wire(name: str) -> dict[str, str]:
    """Field metadata: the key a field has on the wire, where it differs (formats kept for old files)."""
    return {"wire": name}


def _to_wire(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_wire()
    if isinstance(value, list | tuple):
        return [_to_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_wire(v) for k, v in value.items()}
    return value


class Record:
    """A dataclass whose annotations are its wire schema; subclasses are ``@dataclass``es.

    Every field is written, and every field must be there when read: a payload missing one is
    another version's, and is refused with a reason rather than half-read. Keys the class does not
    know are ignored. Top-level records set ``KIND`` (``t`` on the wire) and ``VERSION`` (``v``).
    """

    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    _hints: ClassVar[dict[str, Any]]

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": self.KIND} if self.KIND else {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.metadata.get("wire", f.name)] = _to_wire(getattr(self, f.name))
        return out

    @classmethod
    def from_wire(cls, data: Any, where: str = "") -> Self:
        where = where or cls.KIND or cls.__name__
        if not isinstance(data, dict):
            raise SchemaError(f"{where}: expected a map, got {_type_name(data)}")
        if "_hints" not in cls.__dict__:
            cls._hints = get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            key = f.metadata.get("wire", f.name)
            if key not in data:
                raise SchemaError(f"{where}: missing field {key!r}")
            values[f.name] = check(data[key], cls._hints[f.name], f"{where}.{key}")
        return cls(**values)

    def encode(self) -> bytes:
        return pack({"v": self.VERSION, **self.to_wire()})

    @classmethod
    def decode(cls, payload: Any, max_bytes: int = MAX_PAYLOAD_BYTES) -> Self:
        data = check_header(unpack(payload, cls.KIND, max_bytes), cls.KIND, cls.VERSION)
        return cls.from_wire(data)
