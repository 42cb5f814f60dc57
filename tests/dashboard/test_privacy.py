"""Privacy by design, end to end: the running stack (`up`) with four cameras showing the same still
face, watched through the feed, REST, `watch` and a real Chromium.

- ``open``: blurring off, the reference;
- ``blurred``: blurring on (the default): the face is blurred beyond recognition, the rest unchanged;
- ``masked``: a mask over the face: no emotion, and the region black;
- ``agg``: aggregate-only: its mood over time and suggestion leave, no per-face event, box or frame.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from moodstream.ops.stack import free_port
from tests.dashboard.conftest import TOKEN
from tests.dashboard.test_feed import FeedClient
from tests.helpers import moodstream, wait_for, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]

WIDTH = 480
NOTICE = "Cameras here infer emotions to pick the music. Ask at the desk."


def still_video(path: Path, picture: Path) -> tuple[Path, tuple[int, int, int, int]]:
    """A short video of one still picture, and where its face is (OpenCV's own Haar cascade)."""
    image = cv2.imread(str(picture))
    h, w = image.shape[:2]
    image = cv2.resize(image, (WIDTH, round(h * WIDTH / w) // 2 * 2))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    faces = cascade.detectMultiScale(gray, 1.1, 5, minSize=(40, 40))
    assert len(faces) >= 1, "the sample picture's face is not found"
    x, y, fw, fh = max(faces, key=lambda f: f[2] * f[3])
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (image.shape[1], image.shape[0]))
    for _ in range(20):
        out.write(image)
    out.release()
    return path, (int(x), int(y), int(fw), int(fh))


def energy(gray: np.ndarray) -> float:
    """High-frequency energy: the Laplacian's variance."""
    return float(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F).var())


def regions(shape: tuple[int, ...], box: tuple[int, int, int, int], grow: float) -> tuple[Any, np.ndarray]:
    """The face's inner part (boxes and labels are drawn on its edge), and a mask of the background well
    outside the blurred area."""
    x, y, w, h = box
    inner = np.s_[y + h // 5 : y + h - h // 5, x + w // 5 : x + w - w // 5]
    outside = np.ones(shape[:2], bool)
    dx, dy = int(w * grow) + 8, int(h * grow) + 8
    outside[max(0, y - dy) : y + h + dy, max(0, x - dx) : x + w + dx] = False
    return inner, outside


def gray_of(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)


def assert_blurred(open_gray: np.ndarray, blurred_gray: np.ndarray, box: tuple[int, int, int, int]) -> None:
    inner, outside = regions(open_gray.shape, box, 0.25)
    ratio = energy(blurred_gray[inner]) / energy(open_gray[inner])
    assert ratio < 0.1, f"the face keeps {ratio:.0%} of its high-frequency energy"
    diff = np.abs(open_gray.astype(int) - blurred_gray.astype(int))[outside].mean()
    assert diff < 6, f"the background changed by {diff:.1f} grey levels on average"


@pytest.fixture
def stack(tmp_path: Path, redis_base_url: str, prefix: str, assets) -> Iterator[dict[str, Any]]:
    video, box = still_video(tmp_path / "still.mp4", assets["samples"] / "single_face.jpg")
    image_h = int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_HEIGHT))
    x, y, w, h = box
    mx, my = w * 0.3, h * 0.3
    corners = [(x - mx, y - my), (x + w + mx, y - my), (x + w + mx, y + h + my), (x - mx, y + h + my)]
    mask = [
        [min(1.0, max(0.0, cx / (WIDTH - 1))), min(1.0, max(0.0, cy / (image_h - 1)))] for cx, cy in corners
    ]
    camera = {"source": str(video), "fps": 5.0, "loop": True}
    port = free_port()
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "recommender": {"cooldown_s": 1.0},
            "dashboard": {"enabled": True, "port": port, "token": TOKEN, "stats_interval_s": 0.5},
            "privacy": {"controller": "Test Café", "contact": "privacy@example.org", "retention": "7d"},
            "cameras": [
                {"id": "open", **camera, "blur_faces": False, "notice": NOTICE},
                {"id": "blurred", **camera},
                {"id": "masked", **camera, "blur_faces": False, "masks": [{"points": mask, "name": "face"}]},
                {"id": "agg", **camera, "privacy": "aggregate", "purpose": "the room's mood"},
            ],
        },
    )
    up = moodstream("up", "--config", str(config))
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield {"config": str(config), "box": box, "height": image_h, "url": f"http://127.0.0.1:{port}"}
    finally:
        moodstream("down", "--config", str(config))


