"""The feed with real processes: a late subscriber gets the current state at once, and a client that was
away for 10 s while events flowed gets everything it missed when it subscribes again with `since`."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from moodstream.dashboard.history import event_key
from moodstream.streams import camera_state
from moodstream.streams.bus import Bus
from tests.dashboard.test_feed import FeedClient, emotion, recommendation
from tests.helpers import WorkerProcess, wait_for, write_config

CAMERAS = [
    {"id": "lobby", "source": "sample:single_face.mp4"},
    {"id": "desk", "source": "sample:single_face.mp4"},
]


def test_a_late_subscriber_gets_the_current_suggestion_at_once(
    start_dashboard, bus: Bus, tmp_path: Path, redis_base_url: str, prefix: str
) -> None:
    config = write_config(
        tmp_path / "recommender.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "recommender": {"cooldown_s": 1.0},
            "cameras": [],
        },
    )
    recommender = WorkerProcess(config, "recommender", log_dir=tmp_path)
    try:
        t0 = time.time() - 10
        steady = [emotion("lobby", label="sad", ts=t0 + i * 0.5).encode() for i in range(8)]
        bus.publish_many(bus.keys.emotions, steady)
        key = bus.keys.latest_recommendation("lobby")
        retained = wait_for(lambda: camera_state.retained(bus, key), 60, what="the recommender's suggestion")
        dash = start_dashboard(cameras=CAMERAS)
        viewer = FeedClient(dash.url)
        try:
            reply = viewer.subscribe(cameras="*")
            assert reply["ok"] and reply["retained"] >= 1 and not reply["gap"]
            got = wait_for(lambda: viewer.events["recommendation"], 1.0, what="the retained suggestion")
            assert got[0]["retained"] is True and got[0]["id"] == retained[0]
            assert got[0]["camera"] == "lobby" and got[0]["emotion"] == "sad"
        finally:
            viewer.close()
    finally:
        recommender.stop()
    assert "Traceback" not in recommender.output()


class Publisher(threading.Thread):
    """Events flowing: an emotion every 50 ms, a suggestion every tenth, for both cameras in turn."""

    def __init__(self, bus: Bus) -> None:
        super().__init__(daemon=True)
        self.bus = bus
        self.stop = threading.Event()
        self.published: list[tuple[str, str, str]] = []

    def run(self) -> None:
        n = 0
        while not self.stop.wait(0.05):  # the pace of events, not a synchronisation
            camera = ("lobby", "desk")[n % 2]
            entry = self.bus.publish(self.bus.keys.emotions, emotion(camera, track=n).encode())
            self.published.append(("emotion", camera, entry))
            if n % 10 == 0:
                entry = self.bus.publish(self.bus.keys.recommendations, recommendation(camera).encode())
                self.published.append(("recommendation", camera, entry))
            n += 1


def live(client: FeedClient) -> list[tuple[str, str, str]]:
    events = client.events["emotion"] + client.events["recommendation"]
    return [event_key(e) for e in events if not e.get("retained")]


def test_a_client_away_for_10_s_gets_every_event_it_missed(start_dashboard, bus: Bus) -> None:
    dash = start_dashboard(cameras=CAMERAS)
    publisher = Publisher(bus)
    first = FeedClient(dash.url)
    second: FeedClient | None = None
    assert first.subscribe(cameras="*")["ok"]
    publisher.start()
    try:
        wait_for(lambda: len(live(first)) >= 20, 30, what="the first client to get events")
        first.close()
        seen = live(first)
        away_from = len(publisher.published)
        # 10 s away at 20 events/s.
        wait_for(lambda: len(publisher.published) >= away_from + 220, 60, interval=0.2, what="10 s of events")
        since = max((k[2] for k in seen), key=lambda i: tuple(map(int, i.split("-"))))
        second = FeedClient(dash.url)
        reply = second.subscribe(cameras="*", since=since)
        assert reply["ok"] and not reply["gap"] and reply["replayed"] >= 200, reply
        wait_for(lambda: len(live(second)) >= reply["replayed"] + 20, 30, what="live events after the replay")
        publisher.stop.set()
        publisher.join(10)
        last = publisher.published[-1]
        wait_for(lambda: last in live(second), 10, what="the last event")
        got = seen + live(second)
        start = publisher.published.index(seen[0])
        assert set(got) == set(publisher.published[start:]), "an event was lost"
        # Twice only at the joins: `since` itself (replay is inclusive), and the switch to live.
        twice = len(got) - len(set(got))
        assert twice <= 3, twice
    finally:
        publisher.stop.set()
        first.close()
        if second is not None:
            second.close()
