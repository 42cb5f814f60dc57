"""A camera whose detection reads its sub stream while viewers see its main stream, both over RTSP."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodstream.ops.observe import collect_status
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import EmotionEvent, Frame
from tests.capture.conftest import RtspServer
from tests.capture.test_capture import frames
from tests.capture.test_rtsp import config_for
from tests.helpers import WorkerProcess, wait_for


@pytest.mark.slow
def test_detection_reads_the_sub_stream_and_viewers_get_the_main_stream(
    tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus, camera_videos: dict[str, Path]
) -> None:
    server = RtspServer(tmp_path, {"main": str(camera_videos["720p"]), "sub": str(camera_videos["360p"])})
    server.start()
    config = config_for(tmp_path, redis_base_url, prefix, {})
    config.write_text(
        config.read_text()
        + f'\n[[cameras]]\nid = "hall"\nsource = "{server.url("main")}"\n'
        + f'detect_source = "{server.url("sub")}"\nfps = 10.0\n'
        + "blur_faces = false\n"  # with blurring, viewers get the detector's blurred sub-stream frames
    )
    workers = [WorkerProcess(config, "capture", "hall", log_dir=tmp_path)]
    workers += [WorkerProcess(config, s, log_dir=tmp_path) for s in ("detector", "classifier", "smoother")]
    try:

        def emotions() -> list[EmotionEvent]:
            return [EmotionEvent.decode(e.payload) for e in bus.history(bus.keys.emotions)]

        wait_for(
            lambda: any(e.camera == "hall" for e in emotions()), 120, what="emotions from the sub stream"
        )
        assert {(f.width, f.height) for f in frames(bus, "hall")} == {(640, 360)}

        def viewers_frame() -> Frame | None:
            raw = bus._client.get(bus.keys.latest_frame("hall"))
            return Frame.decode(raw) if raw else None

        wait_for(lambda: viewers_frame() is not None, 30, what="a main-stream frame for viewers")
        assert (viewers_frame().width, viewers_frame().height) == (1280, 720)
        (cam,) = collect_status(bus).cameras
        assert cam.state == "streaming" and cam.view_state == "streaming", cam
    finally:
        for w in workers:
            w.stop()
        server.stop()
    status_line = [w for w in workers if "view stream streaming" in w.output()]
    assert status_line, "capture says the viewers' stream is up"
