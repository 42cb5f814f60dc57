"""A Redis with AOF persistence that crashes and comes back having lost its last second of writes.

``appendfsync everysec`` loses at most about a second on a host crash. We stand one in for it: copy the
AOF while Redis runs (a prefix of its log, as a crash leaves on disk), let the pipeline do more work,
SIGKILL Redis, put the copy back and restart it. The work done after the copy is lost from Redis, so it
must be redone, and nothing else may be: every frame of the replay reaches the classified stream exactly
once (publish and ack are one transaction; capture resumes from the cursor it moves with each frame).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import redis

from moodstream.streams import heartbeats
from moodstream.streams.bus import Bus
from moodstream.streams.keys import Keys
from moodstream.streams.schemas import Classified
from tests.helpers import CliProcess, RedisServer, WorkerProcess, face_recording, wait_for, write_config

pytestmark = pytest.mark.slow
FRAMES = 600


def classified_seqs(bus: Bus) -> list[int]:
    return [Classified.decode(e.payload).seq for e in bus.history(bus.keys.classified, count=10_000)]


def length(bus: Bus) -> int:
    try:
        return bus.stream_length(bus.keys.classified)
    except redis.RedisError:
        return -1


def test_a_crash_that_loses_the_unsynced_second_redoes_it_and_loses_nothing(
    tmp_path: Path, sample_video: Path
) -> None:
    data = tmp_path / "redis"
    data.mkdir()
    server = RedisServer(data, "--appendonly", "yes", "--appendfsync", "everysec")
    server.start()
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": server.url, "prefix": "aof"},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "streams": {"frames_maxlen": 20, "claim_idle_ms": 1000},
            "cameras": [],
        },
    )
    rec = face_recording(tmp_path / "r.msrec", sample_video, FRAMES)
    bus = Bus(redis.Redis.from_url(server.url, socket_timeout=2), Keys("aof"))
    procs = [
        WorkerProcess(config, "detector", log_dir=tmp_path),
        WorkerProcess(config, "classifier", log_dir=tmp_path),
    ]
    try:
        # Replayed only once both workers run, so backpressure keeps the replay just ahead of them.
        wait_for(
            lambda: heartbeats.live(bus, "detector") and heartbeats.live(bus, "classifier"),
            120,
            what="both workers up",
        )
        replay = CliProcess(config, "replay", str(rec), "--speed", "20", log_dir=tmp_path, name="replay")
        procs.append(replay)
        wait_for(lambda: length(bus) >= 100, 180, interval=0.2, what="100 frames classified")
        snapshot = tmp_path / "aof-at-crash"
        shutil.copytree(data / "appendonlydir", snapshot)  # what a crash would leave on disk
        durable = length(bus)
        wait_for(lambda: length(bus) >= durable + 30, 60, interval=0.1, what="work after the copy")
        assert replay.alive(), "the replay must still be running when Redis crashes"
        before_crash = length(bus)
        server.stop()  # SIGKILL
        shutil.rmtree(data / "appendonlydir")
        shutil.copytree(snapshot, data / "appendonlydir")
        server.start()
        after_restart = length(bus)
        assert after_restart < before_crash, "the restarted Redis should have lost the work after the copy"

        wait_for(lambda: replay.proc.poll() is not None, 300, interval=0.5, what="the replay to finish")
        assert replay.proc.returncode == 0, replay.output()[-2000:]
        wait_for(lambda: length(bus) >= FRAMES, 300, interval=0.5, what="every frame classified")
        seqs = classified_seqs(bus)
        assert sorted(seqs) == list(range(FRAMES)), "each frame exactly once: none lost, none twice"
        assert all(p.alive() for p in procs if p is not replay), [p.output()[-2000:] for p in procs]
        said = replay.output()  # capture noticed, by a failed command or by the cursor, and went back
        assert "Redis came back without frames" in said or "Redis holds frames only up to" in said
        print(f"redone after the restart: {before_crash - after_restart} classified frames")
    finally:
        for p in procs:
            p.stop()
        server.stop()
