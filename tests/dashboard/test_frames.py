"""The frame pump, one step at a time on made-up times: probing, pacing, the in-flight window,
latest-frame-wins and ack timeouts. Real Redis holds the frames; no server, no waiting."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from moodstream.dashboard.clients import WINDOW, Clients, Subscription
from moodstream.dashboard.frames import FramePump, frame_payload
from moodstream.streams import capture_frames
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Frame, Overlay, OverlayFace

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


class Sent:
    """What the pump asked Socket.IO to send: (sid, body, ack callback)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], Any]] = []

    def __call__(self, sid: str, body: dict[str, Any], callback: Any) -> None:
        self.calls.append((sid, body, callback))

    def seqs(self, sid: str) -> list[int]:
        return [body["seq"] for s, body, _ in self.calls if s == sid]

    def ack(self, sid: str) -> None:
        """The client acknowledges its oldest unacknowledged frame."""
        for i, (s, _, callback) in enumerate(self.calls):
            if s == sid and callback is not None:
                callback()
                self.calls[i] = (s, self.calls[i][1], None)
                return


def publish(bus: Bus, camera: str, seq: int, ts: float) -> None:
    capture_frames.publish_live(bus, camera, Frame(camera, seq, ts, 64, 48, JPEG).encode())


@pytest.fixture
def pump(bus: Bus) -> tuple[FramePump, Clients, Sent]:
    clients, sent = Clients(), Sent()
    clients.add("viewer")
    clients.subscribe("viewer", Subscription.parse({"cameras": ["cam"], "frames": True}, 10.0))
    clients.add("events-only")
    clients.subscribe("events-only", Subscription.parse({"cameras": "*"}, 10.0))
    return (
        FramePump(bus, clients, sent, lambda: ["cam", "other"], max_fps=10.0, ack_timeout_s=5.0),
        clients,
        sent,
    )


def test_a_new_frame_goes_to_video_viewers_only(bus: Bus, pump) -> None:
    p, _, sent = pump
    p.poll(100.0)
    p.flush(100.0)
    assert sent.calls == []  # nothing published yet
    publish(bus, "cam", 1, 50.0)
    p.poll(100.0)
    p.flush(100.0)
    assert sent.seqs("viewer") == [1] and sent.seqs("events-only") == []
    body = sent.calls[0][1]
    assert base64.b64decode(body["jpeg"]) == JPEG and body["camera"] == "cam" and body["faces"] == []
    p.poll(100.2)  # the same frame again: probed, not sent twice
    p.flush(100.2)
    assert sent.seqs("viewer") == [1]
    assert p.counters["frames_sent"] == 1


def test_at_most_max_fps_per_camera(bus: Bus, pump) -> None:
    p, _, sent = pump
    for i, now in enumerate([100.0, 100.03, 100.06, 100.1]):
        publish(bus, "cam", i, 50.0 + i)
        p.poll(now)
        p.flush(now)
        sent.ack("viewer")
    assert sent.seqs("viewer") == [0, 3]  # 10 fps: frames 30 ms apart are not all shown


def test_a_stalled_viewer_holds_a_window_then_gets_the_newest(bus: Bus, pump) -> None:
    p, _, sent = pump
    now = 100.0
    for seq in range(6):  # never acknowledged
        publish(bus, "cam", seq, 50.0 + seq)
        p.poll(now)
        p.flush(now)
        now += 0.2
    assert sent.seqs("viewer") == list(range(WINDOW))  # the window, then nothing
    assert p.counters["frames_dropped"] == 6 - WINDOW - 1  # each newer frame replaced the one waiting
    sent.ack("viewer")
    p.flush(now)
    assert sent.seqs("viewer") == [0, 1, 5]  # the newest, not the backlog
    assert p.counters["frames_acked"] == 1


def test_unacknowledged_frames_time_out(bus: Bus, pump) -> None:
    p, _, sent = pump
    for seq, now in enumerate([100.0, 100.2, 100.4]):
        publish(bus, "cam", seq, 50.0 + seq)
        p.poll(now)
        p.flush(now)
    assert sent.seqs("viewer") == [0, 1]
    p.flush(104.9)
    assert p.counters["ack_timeouts"] == 0
    p.flush(105.0)  # frame 0 was sent at 100.0 with a 5 s ack timeout
    assert p.counters["ack_timeouts"] == 1 and sent.seqs("viewer") == [0, 1, 2]


def test_overlay_boxes_only_when_they_belong_to_the_frame() -> None:
    frame = Frame("cam", 9, 50.0, 64, 48, JPEG).encode()
    face = OverlayFace(3, (1, 2, 30, 30), "happy", 0.8)
    near = Overlay(8, 49.5, 64, 48, [face]).encode()
    body = frame_payload(frame, near)
    assert body["overlay_seq"] == 8
    assert body["faces"] == [{"track": 3, "box": [1, 2, 30, 30], "label": "happy", "confidence": 0.8}]
    stale = Overlay(2, 40.0, 64, 48, [face]).encode()
    assert frame_payload(frame, stale)["faces"] == []  # the pipeline is behind: no boxes
    assert frame_payload(frame, b"\x93junk")["faces"] == []  # undecodable: the video goes on
    unsettled = Overlay(8, 50.0, 64, 48, [OverlayFace(4, (1, 2, 30, 30), "", 0.0)]).encode()
    assert frame_payload(frame, unsettled)["faces"][0]["label"] is None


def test_boxes_found_on_a_sub_stream_are_scaled_onto_the_main_stream_frame() -> None:
    main = Frame("cam", 9, 50.0, 1280, 720, JPEG).encode()  # what viewers see: the main stream
    # Found on a 640x480 sub stream of the same scene (cameras stretch it to 4:3).
    sub = Overlay(8, 49.9, 640, 480, [OverlayFace(3, (100, 120, 64, 80), "happy", 0.8)]).encode()
    assert frame_payload(main, sub)["faces"][0]["box"] == [200, 180, 128, 120]
