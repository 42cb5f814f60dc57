"""The labelled face set: well formed, and matched the way the recall benchmark matches it."""

from __future__ import annotations

from moodstream.bench.detector_recall import labels, match, pairs
from moodstream.streams.schemas import EMOTIONS


def test_the_labels_are_well_formed_and_count_what_the_docs_say() -> None:
    doc = labels()
    faces = [face for media in doc["media"] for frame in media["frames"].values() for face in frame]
    assert len(faces) == 722 and len(doc["media"]) == 14
    for face in faces:
        x, y, w, h = face[:4]
        assert x >= 0 and y >= 0 and w > 0 and h > 0
        assert len(face) == 4 or face[4] in EMOTIONS
    several = [f for m in doc["media"] if m["scene"] == "several" for fr in m["frames"].values() for f in fr]
    assert len(several) == 33
    empty = sum(1 for m in doc["media"] for fr in m["frames"].values() if not fr)
    assert empty > 200, "frames without a face are labelled too (precision needs them)"


def test_matching_is_one_to_one_best_overlap_first() -> None:
    labelled = [(0, 0, 10, 10), (100, 100, 10, 10)]
    boxes = [(1, 1, 10, 10), (0, 0, 11, 11), (300, 300, 5, 5)]
    assert pairs(labelled, boxes, 0.3) == {0: 1}
    found, true_boxes = match(labelled, boxes, 0.3)
    assert found == [True, False] and true_boxes == 1
