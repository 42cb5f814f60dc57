"""The recommender worker against real Redis: cooldown, no-repeat, latest suggestion kept."""

import threading
import time

from moodstream.recommender.worker import RecommenderWorker
from moodstream.runtime.worker import Stopper
from moodstream.streams import camera_state, suggestions
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import (
    EMOTIONS,
    EmotionEvent,
    RecommendationEvent,
)
from tests.helpers import wait_for


def emotion(camera: str, ts: float, label: str) -> bytes:
    probs = {e: (0.9 if e == label else 0.1 / 6) for e in EMOTIONS}
    return EmotionEvent(camera, ts, 1, label, 0.9, probs, (0, 0, 10, 10), int(ts * 10)).encode()


def test_cooldown_and_suggestions(make_settings, bus: Bus, client) -> None:
    settings = make_settings(recommender={"cooldown_s": 2.0, "no_repeat": 3})
    stopper = Stopper()
    worker = RecommenderWorker(settings, client, stopper)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        t0 = time.time()
        # sad for 3 s (stable past the cooldown), a 1 s flicker of anger, then happy for 3 s.
        events = [emotion("cam", t0 + i * 0.5, "sad") for i in range(7)]
        events += [emotion("cam", t0 + 3.5 + i * 0.5, "angry") for i in range(2)]
        events += [emotion("cam", t0 + 4.5 + i * 0.5, "happy") for i in range(7)]
        bus.publish_many(bus.keys.emotions, events)
        wait_for(lambda: worker.counters.values["processed"] >= len(events), 30, what="recommender to drain")
        published = bus.history(bus.keys.recommendations)
        recos = [RecommendationEvent.decode(e.payload) for e in published]
        assert [(r.emotion, r.mood) for r in recos] == [("sad", "Happy"), ("happy", "Happy")]
        assert not {t.spotify_id for t in recos[0].tracks} & {t.spotify_id for t in recos[1].tracks}
        latest = RecommendationEvent.decode(suggestions.latest(bus, "cam"))
        assert latest.emotion == "happy"
        # Retained with the stream id it was published under, in the same transaction.
        assert camera_state.retained(bus, bus.keys.latest_recommendation("cam")) == (
            published[-1].id,
            published[-1].payload,
        )
    finally:
        stopper.event.set()
        thread.join(10)
