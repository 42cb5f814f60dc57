"""FeedHistory against a real Redis: the state a late subscriber gets, and what a returning one missed."""

from __future__ import annotations

import time

import redis

from moodstream.config import StreamSettings
from moodstream.dashboard.clients import Subscription
from moodstream.dashboard.history import FeedHistory, event_key
from moodstream.streams.bus import Bus, id_order
from moodstream.streams.keys import Keys
from tests.dashboard.test_feed import emotion, recommendation
from tests.helpers import retain_suggestion

EVERYONE = Subscription(all=True)


def history(bus: Bus, resume_max: int = 1000, cameras: tuple[str, ...] = ("lobby", "desk")) -> FeedHistory:
    return FeedHistory(bus, lambda: list(cameras), recent_s=2.0, resume_max=resume_max)


def test_the_current_suggestion_and_each_live_tracks_newest_emotion(bus: Bus) -> None:
    for track, label in ((1, "sad"), (2, "happy"), (1, "angry")):
        bus.publish(bus.keys.emotions, emotion("lobby", track=track, label=label).encode())
    bus.publish(bus.keys.emotions, emotion("desk", label="fear").encode())
    payload = recommendation("lobby").encode()
    reco_id = retain_suggestion(bus, "lobby", payload)

    state = history(bus).retained(EVERYONE)
    assert all(body["retained"] for body in state)
    emotions = {(b["camera"], b["track"]): b["label"] for b in state if b["type"] == "emotion"}
    assert emotions == {("lobby", 1): "angry", ("lobby", 2): "happy", ("desk", 1): "fear"}
    (reco,) = [b for b in state if b["type"] == "recommendation"]
    assert reco["camera"] == "lobby" and reco["id"] == reco_id
    assert [b["id"] for b in state] == sorted(
        (b["id"] for b in state), key=lambda i: tuple(map(int, i.split("-")))
    )
    desk_only = history(bus).retained(Subscription(cameras=frozenset({"desk"})))
    assert [(b["type"], b["camera"]) for b in desk_only] == [("emotion", "desk")]


def test_a_track_not_heard_of_for_recent_s_is_not_current(bus: Bus, client: redis.Redis) -> None:
    long_ago = f"{int(time.time() * 1000) - 60_000}-0"  # published a minute ago
    client.xadd(bus.keys.emotions, {"d": emotion("lobby").encode()}, id=long_ago)
    assert history(bus).retained(EVERYONE) == []
    bus.publish(bus.keys.emotions, emotion("lobby", track=2).encode())
    assert [b["track"] for b in history(bus).retained(EVERYONE)] == [2]


def test_replay_from_an_id_in_order_with_the_subscriptions_cameras(bus: Bus, client: redis.Redis) -> None:
    old = f"{int(time.time() * 1000) - 1000}-0"  # a second before
    client.xadd(bus.keys.emotions, {"d": emotion("lobby", track=9).encode()}, id=old)
    seen = bus.publish(bus.keys.emotions, emotion("lobby").encode())
    missed = [
        ("emotion", "lobby", bus.publish(bus.keys.emotions, emotion("lobby", track=2).encode())),
        ("recommendation", "lobby", bus.publish(bus.keys.recommendations, recommendation("lobby").encode())),
        ("emotion", "desk", bus.publish(bus.keys.emotions, emotion("desk").encode())),
    ]
    events, gap = history(bus).replay(EVERYONE, seen)
    assert not gap and not any("retained" in b for b in events)
    # From since's millisecond on: another stream's later event may carry the same or a lower id.
    assert [event_key(b) for b in events] == sorted(
        [("emotion", "lobby", seen), *missed], key=lambda k: (id_order(k[2]), *k)
    )
    assert old not in {b["id"] for b in events}
    lobby, _ = history(bus).replay(Subscription(cameras=frozenset({"lobby"})), seen)
    assert {event_key(b) for b in lobby} == {("emotion", "lobby", seen), *missed[:2]}


def test_more_than_resume_max_or_trimmed_away_is_a_gap(client: redis.Redis, prefix: str) -> None:
    bus = Bus(client, Keys(prefix), StreamSettings(events_maxlen=100))
    first = bus.publish(bus.keys.emotions, emotion("lobby").encode())
    ids = [bus.publish(bus.keys.emotions, emotion("lobby", track=i).encode()) for i in range(5)]
    events, gap = history(bus, resume_max=3).replay(EVERYONE, first)
    assert gap and [b["id"] for b in events] == ids[-3:]  # the newest three of six
    for i in range(400):  # trims the stream well past `first`
        client.xadd(
            bus.keys.emotions, {"d": emotion("lobby", track=i).encode()}, maxlen=100, approximate=False
        )
    events, gap = history(bus).replay(EVERYONE, first)
    assert gap and len(events) == 100  # what is left
