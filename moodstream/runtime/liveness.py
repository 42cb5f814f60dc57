"""Background loops that never die quietly, and a health check that knows when one is stuck.

A loop that meets an error it does not handle (a Redis ``WRONGTYPE`` under its key, a bug) used to end
its greenlet or thread for good while ``/healthz`` still said 200. ``guarded`` restarts such a loop
after a back-off, logs each distinct error once with its traceback, and ``Liveness`` records when each
loop last completed a whole pass, so a health check can answer 503 while one is failing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from moodstream.runtime.backoff import Backoff, OnceLog

log = logging.getLogger(__name__)

Stopped = Callable[[], bool]
Wait = Callable[[float], Any]
Loop = Callable[[Stopped, Wait], None]


class Liveness:
    """When each loop last completed a pass, and the kind of its last error."""

    def __init__(self, stall_after_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_after_s = stall_after_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self.errors: dict[str, str] = {}
        self._once = OnceLog(log, logging.ERROR)

    def register(self, name: str) -> None:
        self._last.setdefault(name, self.clock())

    def passed(self, name: str) -> None:
        self._last[name] = self.clock()
        self.errors.pop(name, None)

    def failed(self, name: str, exc: BaseException) -> None:
        self.errors[name] = type(exc).__name__
        self._once(
            f"{name}:{type(exc).__name__}:{exc}", "%s loop failed: %s; retrying", name, exc, exc_info=exc
        )

    def stalled(self) -> list[str]:
        """Loops that have not completed a pass for ``stall_after_s``."""
        now = self.clock()
        return sorted(name for name, last in self._last.items() if now - last > self.stall_after_s)


def guarded(name: str, loop: Loop, liveness: Liveness, backoff: Backoff | None = None) -> Loop:
    """``loop`` restarted after any exception, with a pass recorded each time it comes round again.

    The loop calls ``stopped()`` once per iteration; from the second call on in one run, an iteration
    went through without raising, which is what counts as a pass.
    """
    liveness.register(name)
    delays = backoff or Backoff(0.5, 5.0)

    def run(stopped: Stopped, wait: Wait) -> None:
        while not stopped():
            calls = 0

            def checked() -> bool:
                nonlocal calls
                calls += 1
                if calls > 1:
                    liveness.passed(name)
                    delays.reset()
                return stopped()

            try:
                loop(checked, wait)
                return
            except Exception as exc:  # noqa: BLE001 - the point: nothing ends the loop but the stop event
                liveness.failed(name, exc)
                wait(delays.next())

    return run
