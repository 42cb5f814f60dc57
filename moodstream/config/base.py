"""What every section shares: the base model, which refuses unknown keys, and the config's error."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from moodstream.errors import UserError

ENV_PREFIX = "MOODSTREAM__"
DEFAULT_CONFIG = "moodstream.toml"
CAMERA_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ConfigError(UserError):
    """Raised for a config file or override that cannot be used; the message names the key."""


class Section(BaseModel):
    """A TOML section: unknown keys and bad values are refused with the key named."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
