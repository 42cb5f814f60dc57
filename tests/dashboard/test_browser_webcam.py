"""The viewer's own webcam, in a real Chromium whose camera is a sample video (Chromium's fake capture
device reads a .y4m file): pressing "Use my camera" makes the viewer a camera of the running stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from moodstream.bench.browser_cameras import fake_camera_file
from moodstream.ops.stack import free_port
from tests.dashboard.conftest import CHROMIUM
from tests.dashboard.test_feed import FeedClient
from tests.helpers import moodstream, wait_for, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]

OWN = '.tile[data-camera^="browser-"]'


@pytest.fixture
def stack(tmp_path: Path, redis_base_url: str, prefix: str) -> Iterator[Path]:
    """The pipeline and the dashboard with no configured camera: viewers' webcams are the cameras."""
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "recommender": {"cooldown_s": 1.0, "first_after_s": 1.0},
            "dashboard": {"enabled": True, "port": free_port(), "stats_interval_s": 0.5},
            "browser_cameras": {"fps": 10},
        },
    )
    up = moodstream("up", "--config", str(config))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield config
    finally:
        moodstream("down", "--config", str(config))


@pytest.fixture
def webcam_browser(tmp_path: Path, assets) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    fake = fake_camera_file(assets["samples"] / "single_face.mp4", tmp_path / "face.y4m")
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",  # allow the camera without asking
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={fake}",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            browser.close()


def test_the_viewers_webcam_becomes_a_camera_with_emotions_and_a_suggestion(
    stack: Path, webcam_browser: Any
) -> None:
    url = moodstream("url", "--config", str(stack)).stdout.strip()
    parts = urlsplit(url)
    feed = FeedClient(f"{parts.scheme}://{parts.netloc}", parse_qs(parts.query)["token"][0])
    try:
        assert feed.subscribe(cameras="*")["ok"]
        page = webcam_browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(url)
        button = page.locator('[data-action="use-camera"]')
        button.click()
        page.wait_for_selector(f'{OWN}[data-own="1"]', timeout=60_000)
        camera = page.get_attribute(OWN, "data-camera")
        assert (
            button.get_attribute("data-state") == "on" and button.get_attribute("data-own-camera") == camera
        )

        def emotions() -> list[dict]:
            return [e for e in feed.events["emotion"] if e["camera"] == camera]

        wait_for(emotions, 90, what=f"emotion events for {camera} on the feed ({errors})")
        page.wait_for_selector(f"{OWN} .video.live, {OWN}.live", timeout=30_000)
        try:
            wait_for(lambda: int(page.get_attribute(OWN, "data-tracks") or 0) > 0, 90, what="a suggestion")
        except AssertionError:
            counts = {k: len(v) for k, v in feed.events.items()}
            raise AssertionError(
                f"no suggestion shown; the feed had {counts}; page errors {errors}"
            ) from None
        player = page.locator(f"{OWN} .player iframe")
        player.wait_for(timeout=10_000)  # Spotify's player, shown: it plays only when pressed
        assert player.get_attribute("src").startswith("https://open.spotify.com/embed/track/")
        assert page.locator(f"{OWN} .player audio").count() == 0

        button.click()  # stop: the camera goes, its tile with it
        page.wait_for_selector(OWN, state="detached", timeout=30_000)
        assert button.get_attribute("data-state") == "off"
        assert not errors, errors
    finally:
        feed.close()
