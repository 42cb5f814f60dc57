"""Write a config dict back as TOML (the standard library only reads it).

Enough for moodstream's own configs: sections of scalars, lists and inline tables, plus the
``[[cameras]]`` and ``[[alerts]]`` arrays of tables. Used by ``bench`` and the tests to start
real workers from generated configs.
"""

from __future__ import annotations

from typing import Any


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table: a camera's masks, say
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items() if v is not None) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


ARRAYS = ("cameras", "alerts")  # arrays of tables, written after the sections


def dump_toml(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for section, body in data.items():
        if section in ARRAYS:
            continue
        lines.append(f"[{section}]")
        lines += [
            f"{k} = {toml_value(v)}" for k, v in body.items() if v is not None
        ]  # TOML has no null: unset
        lines.append("")
    for name in ARRAYS:
        for table in data.get(name, []):
            lines.append(f"[[{name}]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in table.items() if v is not None]
            lines.append("")
    return "\n".join(lines)
