"""The page from an installed wheel: built here, installed into a fresh virtual environment (its
dependencies borrowed from the checkout's), run away from the checkout, and loaded in Chromium."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moodstream.ops.stack import free_port
from tests.helpers import ROOT, Process, wait_for, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
TOKEN = "wheel-token-0123456789abcdef"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding only the built wheel, with the checkout's venv's packages on its path."""
    tmp = tmp_path_factory.mktemp("wheel-install")
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # nothing an older build left behind
    shutil.rmtree(ROOT / "moodstream.egg-info", ignore_errors=True)
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp)], check=True, timeout=300)
    (wheel,) = tmp.glob("moodstream-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "-q", "--no-deps", str(wheel)], check=True, timeout=300
    )
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    yield venv


def dashboard(venv: Path, tmp: Path, config: Path, name: str) -> Process:
    return Process([str(venv / "bin" / "moodstream"), "--config", str(config), "dashboard"], tmp, name)


def test_the_wheel_serves_the_page_with_a_camera_tile(
    installed: Path,
    browser,
    tmp_path: Path,
    redis_base_url: str,
    prefix: str,
    sample_video: Path,
) -> None:
    where = subprocess.check_output(
        [str(installed / "bin" / "python"), "-c", "import moodstream.dashboard as d; print(d.__file__)"],
        cwd=tmp_path,
        text=True,
    )
    assert where.startswith(str(installed)), where  # the wheel's copy, not the checkout
    port = free_port()
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "dashboard": {"enabled": True, "port": port, "token": TOKEN, "stats_interval_s": 0.5},
            # Blurring off: only capture runs, and its own frames are shown.
            "cameras": [
                {"id": "lobby", "source": str(sample_video), "fps": 5, "loop": True, "blur_faces": False}
            ],
        },
    )
    bin_ = installed / "bin" / "moodstream"
    capture = Process(
        [str(bin_), "--config", str(config), "worker", "capture", "--camera", "lobby"], tmp_path, "capture"
    )
    board = dashboard(installed, tmp_path, config, "dashboard")
    page = browser.new_page()
    try:
        url = f"http://127.0.0.1:{port}/?token={TOKEN}"
        wait_for(lambda: _answers(url), 60, what="the wheel's dashboard")
        page.goto(url)
        page.wait_for_selector('[data-camera="lobby"]', timeout=60_000)
        page.wait_for_selector('[data-camera="lobby"] .plot .u-over', timeout=30_000)  # the chart library
        assert page.locator("#banner").is_hidden()

        def without(name: str) -> Any:
            """The page from a dashboard whose wheel lost one vendored file, in a fresh browser context."""
            nonlocal board
            board.stop()
            next(installed.rglob(f"dashboard/static/vendor/{name}")).unlink()
            board = dashboard(installed, tmp_path, config, f"dashboard-without-{name}")
            wait_for(lambda: _answers(url), 60, what="the dashboard again")
            fresh = browser.new_context().new_page()  # nothing cached from an earlier visit
            fresh.goto(url)
            return fresh

        # Without its chart library, each tile says so where its chart would be; the rest works.
        fresh = without("uPlot.iife.min.js")
        fresh.wait_for_selector('[data-camera="lobby"][data-frames]:not([data-frames="0"])', timeout=60_000)
        assert "chart library" in fresh.locator('[data-camera="lobby"] .plot').inner_text()
        fresh.close()
        # Without its Socket.IO client the page says why, rather than showing an empty grid.
        fresh = without("socket.io.min.js")
        fresh.wait_for_selector("#banner:not([hidden])", timeout=30_000)
        assert "cannot serve its Socket.IO client" in fresh.locator("#banner").inner_text()
        assert fresh.locator("#empty").is_hidden()
        fresh.close()
    finally:
        page.close()
        board.stop()
        capture.stop()


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url.split("?")[0] + "healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
