"""A real RTSP server (GStreamer's, from Debian) serving the sample videos, for capture's tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodstream.ops.stack import free_port
from tests.helpers import ROOT, wait_for

SERVER = ROOT / "moodstream" / "bench" / "rtsp_server.py"


class RtspServer:
    """``rtsp_server.py`` under Debian's python3, stoppable and restartable on the same port."""

    def __init__(self, workdir: Path, mounts: dict[str, str], user: str = "", password: str = "") -> None:
        self.port = free_port()
        self.workdir = workdir
        self.mounts = mounts
        self.credentials = ["--user", user, "--password", password] if user else []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"rtsp-{self.port}.log"
        self.starts = 0

    def url(self, mount: str, userinfo: str = "") -> str:
        return f"rtsp://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}/{mount}"

    def start(self) -> None:
        self.starts += 1
        ready = self.workdir / f"rtsp-{self.port}-{self.starts}.ready"
        mounts = [a for name, file in self.mounts.items() for a in ("--mount", f"{name}={file}")]
        command = ["/usr/bin/python3", str(SERVER), "--port", str(self.port), "--ready", str(ready)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([*command, *mounts, *self.credentials], stdout=log, stderr=log)
        wait_for(lambda: ready.exists() or self.proc.poll() is not None, 60, what="the RTSP server")
        assert self.proc.poll() is None, self.output()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


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
