"""A viewer's webcam as a camera, over the feed's Socket.IO protocol (a real dashboard process): what is
published, what is refused and why, and how the camera ends."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from moodstream.ops.observe import collect_status
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Frame
from tests.dashboard.conftest import Dashboard
from tests.dashboard.test_feed import FEED, FeedClient
from tests.helpers import wait_for


def jpeg(width: int, height: int) -> bytes:
    image = np.full((height, width, 3), 128, np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def call(client: FeedClient, event: str, body: dict | None = None) -> dict:
    return client.sio.call(event, body or {}, namespace=FEED, timeout=10)


def browser_cameras(bus: Bus) -> dict[str, str]:
    return {c.camera: c.source for c in collect_status(bus).cameras if c.camera.startswith("browser-")}


@pytest.fixture
def dash(start_dashboard: Callable[..., Dashboard]) -> Dashboard:
    return start_dashboard(sections={"browser_cameras": {"max": 1, "fps": 10, "max_width": 640}})


def test_frames_are_published_as_a_camera_until_the_viewer_stops(dash: Dashboard, bus: Bus) -> None:
    viewer = FeedClient(dash.url, dash.token)
    try:
        assert call(viewer, "camera_frame", {"jpeg": jpeg(64, 48)})["error"].startswith("no camera started")
        started = call(viewer, "camera_start", {"name": "Ana"})
        assert started == {"ok": True, "camera": "browser-ana", "fps": 10.0, "max_width": 640}
        assert call(viewer, "camera_frame", {"jpeg": jpeg(640, 360)}) == {"ok": True, "seq": 0}
        assert call(viewer, "camera_frame", {"jpeg": jpeg(640, 360)})["dropped"]  # within 1/fps
        (frame,) = [Frame.decode(e.payload) for e in bus.history(bus.keys.frames)]
        assert (frame.camera, frame.width, frame.height, frame.live) == ("browser-ana", 640, 360, True)
        assert browser_cameras(bus) == {"browser-ana": "browser"}
        assert call(viewer, "camera_stop") == {"ok": True, "camera": "browser-ana"}
        assert browser_cameras(bus) == {}
    finally:
        viewer.close()


def test_bad_frames_and_one_camera_too_many_are_refused_in_one_line(dash: Dashboard, bus: Bus) -> None:
    first, second = FeedClient(dash.url, dash.token), FeedClient(dash.url, dash.token)
    try:
        camera = call(first, "camera_start", {"name": "../../etc"})["camera"]
        assert camera.startswith("browser-") and "/" not in camera  # a bad name: a random one
        assert (
            "not a JPEG" in call(first, "camera_frame", {"jpeg": b"\x89PNG\r\n\x1a\n" + bytes(64)})["error"]
        )
        assert "max_width 640" in call(first, "camera_frame", {"jpeg": jpeg(1280, 720)})["error"]
        assert "a frame is" in call(first, "camera_frame", {"jpeg": "text"})["error"]
        refused = call(second, "camera_start")
        assert not refused["ok"] and "max 1" in refused["error"]
        first.close()  # disconnecting ends its camera: the place is free again
        wait_for(lambda: browser_cameras(bus) == {}, 10, what="the camera removed on disconnect")
        assert call(second, "camera_start")["ok"]
    finally:
        second.close()


def test_turned_off_they_are_refused(start_dashboard: Callable[..., Dashboard]) -> None:
    dash = start_dashboard(sections={"browser_cameras": {"enabled": False}})
    viewer = FeedClient(dash.url, dash.token)
    try:
        reply = call(viewer, "camera_start")
        assert not reply["ok"] and "[browser_cameras] enabled" in reply["error"]
    finally:
        viewer.close()
