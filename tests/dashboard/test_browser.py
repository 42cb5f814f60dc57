"""The dashboard page in a real headless Chromium, against the running stack with two replayed cameras.

Screenshots go to test-artifacts/ (or $MOODSTREAM_TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moodstream.ops.stack import free_port
from moodstream.streams.schemas import EMOTIONS
from tests.helpers import ROOT, moodstream, pipeline_config, wait_for

ARTIFACTS = Path(os.environ.get("MOODSTREAM_TEST_ARTIFACTS", ROOT / "test-artifacts"))
CAMERAS = ("desk", "lobby")

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def stack(tmp_path: Path, redis_base_url: str, prefix: str, assets) -> Iterator[str]:
    config = pipeline_config(
        tmp_path,
        redis_base_url,
        prefix,
        assets["samples"],
        dashboard={"enabled": True, "port": free_port(), "stats_interval_s": 0.5},
        # Any face on the lobby camera for 2 s: the sample video fires it within seconds.
        alerts=[
            {
                "name": "lobby-watch",
                "cameras": ["lobby"],
                "emotions": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
                "min_confidence": 0.0,
                "for_s": 2.0,
            }
        ],
    )
    up = moodstream("up", "--config", str(config))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield str(config)
    finally:
        moodstream("down", "--config", str(config))


def attr(page: Any, camera: str, name: str) -> str | None:
    return page.get_attribute(f'[data-camera="{camera}"]', f"data-{name}")


def num(page: Any, camera: str, name: str) -> int:
    return int(attr(page, camera, name) or 0)


def test_dashboard_page_shows_live_cameras(stack: str, browser: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = moodstream("url", "--config", stack).stdout.strip()
    assert "?token=" in url
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    # The link's token became an HttpOnly cookie: it stays in no address bar, history or script.
    assert "token" not in page.evaluate("location.href") and page.evaluate("document.cookie") == ""
    assert not [h for h in page.evaluate("performance.getEntries().map(e => e.name)") if "token=" in h]

    for camera in CAMERAS:
        page.wait_for_selector(f'[data-camera="{camera}"]', timeout=90_000)
    # Video that changes over time.
    for camera in CAMERAS:
        wait_for(lambda c=camera: num(page, c, "frames") >= 5, 90, what=f"video on {camera}")
    before = {
        c: (num(page, c, "seq"), page.locator(f'[data-camera="{c}"] .video').screenshot()) for c in CAMERAS
    }
    page.wait_for_timeout(1500)
    for camera in CAMERAS:
        seq, shot = before[camera]
        assert num(page, camera, "seq") > seq
        assert page.locator(f'[data-camera="{camera}"] .video').screenshot() != shot
    # Boxes, a growing timeline and a suggestion on both tiles.
    for camera in CAMERAS:
        wait_for(lambda c=camera: num(page, c, "boxes") > 0, 90, what=f"face boxes on {camera} ({errors})")
        wait_for(lambda c=camera: num(page, c, "tracks") > 0, 90, what=f"a suggestion on {camera}")
        points = wait_for(lambda c=camera: num(page, c, "points"), 90, what=f"a timeline on {camera}")
        wait_for(
            lambda c=camera, p=points: num(page, c, "points") > p, 30, what=f"{camera}'s timeline to grow"
        )
    page.screenshot(path=str(ARTIFACTS / "dashboard-grid.png"))
    check_timeline(page, "lobby")
    # The alert rule fires on the lobby: in the alerts panel and on its tile, not on the desk's.
    page.wait_for_selector('#alert-list li[data-alert-camera="lobby"]', timeout=60_000)
    page.wait_for_selector('[data-camera="lobby"].alerting .alert-badge:not([hidden])', timeout=10_000)
    assert page.locator('[data-camera="desk"].alerting').count() == 0
    assert "lobby-watch" in page.locator("#alert-list li").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-alert.png"))

    lobby = page.locator('[data-camera="lobby"]')
    link = lobby.locator(".tracks a.open").first
    assert link.get_attribute("href").startswith("https://open.spotify.com/track/")
    assert "noreferrer" in link.get_attribute("rel")
    assert lobby.locator(".player iframe, .player audio").count() == 0  # nothing plays on its own
    lobby.locator(".tracks button.preview").first.click()
    assert lobby.locator(".player iframe, .player audio").count() == 1

    # The focused view, the system panel.
    lobby.locator(".video").click()
    assert page.locator('[data-camera="desk"]').is_hidden()
    page.screenshot(path=str(ARTIFACTS / "dashboard-focused.png"))
    page.keyboard.press("Escape")
    assert page.locator('[data-camera="desk"]').is_visible()
    page.click("#toggle-system")
    page.wait_for_selector('#stages tr[data-stage="detector"]')
    workers = page.locator('#stages tr[data-stage="detector"] td').nth(1).inner_text()
    assert int(workers) >= 1
    page.screenshot(path=str(ARTIFACTS / "dashboard-system.png"))

    # Tiles follow the cameras.
    from moodstream.config import load_settings
    from moodstream.ops.stack import supervisorctl

    settings = load_settings(stack)
    supervisorctl(settings, "stop", "capture-desk")
    page.wait_for_selector('[data-camera="desk"]', state="detached", timeout=30_000)
    supervisorctl(settings, "start", "capture-desk")
    page.wait_for_selector('[data-camera="desk"]', timeout=60_000)

    # History is loaded when the page opens.
    page.reload()
    page.wait_for_selector('[data-camera="lobby"][data-history]', timeout=30_000)
    assert num(page, "lobby", "history") > 0
    assert not errors, errors
    page.close()


def check_timeline(page: Any, camera: str) -> None:
    """A time axis over the chosen range, a readout of the newest bucket (or the hovered one), and the
    range selector asking the timeline endpoint for that range's buckets."""
    tile = page.locator(f'[data-camera="{camera}"]')
    readout = tile.locator(".readout")
    assert attr(page, camera, "range") == "300"
    assert num(page, camera, "xmax") - num(page, camera, "xmin") == 300
    wait_for(lambda: readout.inner_text().startswith("now: "), 10, what="the current label")
    assert readout.get_attribute("data-label") in EMOTIONS
    box = tile.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 4, box["y"] + box["height"] / 2)
    wait_for(lambda: readout.get_attribute("data-hover") == "true", 10, what="a readout on hover")
    assert re.fullmatch(r"\d\d:\d\d:\d\d( [AP]M)?: \w+ \d+%", readout.inner_text()), readout.inner_text()
    values = tile.locator(".u-legend .u-value").all_inner_texts()
    assert len(values) == 1 + len(EMOTIONS) and all(v.endswith("%") for v in values[1:]), values
    tile.locator(".chart").screenshot(path=str(ARTIFACTS / "dashboard-timeline.png"))
    page.mouse.move(0, 0)
    for label, span, bucket in (("1 h", 3600, 10), ("24 h", 86400, 300), ("5 min", 300, 1)):
        with page.expect_response(lambda r, b=bucket: "/timeline?" in r.url and f"bucket={b}" in r.url):
            tile.locator(".range", has_text=label).click()
        wait_for(lambda b=bucket: num(page, camera, "bucket") == b, 10, what=f"the {label} view")
        assert num(page, camera, "xmax") - num(page, camera, "xmin") == span
        assert tile.locator(f'.range[data-range="{span}"]').get_attribute("aria-pressed") == "true"
        assert num(page, camera, "points") > 0, label
    assert page.locator('[data-camera="desk"]').get_attribute("data-range") == "300"  # per tile


def test_a_wrong_token_is_refused(stack: str, browser: Any) -> None:
    url = moodstream("url", "--config", stack).stdout.strip()
    page = browser.new_page()
    response = page.goto(url.split("?")[0] + "?token=wrong")
    assert response.status == 401
    assert "Token required" in page.inner_text("h1")
    assert page.locator("[data-camera]").count() == 0
    response = page.goto(url.split("?")[0])
    assert response.status == 401
    page.screenshot(path=str(ARTIFACTS / "dashboard-refused.png"))
    # The same page with its token works.
    assert page.goto(url).status == 200
    page.wait_for_selector('body[data-connection="connected"]', timeout=30_000)
    page.close()
