"""Where the EU AI Act prohibits inferring emotions (Art. 5(1)(f)), `up` and the classifier refuse, in
one line; a declared medical or safety exemption lets the camera run."""

from __future__ import annotations

from pathlib import Path

from moodstream.streams import heartbeats
from moodstream.streams.bus import Bus
from tests.helpers import WorkerProcess, moodstream, wait_for, write_config


def config(tmp_path: Path, url: str, prefix: str, **camera: str) -> Path:
    return write_config(
        tmp_path / "ms.toml",
        {
            "redis": {"url": url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.3, "dir": str(tmp_path / "run")},
            "cameras": [{"id": "office", "source": "sample:single_face.mp4", "loop": True, **camera}],
        },
    )


def test_a_workplace_camera_without_an_exemption_is_refused_by_up_and_the_classifier(
    tmp_path: Path, redis_base_url: str, prefix: str
) -> None:
    path = config(tmp_path, redis_base_url, prefix, context="workplace")
    for command in (["up"], ["worker", "classifier"]):
        done = moodstream("--config", str(path), *command)
        assert done.returncode != 0
        lines = [line for line in done.stderr.splitlines() if "error" in line or "Traceback" in line]
        assert len(lines) == 1 and "Art. 5(1)(f)" in lines[0] and "camera office" in lines[0], done.stderr
        assert 'exemption = "medical" or "safety"' in lines[0]


def test_with_a_safety_exemption_it_is_classified(
    tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus
) -> None:
    path = config(tmp_path, redis_base_url, prefix, context="workplace", exemption="safety")
    worker = WorkerProcess(path, "classifier", log_dir=tmp_path)
    try:
        wait_for(
            lambda: heartbeats.count(bus, "classifier") == 1 or not worker.alive(), 60, what="the classifier"
        )
        assert worker.alive(), worker.output()
    finally:
        worker.stop()
