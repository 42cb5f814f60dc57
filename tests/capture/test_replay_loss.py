"""Frames that must all be processed are never lost: a replay 50x faster than real time, into a frames
stream capped at 50 entries, with one detector that cannot keep up (and one that is SIGKILLed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Classified
from tests.helpers import CliProcess, WorkerProcess, face_recording, wait_for, write_config

FRAMES = 600


@pytest.mark.parametrize("kill_a_detector", [False, True], ids=["steady", "detector-killed"])
def test_a_fast_replay_into_a_short_stream_loses_no_frame(
    tmp_path: Path,
    redis_base_url: str,
    prefix: str,
    client: redis.Redis,
    bus: Bus,
    sample_video: Path,
    kill_a_detector: bool,
) -> None:
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "streams": {"frames_maxlen": 50, "claim_idle_ms": 1000},
            "cameras": [],
        },
    )
    rec = face_recording(tmp_path / "r.msrec", sample_video, FRAMES)
    detector = WorkerProcess(config, "detector", log_dir=tmp_path, name="detector-1")
    classifier = WorkerProcess(config, "classifier", log_dir=tmp_path)
    replay = CliProcess(config, "replay", str(rec), "--speed", "50", log_dir=tmp_path, name="replay")
    spare = None
    try:
        if kill_a_detector:
            wait_for(lambda: bus.stream_length(bus.keys.detections) >= 100, 120, what="100 frames detected")
            detector.kill()  # its pending frames must be claimed by the next one, not trimmed
            spare = WorkerProcess(config, "detector", log_dir=tmp_path, name="detector-2")
        wait_for(lambda: replay.proc.poll() is not None, 300, interval=0.5, what="the replay to finish")
        assert replay.proc.returncode == 0, replay.output()[-2000:]
        wait_for(
            lambda: len(classified_seqs(bus)) >= FRAMES, 300, interval=0.5, what="every frame classified"
        )
        seqs = classified_seqs(bus)
        assert sorted(seqs) == list(range(FRAMES))  # each exactly once
    finally:
        for p in (replay, detector, classifier, spare):
            if p is not None:
                p.stop()


def classified_seqs(bus: Bus) -> list[int]:
    return [Classified.decode(e.payload).seq for e in bus.history(bus.keys.classified, count=10_000)]
