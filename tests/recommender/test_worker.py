"""The recommender worker against real Redis: a camera's mood over a window, its first suggestion soon,
cooldown, no-repeat, latest suggestion kept."""

import threading
import time

from moodstream.recommender.worker import RecommenderWorker, due, observe
from moodstream.runtime.worker import Stopper
from moodstream.streams import camera_state, suggestions
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import (
    EMOTIONS,
    EmotionEvent,
    RecommendationEvent,
    RecommenderState,
)
from tests.helpers import wait_for


def emotion(camera: str, ts: float, label: str) -> bytes:
    probs = {e: (0.9 if e == label else 0.1 / 6) for e in EMOTIONS}
    return EmotionEvent(camera, ts, 1, label, 0.9, probs, (0, 0, 10, 10), int(ts * 10)).encode()


def test_cooldown_and_suggestions(make_settings, bus: Bus, client) -> None:
    settings = make_settings(recommender={"cooldown_s": 2.0, "mood_window_s": 2.0, "no_repeat": 3})
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


def test_a_face_changing_expression_every_1_5_s_has_a_mood_and_a_suggestion_within_5_s() -> None:
    state, t0 = RecommenderState(), 1_700_000_000.0
    first = None
    for i in range(40):  # every 0.5 s, happy and sad in turns of 1.5 s, the happy turns a little stronger
        ts = t0 + i * 0.5
        label = "happy" if (i // 3) % 2 == 0 else "sad"
        event = EmotionEvent.decode(emotion("cam", ts, label))
        observe(state, event, window_s=10.0)
        if first is None and due(state, ts, first_after_s=2.0, cooldown_s=5.0):
            first = ts
            state.suggested = state.emotion
    assert first is not None and first - t0 <= 5.0
    assert state.emotion == "happy", "the dominant emotion over the window, not the latest one"


def test_the_window_forgets_and_stays_bounded() -> None:
    state, t0 = RecommenderState(), 1_700_000_000.0
    for i in range(3000):
        observe(state, EmotionEvent.decode(emotion("cam", t0 + i * 0.01, "sad")), window_s=10.0)
    assert len(state.window) <= 1024
    for i in range(30):
        observe(state, EmotionEvent.decode(emotion("cam", t0 + 60 + i * 0.5, "happy")), window_s=10.0)
    assert state.emotion == "happy" and all(m.ts >= t0 + 60 for m in state.window)
