"""What of a public event may leave for an aggregate-only camera."""

from __future__ import annotations

from moodstream.ops.observe import disclosed

AGGREGATE = frozenset({"hall"})


def test_an_aggregate_cameras_faces_stay_in_the_pipeline() -> None:
    emotion = {"type": "emotion", "camera": "hall", "track": 3, "box": [1, 2, 3, 4], "label": "happy"}
    assert disclosed(emotion, AGGREGATE) is None
    alert = {"type": "alert", "camera": "hall", "track": 3, "rule": "r", "emotion": "sad"}
    assert disclosed(alert, AGGREGATE) == {**alert, "track": -1}
    suggestion = {"type": "recommendation", "camera": "hall", "emotion": "happy", "tracks": []}
    assert disclosed(suggestion, AGGREGATE) == suggestion


def test_other_cameras_events_leave_whole() -> None:
    emotion = {"type": "emotion", "camera": "desk", "track": 3, "box": [1, 2, 3, 4], "label": "happy"}
    assert disclosed(emotion, AGGREGATE) is emotion
