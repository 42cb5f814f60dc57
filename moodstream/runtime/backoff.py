"""Growing delays between retries, and logging each distinct error once.

Shared by every loop that must never die: a worker's, capture's, the dashboard's background loops and
the Spotify fetcher. Retrying at a fixed rate floods logs and Redis while it is down; a delay that grows
to a cap, reset on the first success, does not.
"""

from __future__ import annotations

import logging
from typing import Any


class Backoff:
    def __init__(self, initial: float = 0.2, maximum: float = 5.0) -> None:
        self.initial, self.maximum = initial, maximum
        self.current = initial

    def next(self) -> float:
        delay = self.current
        self.current = min(self.current * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.current = self.initial


class OnceLog:
    """Logs the first message for each key, and only that: something unreadable that is met on every
    batch (a saved state, a cache entry, a heartbeat) is reported once per process, not once a batch."""

    def __init__(self, logger: logging.Logger, level: int = logging.WARNING) -> None:
        self.logger, self.level = logger, level
        self._seen: set[str] = set()

    def __call__(self, key: str, msg: str, *args: Any, exc_info: BaseException | None = None) -> None:
        if key not in self._seen:
            self._seen.add(key)
            self.logger.log(self.level, msg, *args, exc_info=exc_info)
