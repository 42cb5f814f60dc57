"""A worker whose loop keeps failing (not on a connection error) says so, and recovers by itself.

Its input stream's key replaced by a string makes every XREADGROUP fail with WRONGTYPE. The worker must
not exit, must log the error once with its traceback, must stay listed with its loop marked stalled
(``status --json``), and must work again once the key is fixed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import redis

from moodstream.streams import heartbeats
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Detections, Frame, Heartbeat
from tests.helpers import CliProcess, WorkerProcess, wait_for, write_config


def stalled(config: Path, tmp_path: Path) -> list[str]:
    status = CliProcess(config, "status", "--json", log_dir=tmp_path, name="status")
    status.proc.wait(60)
    return json.loads(status.output())["stages"]["detector"]["stalled"]


def test_a_worker_whose_loop_fails_stays_listed_as_stalled_and_recovers(
    tmp_path: Path, redis_base_url: str, prefix: str, client: redis.Redis, bus: Bus, sample_video: Path
) -> None:
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.3, "loop_stall_s": 3.0, "dir": str(tmp_path / "run")},
            "cameras": [],
        },
    )
    detector = WorkerProcess(config, "detector", log_dir=tmp_path)
    try:
        wait_for(lambda: heartbeats.live(bus, "detector"), 60, what="the detector's heartbeat")
        client.delete(bus.keys.frames)
        client.set(bus.keys.frames, "not a stream")
        wait_for(lambda: stalled(config, tmp_path), 30, interval=0.3, what="the loop to be reported stalled")
        assert detector.alive()
        assert detector.output().count("main loop failed") == 1 and "Traceback" in detector.output()

        client.delete(bus.keys.frames)
        ok, image = cv2.VideoCapture(str(sample_video)).read()
        jpeg = cv2.imencode(".jpg", image)[1].tobytes()
        h, w = image.shape[:2]
        frame = Frame(camera="cam", seq=1, ts=time.time(), width=w, height=h, jpeg=jpeg, live=False)
        bus.publish(bus.keys.frames, frame.encode())
        wait_for(lambda: bus.stream_length(bus.keys.detections) == 1, 60, what="the frame to be detected")
        assert Detections.decode(bus.history(bus.keys.detections)[0].payload).seq == 1
        wait_for(lambda: not stalled(config, tmp_path), 30, interval=0.3, what="the loop to be passing again")
    finally:
        detector.stop()


def test_a_heartbeat_from_before_the_stalled_field_still_decodes() -> None:
    """A field added with a default is read from an older writer as that default (rolling upgrades)."""
    beat = Heartbeat("detector", "w", "h", 1, 0.0, 0.0, {}, {}, [], [], None, ["main"])
    wire = beat.to_map()
    del wire["stalled"]
    assert Heartbeat.from_map(wire).stalled == []
