"""Which of a live camera's frames capture keeps: the rate asked for, whatever the camera sends."""

from __future__ import annotations

import pytest

from moodstream.capture.pacing import CaptureOptions, Pacer
from moodstream.capture.sources import Source


def kept_per_second(camera_fps: float, fps: float, seconds: int = 20, jitter_ms: float = 0.0) -> float:
    pacer = Pacer(CaptureOptions(camera="c", fps=fps), Source())  # a bare Source is live
    frames = int(camera_fps * seconds)
    arrivals = [1000.0 + i / camera_fps + (jitter_ms / 1000 if i % 2 else 0.0) for i in range(frames)]
    return sum(pacer.keep_live(t) for t in arrivals) / seconds


@pytest.mark.parametrize(("camera_fps", "fps"), [(25, 15), (25, 10), (25, 5), (30, 10), (30, 15), (24, 12)])
def test_a_live_camera_is_kept_at_the_rate_asked_not_a_divisor_of_its_own(camera_fps: int, fps: int) -> None:
    assert kept_per_second(camera_fps, fps) == pytest.approx(fps, abs=0.1)


def test_arrival_jitter_does_not_lower_the_rate() -> None:
    assert kept_per_second(25, 10, jitter_ms=3.0) == pytest.approx(10, abs=0.1)


def test_a_camera_slower_than_asked_gives_all_it_has() -> None:
    assert kept_per_second(8, 15) == pytest.approx(8, abs=0.1)


def test_after_a_stall_it_does_not_burst() -> None:
    pacer = Pacer(CaptureOptions(camera="c", fps=10), Source())
    assert pacer.keep_live(100.0)
    assert pacer.keep_live(105.0)  # 5 s without frames: the next is kept...
    assert not pacer.keep_live(105.04)  # ...and the one 40 ms later is not: no catching up
    assert pacer.keep_live(105.1)
