"""Capture against real sources: video files, a loopback MJPEG camera that drops, and recordings."""

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from moodstream.capture.recording import RecordingReader, RecordingWriter
from moodstream.capture.sources import RecordingSource, open_source
from moodstream.capture.worker import CaptureLoop, CaptureOptions
from moodstream.ops.observe import collect_status
from moodstream.ops.recording import record
from moodstream.runtime.worker import Runtime, Stopper
from moodstream.streams import heartbeats
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import CaptureStatus, Frame
from tests.helpers import MjpegCamera, WorkerProcess, wait_for, write_config


def frames(bus: Bus, camera: str | None = None) -> list[Frame]:
    out = [Frame.decode(e.payload) for e in bus.history(bus.keys.frames)]
    return [f for f in out if camera is None or f.camera == camera]


def capture_state(bus: Bus, camera: str) -> CaptureStatus | None:
    for hb in heartbeats.live(bus):
        if isinstance(hb.detail, CaptureStatus) and hb.detail.camera == camera:
            return hb.detail
    return None


def state_of(bus: Bus, camera: str) -> str:
    status = capture_state(bus, camera)
    return status.state if status else ""


def test_video_file_is_paced_and_encoded(
    tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus, sample_video
) -> None:
    config = write_config(
        tmp_path / "ms.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5},
            "cameras": [{"id": "file", "source": str(sample_video), "fps": 10.0, "max_width": 320}],
        },
    )
    worker = WorkerProcess(config, "capture", "file", log_dir=tmp_path)
    try:
        wait_for(lambda: len(frames(bus)) >= 20, 30, what="20 frames")
        got = frames(bus)
        assert [f.seq for f in got] == list(range(len(got)))
        span = got[19].ts - got[0].ts
        assert 1.5 < span < 2.5, f"10 fps pacing: 19 intervals took {span:.2f}s"
        img = cv2.imdecode(np.frombuffer(got[0].jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape[1] == 320 == got[0].width
        assert got[0].live  # not every_frame: the detector may skip it when stale
    finally:
        assert worker.stop() == 0, worker.output()


def test_dropped_network_source_is_retried(
    tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus, sample_video
) -> None:
    camera = MjpegCamera(sample_video)
    config = write_config(
        tmp_path / "ms.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.3},
            "capture": {"reconnect_initial_s": 0.2, "reconnect_max_s": 1.0},
            "cameras": [{"id": "ipcam", "source": camera.url}],
        },
    )
    worker = WorkerProcess(config, "capture", "ipcam", log_dir=tmp_path)
    try:
        # The camera is not there yet: the worker keeps running and says why.
        wait_for(lambda: state_of(bus, "ipcam") == "reconnecting", 20, what="reconnecting state")
        assert "cannot open" in capture_state(bus, "ipcam").error
        camera.start()
        wait_for(lambda: len(frames(bus, "ipcam")) >= 10, 30, what="frames once the camera is up")
        camera.stop()
        wait_for(lambda: state_of(bus, "ipcam") == "reconnecting", 30, what="drop noticed")
        before = len(frames(bus, "ipcam"))
        camera.start()
        wait_for(lambda: len(frames(bus, "ipcam")) >= before + 10, 30, what="frames after the camera returns")
        assert worker.alive()
        assert capture_state(bus, "ipcam").reconnects >= 2
        seqs = [f.seq for f in frames(bus, "ipcam")]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    finally:
        camera.stop()
        worker.stop()


def test_record_then_replay_keeps_frames_and_timing(
    make_settings, bus: Bus, client, sample_video, tmp_path: Path
) -> None:
    settings = make_settings(cameras=[{"id": "src", "source": str(sample_video), "fps": 20.0}])
    out = tmp_path / "clip.msrec"
    recorder_stop = Stopper()
    recorded: list[int] = []
    rec_thread = threading.Thread(
        target=lambda: recorded.append(
            record(bus, "src", out, seconds=30, stopper=recorder_stop, max_frames=30)
        ),
        daemon=True,
    )
    rec_thread.start()
    # The recorder opens its file once it knows where the stream ends: from then on it misses nothing.
    wait_for(out.exists, 10, what="the recorder to start following")
    rt = Runtime("capture", settings, client, Stopper(), name_suffix="src")
    CaptureLoop(
        rt, open_source(str(sample_video)), CaptureOptions(camera="src", fps=20.0, max_frames=40)
    ).run()
    rec_thread.join(30)
    assert recorded == [30]
    reader = RecordingReader(out)
    assert reader.camera == "src"
    original = list(reader.frames())
    assert len(original) == 30 and 1.2 < original[-1].offset < 1.8  # 29 intervals at 20 fps

    replay_rt = Runtime("capture", settings, client, Stopper(), name_suffix="replayed")
    CaptureLoop(
        replay_rt, RecordingSource(str(out)), CaptureOptions(camera="replayed", every_frame=True)
    ).run()
    replayed = frames(bus, "replayed")
    assert len(replayed) == 30
    assert [f.jpeg for f in replayed] == [f.jpeg for f in original]
    assert not any(f.live for f in replayed)  # every_frame: nothing skipped downstream
    span = replayed[-1].ts - replayed[0].ts
    assert abs(span - original[-1].offset) < 0.3


def test_truncated_recording_replays_whole_frames(tmp_path: Path) -> None:
    path = tmp_path / "cut.msrec"
    jpg = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    with RecordingWriter(path, "c") as w:
        for i in range(5):
            w.write(100.0 + i * 0.1, 8, 8, jpg, i)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    assert len(list(RecordingReader(path).frames())) == 4


def test_not_a_recording(tmp_path: Path) -> None:
    from moodstream.capture.recording import RecordingError

    bad = tmp_path / "bad.msrec"
    bad.write_bytes(b"\x93hello")
    with pytest.raises(RecordingError):
        RecordingReader(bad)


def test_a_reconnecting_camera_stays_listed_while_it_backs_off(
    tmp_path: Path, redis_base_url: str, prefix: str, bus
) -> None:
    """Its retry delay (4 s here) outlasts the heartbeat's expiry (2.5 s), yet status never loses it."""
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "capture": {"reconnect_initial_s": 4.0, "reconnect_max_s": 4.0},
            "cameras": [{"id": "gate", "source": "rtsp://127.0.0.1:9/x", "fps": 5.0}],
        },
    )
    (tmp_path / "logs").mkdir()
    capture = WorkerProcess(config, "capture", "gate", log_dir=tmp_path / "logs")

    def gate():
        return next((c for c in collect_status(bus).cameras if c.camera == "gate"), None)

    try:
        first = wait_for(gate, timeout=60, what="the camera listed")
        seen = [first]
        # Through two retry delays, every look finds it, "reconnecting".
        wait_for(
            lambda: (
                seen.append(gate()) or (seen[-1] is not None and seen[-1].reconnects >= first.reconnects + 2)
            ),
            timeout=30,
            interval=0.25,
            what="two more reconnect attempts",
        )
        assert all(c is not None and c.state == "reconnecting" for c in seen), [c and c.state for c in seen]
    finally:
        capture.stop()
