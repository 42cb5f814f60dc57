"""The research smoothing method: majority vote over N with a confidence threshold, plus EMA hysteresis."""

from moodstream.config import SmootherSettings
from moodstream.smoother.tracking import Smoother
from moodstream.streams.schemas import EMOTIONS, Classified, Face, SmootherState

HAPPY = [0.02, 0.0, 0.02, 0.9, 0.02, 0.02, 0.02]
SAD = [0.02, 0.0, 0.02, 0.02, 0.9, 0.02, 0.02]
UNSURE_SAD = [0.2, 0.0, 0.1, 0.15, 0.3, 0.1, 0.15]


def frame(seq: int, probs: list[float], box=(100, 100, 80, 80), ts: float | None = None) -> Classified:
    return Classified("cam", seq, ts if ts is not None else seq * 0.1, 640, 360, [Face(box=box, probs=probs)])


def run(smoother: Smoother, state: SmootherState, frames: list[Classified]):
    events = []
    for f in frames:
        events += smoother.update(state, f, now=f.ts)
    return events


def test_label_needs_a_majority_and_does_not_flap() -> None:
    s, state = Smoother(SmootherSettings(window=10, emit_interval_s=100)), SmootherState()
    events = run(s, state, [frame(i, HAPPY) for i in range(10)])
    assert [e.label for e in events if e.changed] == ["happy"]
    # Alternating noise never wins a majority against a settled label.
    noisy = [frame(10 + i, SAD if i % 2 else HAPPY) for i in range(20)]
    events = run(s, state, noisy)
    assert not [e for e in events if e.changed]
    # A sustained change does come through.
    events = run(s, state, [frame(30 + i, SAD) for i in range(10)])
    assert [e.label for e in events if e.changed] == ["sad"]


def test_low_confidence_predictions_do_not_vote() -> None:
    s, state = Smoother(SmootherSettings(window=6, min_confidence=0.5, emit_interval_s=100)), SmootherState()
    run(s, state, [frame(i, HAPPY) for i in range(6)])
    events = run(s, state, [frame(6 + i, UNSURE_SAD) for i in range(6)])
    assert not [e for e in events if e.changed]


def test_steady_rate_events_for_timelines() -> None:
    s, state = Smoother(SmootherSettings(emit_interval_s=1.0)), SmootherState()
    events = run(s, state, [frame(i, HAPPY) for i in range(50)])  # 5 s at 10 fps
    assert 4 <= len(events) <= 6
    assert all(abs(sum(e.probs.values()) - 1) < 1e-6 and set(e.probs) == set(EMOTIONS) for e in events)


def test_tracks_follow_boxes_and_separate_faces() -> None:
    s, state = Smoother(SmootherSettings(emit_interval_s=0.01)), SmootherState()
    frames = [
        Classified(
            "cam",
            i,
            i * 0.1,
            640,
            360,
            [Face(box=(10 + i, 10, 80, 80), probs=HAPPY), Face(box=(400 - i, 50, 90, 90), probs=SAD)],
        )
        for i in range(10)
    ]
    events = run(s, state, frames)
    by_track = {e.track: e.label for e in events}
    assert by_track == {1: "happy", 2: "sad"}


def test_duplicates_are_recognised_and_state_survives_encoding() -> None:
    s, state = Smoother(SmootherSettings()), SmootherState()
    run(s, state, [frame(i, HAPPY) for i in range(5)])
    restored = SmootherState.decode(state.encode())
    assert s.seen_before(restored, 3, 0.3) and not s.seen_before(restored, 5, 0.5)
    assert restored.max_ts == state.max_ts == 0.4
    assert restored.tracks[0].label == state.tracks[0].label


def test_a_restarted_capture_is_not_taken_for_duplicates() -> None:
    """After a restart the capture counts from 0 again, with newer timestamps: those frames count."""
    s, state = Smoother(SmootherSettings()), SmootherState()
    run(s, state, [frame(i, HAPPY) for i in range(700)])
    assert s.seen_before(state, 10, 1.0)  # a straggler from this run
    restart = [frame(i, SAD, ts=1000.0 + i * 0.1) for i in range(30)]
    assert not s.seen_before(state, 0, 1000.0)
    events = run(s, state, restart)
    assert events and events[-1].label == "sad"
    assert s.seen_before(state, 5, 1000.5)  # and duplicates of the new run are still caught
