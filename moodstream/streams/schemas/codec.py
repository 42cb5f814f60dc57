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
import functools
import math
import types
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self, Union, get_args, get_origin, get_type_hints

import msgpack

MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


class SchemaError(ValueError):
    """A payload that cannot be decoded into a valid record; the reason is the message."""


def _nested(value: Any) -> Any:
    """msgpack's hook for what it cannot pack itself: records inside records."""
    if isinstance(value, Record):
        return value.to_map()
    raise TypeError(f"cannot pack {type(value).__name__}")


def pack(data: Any) -> bytes:
    # msgpack walks lists and maps in C and calls back only for nested records.
    return msgpack.packb(data, use_bin_type=True, default=_nested)


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


Checker = Callable[[Any, str], Any]


def _type_name(value: Any) -> str:
    return "nil" if value is None else type(value).__name__


def _scalar(tp: type) -> Checker:
    def check_scalar(value: Any, where: str) -> Any:
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, tp) or (isinstance(value, bool) and tp is not bool):
            raise SchemaError(f"{where}: expected {tp.__name__}, got {_type_name(value)}")
        if tp is float and not math.isfinite(value):
            raise SchemaError(f"{where}: {value!r} is not finite")
        return value

    return check_scalar


def _union(options: tuple[Any, ...]) -> Checker:
    records = [o for o in options if isinstance(o, type) and issubclass(o, Record)]
    others = [checker(o) for o in options if o is not type(None) and o not in records]
    nullable = type(None) in options

    def check_union(value: Any, where: str) -> Any:
        if value is None:
            if nullable:
                return None
            raise SchemaError(f"{where}: must not be nil")
        if records and isinstance(value, dict):
            for record in records:
                if record.KIND and value.get("t") == record.KIND:
                    return record.from_map(value, where)
            if len(records) == 1 and not records[0].KIND:
                return records[0].from_map(value, where)
            raise SchemaError(f"{where}: unknown kind {value.get('t')!r}")
        error: SchemaError | None = None
        for other in others:
            try:
                return other(value, where)
            except SchemaError as exc:
                error = exc
        raise error or SchemaError(f"{where}: no type fits {_type_name(value)}")

    return check_union


def _list(item: Any, as_tuple: bool) -> Checker:
    check_item = checker(item)
    fast = item in (int, str, float)  # the common case: a list of one scalar type, checked in C

    def check_list(value: Any, where: str) -> Any:
        if not isinstance(value, list | tuple):
            raise SchemaError(f"{where}: expected a list, got {_type_name(value)}")
        if fast and set(map(type, value)) <= {item}:
            if item is float and not all(map(math.isfinite, value)):
                raise SchemaError(f"{where}: not every value is finite")
            items = list(value)
        else:
            items = [check_item(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if as_tuple else items

    return check_list


def _fixed_tuple(args: tuple[Any, ...]) -> Checker:
    checks = [checker(a) for a in args]

    def check_tuple(value: Any, where: str) -> Any:
        if not isinstance(value, list | tuple):
            raise SchemaError(f"{where}: expected a list, got {_type_name(value)}")
        if len(value) != len(checks):
            raise SchemaError(f"{where}: expected {len(checks)} items, got {len(value)}")
        return tuple(c(v, f"{where}[{i}]") for i, (c, v) in enumerate(zip(checks, value, strict=True)))

    return check_tuple


def _map(key_type: Any, value_type: Any) -> Checker:
    check_key, check_value = checker(key_type), checker(value_type)

    def check_map(value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise SchemaError(f"{where}: expected a map, got {_type_name(value)}")
        return {check_key(k, f"{where} key"): check_value(v, f"{where}[{k!r}]") for k, v in value.items()}

    return check_map


@functools.cache
def checker(tp: Any) -> Checker:
    """The validator for annotation ``tp``: returns the value as it must be, or raises SchemaError naming
    ``where``. Built once per annotation, so decoding does no type dispatch of its own."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return lambda value, where: value
    if origin in (Union, types.UnionType):
        return _union(args)
    if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        return _list(args[0], as_tuple=origin is tuple)
    if origin is tuple:
        return _fixed_tuple(args)
    if origin in (dict, Mapping):
        return _map(*args)
    if isinstance(tp, type) and issubclass(tp, Record):
        return tp.from_map
    if tp in (int, float, str, bytes, bool):
        return _scalar(tp)
    raise TypeError(f"unsupported annotation {tp!r}")  # a mistake in a schema class, not in data


def check(value: Any, tp: Any, where: str) -> Any:
    """``value`` as the annotation ``tp`` says it must be, or SchemaError naming ``where``."""
    return checker(tp)(value, where)


def wire(name: str) -> dict[str, str]:
    """Field metadata: the key a field has on the wire, where it differs (short keys for files)."""
    return {"wire": name}


class Record:
    """A dataclass whose annotations are its wire schema; subclasses are ``@dataclass``es.

    Every field is written, and every field must be there when read: a payload missing one is
    another version's, and is refused with a reason rather than half-read. The exception is a field
    added later with a default: a writer from before it (a rolling upgrade) is read as that default.
    Keys the class does not know are ignored. Top-level records set ``KIND`` (``t`` on the wire) and ``VERSION`` (``v``).
    """

    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    _fields_plan: ClassVar[list[tuple[str, str, Checker, bool]]]

    def to_map(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": self.KIND} if self.KIND else {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.metadata.get("wire", f.name)] = getattr(self, f.name)  # nested records: see _nested
        return out

    @classmethod
    def _plan(cls) -> list[tuple[str, str, Checker, bool]]:
        """(field, wire key, validator, has a default) for each field, worked out once per class."""
        if "_fields_plan" not in cls.__dict__:
            hints = get_type_hints(cls)
            cls._fields_plan = [
                (
                    f.name,
                    f.metadata.get("wire", f.name),
                    checker(hints[f.name]),
                    f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING,
                )
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            ]
        return cls._fields_plan

    @classmethod
    def from_map(cls, data: Any, where: str = "") -> Self:
        where = where or cls.KIND or cls.__name__
        if not isinstance(data, dict):
            raise SchemaError(f"{where}: expected a map, got {_type_name(data)}")
        values = {}
        for name, key, check_field, optional in cls._plan():
            if key not in data:
                if optional:
                    continue
                raise SchemaError(f"{where}: missing field {key!r}")
            values[name] = check_field(data[key], f"{where}.{key}")
        return cls(**values)

    def encode(self) -> bytes:
        return pack({"v": self.VERSION, **self.to_map()})

    @classmethod
    def decode(cls, payload: Any, max_bytes: int = MAX_PAYLOAD_BYTES) -> Self:
        data = check_header(unpack(payload, cls.KIND, max_bytes), cls.KIND, cls.VERSION)
        return cls.from_map(data)
