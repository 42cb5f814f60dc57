"""A real RTSP server (GStreamer's, from Debian) serving the sample videos, for capture's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from moodstream.bench.rtsp import RtspServerProcess
from moodstream.ops.stack import free_port


class RtspServer(RtspServerProcess):
    """The benchmark's RTSP server process on a free loopback port."""

    def __init__(self, workdir: Path, mounts: dict[str, str], user: str = "", password: str = "") -> None:
        super().__init__(workdir, mounts, free_port(), user, password)


@pytest.fixture
def rtsp_server(tmp_path: Path, assets) -> Iterator[RtspServer]:
    samples = assets["samples"]
    server = RtspServer(
        tmp_path,
        {
            "face": str(samples / "WolfgangLanger_Pexels.mp4"),
            "face265": f"{samples / 'single_face.mp4'}:h265",
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def camera_videos(assets) -> dict[str, Path]:
    """The sample as a camera's 720p main stream and 360p sub stream (H.264, 25 fps, cameras' bitrates)."""
    from moodstream.bench.camera_video import camera_video

    return {stream: camera_video(stream) for stream in ("720p", "360p")}
