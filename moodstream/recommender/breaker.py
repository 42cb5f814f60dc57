"""When to call a remote service again: Retry-After, exponential backoff, and a circuit breaker.

One object decides for all calls to one service. A success closes it; a
failure backs off (doubling up to a maximum); enough consecutive failures
open it for a while; a 429 waits exactly as long as the server asked. While
it says no, callers use their fallback instead of waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Breaker:
    failures_to_open: int = 3
    open_s: float = 60.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    failures: int = 0
    next_try: float = 0.0  # monotonic time before which no call is made
    last_reason: str = ""
    # Seconds on a clock that never goes back; tests pass their own to step through time.
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def allow(self) -> bool:
        with self._lock:
            return self.clock() >= self.next_try

    def state(self) -> str:
        now = self.clock()
        if self.failures >= self.failures_to_open and now < self.next_try:
            return "open"
        if now < self.next_try:
            return "waiting"
        return "closed" if self.failures == 0 else "half-open"

    def success(self) -> None:
        with self._lock:
            self.failures = 0
            self.next_try = 0.0
            self.last_reason = ""

    def failure(self, reason: str, retry_after_s: float | None = None) -> float:
        """Record a failure; returns how long no call will be made."""
        now = self.clock()
        with self._lock:
            self.last_reason = reason
            if retry_after_s is not None:  # rate limited: the server said when; it is not the service failing
                delay = max(0.0, retry_after_s)
            else:
                self.failures += 1
                if self.failures >= self.failures_to_open:
                    delay = self.open_s
                else:
                    delay = min(self.backoff_initial_s * 2 ** (self.failures - 1), self.backoff_max_s)
            self.next_try = now + delay
            return delay
