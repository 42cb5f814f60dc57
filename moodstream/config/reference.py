"""docs/configuration.md, made from the settings models: each section's docstring and each key's
``Field(description=…)`` are the documentation, so the reference cannot drift from the code.

``moodstream config --reference`` prints it; a test fails when the file in the repository is stale.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from moodstream.config import Settings

INTRO = """# Configuration reference

<!-- Made by `moodstream config --reference` from moodstream/config/: edit the models, not this file. -->

A TOML file (default `./moodstream.toml`, or `$MOODSTREAM_CONFIG`, or `--config FILE`). Unknown keys
and invalid values fail at start with the key named. Any key can be overridden from the environment as
`MOODSTREAM__SECTION__KEY=value` (the value is read as a TOML scalar). `MOODSTREAM_REDIS_URL` sets
`[redis] url`; `MOODSTREAM_DASHBOARD_TOKEN` sets `[dashboard] token`. Relative paths are relative to the
config file.
"""


def _toml(value: Any) -> str:
    """A default as it would be written in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "(a table: see the key's meaning)"
    return repr(value)


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    return _toml(value)


def _section(name: str, model: type[BaseModel], many: bool) -> str:
    heading = f"## [[{name}]]" if many else f"## [{name}]"
    out = [heading, ""]
    doc = inspect.getdoc(model)
    if doc:
        out += [doc, ""]
    out += ["| key | default | meaning |", "|---|---|---|"]
    for key, field in model.model_fields.items():
        if field.exclude:
            continue
        if not field.description:
            raise ValueError(f"[{name}] {key} has no description: give its Field a description")
        out.append(f"| `{key}` | `{_default(field)}` | {field.description} |")
    return "\n".join(out) + "\n"


def render() -> str:
    """The whole reference, one section per model in the order Settings lists them."""
    parts = [INTRO]
    for name, field in Settings.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        many = getattr(annotation, "__origin__", None) is list
        model = annotation.__args__[0] if many else annotation
        parts.append(_section(name, model, many))
    return "\n".join(parts)
