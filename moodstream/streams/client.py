"""Connecting to Redis: the one place a redis-py client is made.

What other modules catch or hold (``Client``, ``CONNECTION_ERRORS``, ``RedisError``) is named here, so
that only the streams package imports redis-py (tests/test_architecture.py checks it).
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import redis

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    ConnectionError,
    OSError,
)
Client = redis.Redis | redis.RedisCluster
RedisError = redis.RedisError
ResponseError = redis.ResponseError


def connect(url: str, socket_timeout_s: float = 5.0, cluster: bool = False) -> Client:
    """A client that never re-sends a command by itself on a new connection.

    redis-py retries by default; after a Redis restart the retried command would act on work read
    from the server before it (an ack of an entry the restarted server no longer holds as pending,
    with its output published all the same). Every connection error reaches the worker's loop
    instead, which drops what it held and reads again."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # socket_timeout must exceed the longest XREAD block (1 s) so that a blocked read is not an error.
    options: dict[str, Any] = {
        "socket_timeout": max(socket_timeout_s, 2.0),
        "socket_connect_timeout": min(socket_timeout_s, 3.0),
        "decode_responses": False,
        "retry": Retry(NoBackoff(), 0),
    }
    if cluster:
        # The cluster client follows MOVED/ASK redirections and refreshes its slot map by itself.
        return redis.RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, health_check_interval=15, **options)


def is_cluster(client: Client) -> bool:
    return isinstance(client, redis.RedisCluster)


def answers(url: str, timeout_s: float = 0.5) -> bool:
    """Whether a Redis server answers PING at ``url``, within ``timeout_s``."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def consumer_name(stage: str) -> str:
    """Unique per process, so a restarted worker never inherits a dead one's identity by accident."""
    return f"{stage}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def text(value: Any) -> str:
    """A reply's bytes (or number) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)
