"""A worker's health file and ``moodstream health``, the probe containers run (readiness and liveness)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from moodstream.ops import launcher
from moodstream.runtime import health
from moodstream.streams.schemas import Health
from tests.helpers import ROOT, RedisServer, WorkerProcess, wait_for, write_config


def _file(tmp_path: Path, **fields: object) -> Path:
    state = {"stage": "smoother", "worker": "smoother-h-1", "ts": 1000.0, "redis": True, **fields}
    path = tmp_path / "run" / "health"
    health.write(path, Health(**state))  # type: ignore[arg-type]
    return path


def test_a_fresh_report_that_reaches_redis_is_ready_and_alive(tmp_path: Path) -> None:
    path = _file(tmp_path)
    ready = health.check(path, 10, now=1002.0)
    assert ready.ok and ready.line.startswith("ready: smoother worker smoother-h-1")
    assert health.check(path, 10, live_only=True, now=1002.0).ok


def test_without_redis_the_worker_is_alive_but_not_ready(tmp_path: Path) -> None:
    path = _file(tmp_path, redis=False, error="ConnectionError")
    assert health.check(path, 10, live_only=True, now=1001.0).ok
    verdict = health.check(path, 10, now=1001.0)
    assert not verdict.ok and "cannot reach Redis (ConnectionError)" in verdict.line


def test_an_old_report_or_a_stalled_loop_is_neither(tmp_path: Path) -> None:
    old = _file(tmp_path)
    for live in (True, False):
        verdict = health.check(old, 10, live_only=live, now=1030.0)
        assert not verdict.ok and "last reported 30 s ago (limit 10 s)" in verdict.line
    stalled = _file(tmp_path, stalled=["main"])
    verdict = health.check(stalled, 10, live_only=True, now=1001.0)
    assert not verdict.ok and "stalled loops: main" in verdict.line


def test_a_missing_or_unreadable_file_says_so(tmp_path: Path) -> None:
    missing = health.check(tmp_path / "none", 10)
    assert not missing.ok and "no health file" in missing.line
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\xc1not msgpack")
    verdict = health.check(garbage, 10)
    assert not verdict.ok and verdict.line.startswith("not ready: cannot read")


def test_a_real_worker_reports_redis_going_away_and_coming_back(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    health_file = tmp_path / "run" / "smoother.health"
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": server.url, "prefix": "health", "socket_timeout_s": 0.5},
            "runtime": {"heartbeat_s": 0.5, "health_file": str(health_file)},
            "cameras": [],
        },
    )
    worker = WorkerProcess(config, "smoother", log_dir=tmp_path)

    def probe(*args: str) -> subprocess.CompletedProcess[str]:
        command = launcher.cli(config, "health", *args)
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)

    try:
        ready = wait_for(lambda: (r := probe()).returncode == 0 and r, 60, 0.2, "the worker to be ready")
        assert ready.stdout.startswith("ready: smoother worker smoother-")
        server.stop()
        down = wait_for(lambda: (r := probe()).returncode == 1 and r, 30, 0.2, "readiness to fail")
        assert "cannot reach Redis" in down.stderr, down.stderr
        assert probe("--live").returncode == 0  # Redis is down, not this process: no restart
        server.start()
        wait_for(lambda: probe().returncode == 0, 30, 0.2, "the worker to be ready again")
        assert worker.alive(), worker.output()[-2000:]
    finally:
        worker.stop()
        server.stop()
