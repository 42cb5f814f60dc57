"""What a measured window means, from heartbeats alone: rates and CPU timed by each worker's own clock."""

from __future__ import annotations

import pytest

from moodstream.bench.report import counter_delta, heartbeat_seconds, stage_cpu, stage_rate
from moodstream.streams.schemas import Heartbeat


def beat(worker: str, stage: str, ts: float, processed: int, cpu_s: float) -> Heartbeat:
    return Heartbeat(
        stage=stage,
        worker=worker,
        host="h",
        pid=1,
        started=0.0,
        ts=ts,
        counters={"processed": processed},
        rates={},
        latency_hist=[],
        latency_recent=[],
        detail=None,
        cpu_s=cpu_s,
    )


def test_rates_and_cpu_divide_by_each_workers_own_span_not_the_nominal_window() -> None:
    # Two detectors: one beat 31 s apart, the other 30 s (beats are 0.5 s apart, so spans differ).
    a = {"d1": beat("d1", "detector", 100.0, 0, 10.0), "d2": beat("d2", "detector", 100.5, 0, 20.0)}
    b = {"d1": beat("d1", "detector", 131.0, 1860, 25.5), "d2": beat("d2", "detector", 130.5, 1800, 35.0)}
    assert counter_delta(a, b, "detector", "processed") == 3660
    assert stage_rate(a, b, "detector", "processed") == pytest.approx(60.0 + 60.0)
    assert heartbeat_seconds(a, b) in (30.0, 31.0)
    cpu = stage_cpu(a, b)["detector"]
    assert cpu["cores"] == pytest.approx(15.5 / 31 + 15.0 / 30, abs=1e-3)
    assert cpu["ms_per_item"] == pytest.approx(30.5 * 1000 / 3660, abs=0.01)


def test_a_worker_seen_only_once_counts_for_nothing() -> None:
    a = {"d1": beat("d1", "detector", 100.0, 0, 1.0)}
    b = {"d1": beat("d1", "detector", 110.0, 100, 2.0), "d9": beat("d9", "detector", 110.0, 500, 9.0)}
    assert counter_delta(a, b, "detector", "processed") == 100
    assert stage_rate(a, b, "detector", "processed") == pytest.approx(10.0)