def get(url: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def by_camera(events: list[dict[str, Any]], camera: str) -> list[dict[str, Any]]:
    return [e for e in events if e["camera"] == camera]


def check_feed(stack: dict[str, Any]) -> None:
    feed = FeedClient(stack["url"])
    try:
        assert feed.subscribe(cameras="*", frames=True)["ok"]
        frames, emotions = feed.events["frame"], feed.events["emotion"]
        wait_for(
            lambda: (
                all(len(by_camera(frames, c)) >= 3 for c in ("open", "blurred", "masked"))
                and len(by_camera(emotions, "open")) >= 5
            ),
            120,
            what="frames of three cameras and emotions of the open one",
        )
        last = {
            c: gray_of(base64.b64decode(by_camera(frames, c)[-1]["jpeg"]))
            for c in ("open", "blurred", "masked")
        }
        assert_blurred(last["open"], last["blurred"], stack["box"])
        x, y, w, h = stack["box"]
        assert last["masked"][y : y + h, x : x + w].mean() < 8, "the masked face is not black"
        assert not by_camera(emotions, "masked"), "emotions came from inside a mask"
        assert not by_camera(frames, "agg") and not by_camera(emotions, "agg")
        assert all(a["track"] == -1 for a in by_camera(feed.events["alert"], "agg"))
    finally:
        feed.close()


def check_aggregate_outputs(stack: dict[str, Any]) -> None:
    url = stack["url"]

    def mood_over_time() -> bool:
        status, body = get(f"{url}/api/cameras/agg/timeline?bucket=1")
        return status == 200 and any(p["events"] for p in json.loads(body)["points"])

    wait_for(mood_over_time, 60, what="the aggregate camera's timeline")
    wait_for(lambda: get(f"{url}/api/cameras/agg/recommendation")[0] == 200, 60, what="its suggestion")
    watch = moodstream("watch", "--config", stack["config"], "--json", "--from-start", "--seconds", "3")
    seen = [json.loads(line) for line in watch.stdout.splitlines()]
    assert any(e["type"] == "emotion" and e["camera"] == "open" for e in seen), watch.stderr
    assert not [e for e in seen if e["type"] == "emotion" and e["camera"] == "agg"]
    metrics = get(f"{url}/metrics")[1].decode()
    assert not [line for line in metrics.splitlines() if "agg" in line and "track" in line]


def check_page(stack: dict[str, Any], browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{stack['url']}/?token={TOKEN}")
    for camera in ("open", "blurred", "agg"):
        page.wait_for_selector(f'[data-camera="{camera}"]', timeout=60_000)
    frames = lambda c: int(page.get_attribute(f'[data-camera="{c}"]', "data-frames") or 0)  # noqa: E731
    wait_for(lambda: frames("open") >= 3 and frames("blurred") >= 3, 60, what="video on both tiles")
    shots = {}
    for camera in ("open", "blurred"):
        png = page.locator(f'[data-camera="{camera}"] .frame').screenshot()
        shots[camera] = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    sy, sx = shots["open"].shape[0] / stack["height"], shots["open"].shape[1] / WIDTH  # the tile is 16:9
    x, y, w, h = stack["box"]
    assert_blurred(
        shots["open"], shots["blurred"], (round(x * sx), round(y * sy), round(w * sx), round(h * sy))
    )
    agg = page.locator('[data-camera="agg"]')
    assert agg.get_attribute("data-aggregate") == "1" and not agg.locator(".video").is_visible()
    assert frames("agg") == 0
    assert page.locator('[data-camera="open"] .notice').inner_text() == NOTICE
    toggle = page.locator('[data-camera="masked"] .show-masks')
    toggle.click()
    assert page.locator('[data-camera="masked"] svg.masks polygon').count() == 1
    assert page.locator('[data-camera="masked"] svg.masks').is_visible()


def test_what_leaves_the_pipeline_is_protected(stack: dict[str, Any], browser: Any) -> None:
    check_feed(stack)
    check_aggregate_outputs(stack)
    check_page(stack, browser)
