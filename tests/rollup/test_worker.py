"""The rollup worker against real Redis: each camera's emotions folded into 10 s timeline buckets."""

import threading
import time
from dataclasses import replace

import pytest

from moodstream.rollup.worker import RollupWorker
from moodstream.runtime.worker import Stopper
from moodstream.streams import camera_state
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import EMOTIONS, ROLLUP_S, EmotionEvent, RollupState, TimelineBucket
from tests.helpers import wait_for


def emotion(camera: str, ts: float, label: str) -> bytes:
    probs = {e: (0.9 if e == label else 0.1 / 6) for e in EMOTIONS}
    return EmotionEvent(camera, ts, 1, label, 0.9, probs, (0, 0, 10, 10), int(ts * 10)).encode()


def test_emotion_history_is_rolled_up_into_ten_second_buckets(make_settings, bus: Bus, client) -> None:
    stopper = Stopper()
    worker = RollupWorker(make_settings(), client, stopper)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        base = (time.time() // ROLLUP_S) * ROLLUP_S - 60
        # 35 s of one face, happy then sad, and a second face for the first 5 s; then one event late.
        events = [emotion("cam", base + 0.5 + i, "happy" if i < 20 else "sad") for i in range(35)]
        events += [EmotionEvent.decode(emotion("cam", base + i + 0.7, "happy")) for i in range(5)]
        events[-5:] = [replace(ev, track=2).encode() for ev in events[-5:]]
        events.append(emotion("cam", base + 31.0, "sad"))  # older than the newest: counts in the open bucket
        bus.publish_many(bus.keys.emotions, events)
        wait_for(
            lambda: worker.counters.values["processed"] >= len(events), 30, what="the rollup worker to drain"
        )
        rollups = [TimelineBucket.decode(e.payload) for e in bus.history(bus.keys.timeline("cam"))]
        assert [(r.ts - base, r.events, sorted(r.tracks)) for r in rollups] == [
            (0.0, 15, [1, 2]),
            (10.0, 10, [1]),
            (20.0, 10, [1]),
        ]
        assert rollups[0].sums[EMOTIONS.index("happy")] == pytest.approx(15 * 0.9)
        assert rollups[2].sums[EMOTIONS.index("sad")] == pytest.approx(10 * 0.9)
        # The open bucket (30 s on: five events and the late one) waits in the camera's state.
        state = RollupState.decode(camera_state.load(bus, "rollup", "cam"))
        assert state.open is not None and (state.open.ts - base, state.open.events) == (30.0, 6)
    finally:
        stopper.event.set()
        thread.join(10)
