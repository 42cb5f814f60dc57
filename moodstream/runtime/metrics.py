"""Per-stage counters and latency histograms, cheap enough to update per message.

Latencies go into fixed log-spaced buckets, so histograms from several
instances (and from heartbeats over time) merge by adding counts, and
percentiles come out of the merged counts.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from dataclasses import dataclass

# 0.5 ms .. ~60 s, 10 % apart.
BUCKETS: list[float] = [0.5 * 1.1**i for i in range(int(math.log(120_000, 1.1)) + 1)]


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)

    def add(self, value_ms: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value_ms)] += 1

    def merge(self, counts: list[int]) -> None:
        for i, c in enumerate(counts[: len(self.counts)]):
            self.counts[i] += int(c)

    @property
    def total(self) -> int:
        return sum(self.counts)

    def percentile(self, q: float) -> float | None:
        total = self.total
        if not total:
            return None
        rank = q / 100.0 * total
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= rank and c:
                return BUCKETS[min(i, len(BUCKETS) - 1)]
        return BUCKETS[-1]

    def summary(self) -> dict[str, float | None]:
        return {f"p{q}": self.percentile(q) for q in (50, 95, 99)}


@dataclass
class Snapshot:
    """What a heartbeat carries of a worker's counters."""

    counters: dict[str, int]
    rates: dict[str, float]  # per second since the previous snapshot
    latency_hist: list[int]  # since start
    latency_recent: list[int]  # since the previous snapshot


class Counters:
    """Thread-safe counters; ``snapshot`` is what heartbeats carry."""

    NAMES = ("processed", "skipped", "errors", "dead", "faces", "published")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, int] = dict.fromkeys(self.NAMES, 0)
        self.latency = Histogram()  # since start: merged across snapshots for benchmarks
        self.recent = Histogram()  # since the last snapshot: what status shows
        self.started = time.time()
        self._last_values = dict(self.values)
        self._last_time = time.monotonic()
        self.rates: dict[str, float] = dict.fromkeys(self.NAMES, 0.0)

    def inc(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.values[name] = self.values.get(name, 0) + n

    def observe_latency(self, ms: float) -> None:
        with self._lock:
            self.latency.add(ms)
            self.recent.add(ms)

    def snapshot(self) -> Snapshot:
        with self._lock:
            now = time.monotonic()
            dt = max(now - self._last_time, 1e-6)
            self.rates = {k: (v - self._last_values.get(k, 0)) / dt for k, v in self.values.items()}
            self._last_values = dict(self.values)
            self._last_time = now
            recent = list(self.recent.counts)
            self.recent = Histogram()
            return Snapshot(
                counters=dict(self.values),
                rates={k: round(v, 3) for k, v in self.rates.items()},
                latency_hist=list(self.latency.counts),
                latency_recent=recent,
            )
