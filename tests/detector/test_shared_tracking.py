"""Region search with the state in Redis: instances that share a camera, and one SIGKILLed mid-run, find
the faces one instance alone finds, frame for frame; every mode writes the same message."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import pytest
import redis

from moodstream.capture.recording import RecordingReader
from moodstream.config import DetectorSettings
from moodstream.detector.finder import FaceFinder
from moodstream.detector.methods import decode_image, method_for
from moodstream.detector.worker import DetectorWorker
from moodstream.runtime.worker import Stopper
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Detections, DetectorState, Frame
from tests.helpers import CliProcess, WorkerProcess, face_recording, wait_for, write_config

FRAMES = 240


def one_instance_counts(rec: Path) -> list[int]:
    """Faces per frame as one detector finds them, frame after frame, in this process."""
    cfg = DetectorSettings()
    finder, state, counts = FaceFinder(method_for(cfg), cfg), DetectorState(), []
    for seq, frame in enumerate(RecordingReader(rec).frames()):
        image = decode_image(frame.jpeg, finder.method.color)
        assert image is not None
        state, _, _ = finder.find(image, seq, state)
        counts.append(len(state.boxes))
    return counts


def detected_counts(bus: Bus) -> dict[int, int]:
    out: dict[int, int] = {}
    for e in bus.history(bus.keys.detections, count=10_000):
        d = Detections.decode(e.payload)
        assert d.seq not in out, f"frame {d.seq} detected twice"
        out[d.seq] = len(d.faces)
    return out


@pytest.mark.slow
def test_two_instances_and_a_killed_one_agree_with_one_instance_frame_for_frame(
    tmp_path: Path, redis_base_url: str, prefix: str, client: redis.Redis, bus: Bus, sample_video: Path
) -> None:
    rec = face_recording(tmp_path / "r.msrec", sample_video, FRAMES)
    expected = one_instance_counts(rec)
    assert sum(expected) > FRAMES // 2, "the recording shows a face in most frames"
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "streams": {"claim_idle_ms": 1000},
            "detector": {"batch": 2},
            "cameras": [],
        },
    )
    detectors = [WorkerProcess(config, "detector", log_dir=tmp_path, name=f"detector-{i}") for i in (1, 2)]
    replay = CliProcess(config, "replay", str(rec), "--speed", "4", log_dir=tmp_path, name="replay")
    try:
        wait_for(lambda: bus.stream_length(bus.keys.detections) >= 80, 120, what="80 frames detected")
        detectors[0].kill()  # its pending frames are claimed by another instance
        detectors.append(WorkerProcess(config, "detector", log_dir=tmp_path, name="detector-3"))
        wait_for(lambda: len(detected_counts(bus)) >= FRAMES, 300, interval=0.5, what="every frame detected")
        got = detected_counts(bus)
        assert [got[seq] for seq in range(FRAMES)] == expected
    finally:
        for p in (replay, *detectors):
            p.stop()


@pytest.mark.parametrize("every", [1, 8])
def test_every_mode_writes_the_same_message(
    make_settings, bus: Bus, client, sample_video: Path, every: int
) -> None:
    settings = make_settings(detector={"full_scan_every": every})
    cap = cv2.VideoCapture(str(sample_video))
    frames = []
    for seq in range(12):
        ok, image = cap.read()
        jpeg = cv2.imencode(".jpg", image)[1].tobytes()
        frames.append(
            Frame("cam", seq, 1.7e9 + seq, image.shape[1], image.shape[0], jpeg, live=False).encode()
        )
    bus.publish_many(bus.keys.frames, frames)
    stopper = Stopper()
    worker = DetectorWorker(settings, client, stopper)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: bus.stream_length(bus.keys.detections) == 12, 60, what="12 frames detected")
    finally:
        stopper.event.set()
        thread.join(10)
    out = [Detections.decode(e.payload) for e in bus.history(bus.keys.detections)]
    assert [d.seq for d in out] == list(range(12)) and all(len(d.faces) == 1 for d in out)
    scans = worker.counters.values
    assert (
        scans.get("full_scans", 0) == (12 if every == 1 else 2)
        and scans.get("region_scans", 0) == 12 - scans["full_scans"]
    )
