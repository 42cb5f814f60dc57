"""Capture from a real RTSP server as IP cameras serve it: H.264 and H.265 over TCP, an outage and a
return, credentials that appear nowhere, and a camera that talks garbage."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from moodstream.ops.observe import collect_status
from moodstream.ops.stack import free_port
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import EmotionEvent
from tests.capture.conftest import RtspServer
from tests.capture.test_capture import capture_state, frames, state_of
from tests.helpers import WorkerProcess, wait_for, write_config

OUTAGE_S = 10.0


def config_for(tmp_path: Path, url: str, prefix: str, cameras: dict[str, str], **sections) -> Path:
    return write_config(
        tmp_path / "ms.toml",
        {
            "redis": {"url": url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.3, "dir": str(tmp_path / "run")},
            "capture": {"reconnect_initial_s": 0.2, "reconnect_max_s": 1.0, "read_timeout_s": 2.0},
            **sections,
            "cameras": [{"id": cam, "source": source, "fps": 10.0} for cam, source in cameras.items()],
        },
    )


@pytest.mark.slow
def test_h264_and_h265_cameras_stream_over_tcp_and_yield_emotions(
    tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus, rtsp_server: RtspServer
) -> None:
    cameras = {"door": rtsp_server.url("face"), "desk": rtsp_server.url("face265")}
    config = config_for(tmp_path, redis_base_url, prefix, cameras)
    workers = [WorkerProcess(config, "capture", cam, log_dir=tmp_path) for cam in cameras]
    workers += [WorkerProcess(config, s, log_dir=tmp_path) for s in ("detector", "classifier", "smoother")]
    try:

        def cameras_with_emotions() -> set[str]:
            return {EmotionEvent.decode(e.payload).camera for e in bus.history(bus.keys.emotions)}

        wait_for(lambda: cameras_with_emotions() == set(cameras), 120, what="emotions from both cameras")
        assert all(state_of(bus, cam) == "streaming" for cam in cameras)
        setups = [line for line in rtsp_server.output().splitlines() if line.startswith("setup ")]
        assert setups and all(line.endswith(" TCP") for line in setups), setups
        # The cameras send 30 fps and capture keeps 10: every frame decoded, two of three dropped unconverted.
        for cam in collect_status(bus).cameras:
            assert cam.decoder == "software" and cam.decode_ms > 0, cam
            assert cam.dropped > cam.decoded / 3 and cam.decoded > cam.frames, cam
            assert cam.last_frame_age_s is not None and cam.last_frame_age_s < 2, cam
        for w in workers[:2]:
            assert "decoding in software (hardware decode: none found)" in w.output()
    finally:
        for w in workers:
            w.stop()


@pytest.mark.slow
def test_a_camera_that_goes_away_for_10_s_is_back_within_seconds_of_its_return(
    tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus, rtsp_server: RtspServer
) -> None:
    config = config_for(tmp_path, redis_base_url, prefix, {"door": rtsp_server.url("face")})
    worker = WorkerProcess(config, "capture", "door", log_dir=tmp_path)
    try:
        wait_for(lambda: len(frames(bus, "door")) >= 10, 60, what="frames")
        rtsp_server.stop()
        down_at = time.monotonic()
        wait_for(lambda: state_of(bus, "door") == "reconnecting", 30, what="the outage noticed")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))  # the outage itself, not a wait
        before = len(frames(bus, "door"))
        rtsp_server.start()
        back_at = time.monotonic()
        wait_for(lambda: len(frames(bus, "door")) > before, 30, what="frames after the camera's return")
        assert time.monotonic() - back_at < 8.0, "back within a few seconds of the server's return"
        assert worker.alive() and state_of(bus, "door") == "streaming"
        assert capture_state(bus, "door").reconnects >= 1
    finally:
        worker.stop()


@pytest.mark.slow
def test_a_password_in_the_camera_url_appears_in_no_log_not_even_ffmpegs(
    tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus, assets
) -> None:
    secret = "Pw-9f3c7a1e"
    server = RtspServer(
        tmp_path, {"face": str(assets["samples"] / "WolfgangLanger_Pexels.mp4")}, "viewer", secret
    )
    server.start()
    cameras = {"good": server.url("face", f"viewer:{secret}"), "bad": server.url("face", f"viewer:{secret}x")}
    config = config_for(tmp_path, redis_base_url, prefix, cameras)
    # FFmpeg at debug level prints every RTSP request it sends, its Authorization header included.
    env = {"OPENCV_FFMPEG_LOGLEVEL": "48", "OPENCV_LOG_LEVEL": "DEBUG"}
    workers = [WorkerProcess(config, "capture", cam, log_dir=tmp_path, env=env) for cam in cameras]
    try:
        wait_for(lambda: len(frames(bus, "good")) >= 5, 60, what="frames with the right password")
        wait_for(
            lambda: capture_state(bus, "bad") and capture_state(bus, "bad").reconnects >= 2,
            60,
            what="retries",
        )
    finally:
        for w in workers:
            w.stop()
        server.stop()
    for w in workers:
        text = w.output()
        assert "RTSP" in text or "rtsp" in text, "FFmpeg's own lines are there, redacted"
        assert secret not in text and "dmlld2VyOlB3LTlmM2M3YTFl" not in text  # nor its base64
    for cam in cameras:
        status = capture_state(bus, cam)
        assert status is None or secret not in f"{status.source} {status.error}"


class GarbageCamera:
    """Accepts RTSP connections and answers each with a few hundred bytes of noise, then hangs up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.recv(4096)
                conn.sendall(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n" + bytes(range(256)) * 2)

    def close(self) -> None:
        self.sock.close()


def test_a_camera_that_talks_garbage_is_retried_not_fatal(
    tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus
) -> None:
    camera = GarbageCamera()
    config = config_for(tmp_path, redis_base_url, prefix, {"noise": f"rtsp://127.0.0.1:{camera.port}/x"})
    worker = WorkerProcess(config, "capture", "noise", log_dir=tmp_path)
    try:
        wait_for(lambda: camera.connections >= 3, 60, what="three attempts")
        wait_for(lambda: state_of(bus, "noise") == "reconnecting", 30, what="the camera's state")
        assert worker.alive() and capture_state(bus, "noise").error
    finally:
        worker.stop()
        camera.close()
