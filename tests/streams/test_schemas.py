import msgpack
import pytest

from moodstream.streams.schemas import (
    EMOTIONS,
    Classified,
    Detections,
    EmotionEvent,
    Face,
    Frame,
    RecommendationEvent,
    SchemaError,
    TimelineBucket,
    Track,
    fold,
)

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


def test_frame_round_trip() -> None:
    f = Frame(camera="cam1", seq=3, ts=1.5, width=640, height=360, jpeg=JPEG, live=False)
    assert Frame.decode(f.encode()) == f


def test_detections_and_classified_round_trip() -> None:
    d = Detections("c", 1, 2.0, 640, 360, 8, [Face(box=(1, 2, 30, 30), crop=bytes(64))], live=True)
    back = Detections.decode(d.encode())
    assert back.faces[0].box == (1, 2, 30, 30) and back.faces[0].crop == bytes(64)
    probs = [0.1, 0.0, 0.0, 0.7, 0.1, 0.0, 0.1]
    c = Classified("c", 1, 2.0, 640, 360, [Face(box=(1, 2, 30, 30), probs=probs)], model="m")
    assert Classified.decode(c.encode()).faces[0].label() == "happy"


def test_public_events_round_trip() -> None:
    probs = dict(zip(EMOTIONS, [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], strict=True))
    e = EmotionEvent("c", 1.0, 4, "happy", 1.0, probs, (0, 0, 10, 10), 7, True, 12.0)
    assert EmotionEvent.decode(e.encode()).public()["type"] == "emotion"
    t = Track("T", "A", "id1", "https://open.spotify.com/track/id1", "catalog")
    r = RecommendationEvent("c", 1.0, "sad", "uplift", "Happy", [t])
    assert RecommendationEvent.decode(r.encode()).tracks[0].spotify_id == "id1"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xc1garbage", "not valid msgpack"),
        (msgpack.packb([1, 2]), "not a map"),
        (msgpack.packb({"v": 99, "t": "frame"}), "unsupported schema version 99"),
        (msgpack.packb({"v": 1, "t": "detections"}), "expected message type 'frame'"),
        (msgpack.packb({"v": 1, "t": "frame", "camera": "c"}), "missing field 'seq'"),
        (
            msgpack.packb(
                {
                    "v": 1,
                    "t": "frame",
                    "camera": "c",
                    "seq": "x",
                    "ts": 1.0,
                    "w": 1,
                    "h": 1,
                    "jpeg": JPEG,
                    "live": True,
                }
            ),
            "'seq' has type str",
        ),
        (
            msgpack.packb(
                {
                    "v": 1,
                    "t": "frame",
                    "camera": "c",
                    "seq": 1,
                    "ts": 1.0,
                    "w": 1,
                    "h": 1,
                    "jpeg": b"PNG",
                    "live": True,
                }
            ),
            "not a JPEG",
        ),
    ],
)
def test_bad_payloads_give_reasons(payload: bytes, reason: str) -> None:
    with pytest.raises(SchemaError, match=reason):
        Frame.decode(payload)


def test_size_limit() -> None:
    f = Frame(camera="c", seq=1, ts=1.0, width=1, height=1, jpeg=JPEG + bytes(5000))
    with pytest.raises(SchemaError, match="exceeds limit"):
        Frame.decode(f.encode(), max_bytes=1000)


def test_crop_size_checked() -> None:
    d = Detections("c", 1, 2.0, 640, 360, 8, [Face(box=(1, 2, 30, 30), crop=bytes(10))])
    with pytest.raises(SchemaError, match="expected 64"):
        Detections.decode(d.encode())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seq": -5}, "'seq' out of range"),
        ({"w": 0}, "'w' out of range"),
        ({"h": 20000}, "'h' out of range"),
        ({"ts": -1e300}, "'ts' out of range"),
        ({"ts": 1e300}, "'ts' out of range"),
    ],
)
def test_out_of_range_frame_fields_are_refused_with_the_field_named(change: dict, field: str) -> None:
    """docs/streams.md's ranges, enforced for every per-frame message (the worker dead-letters the reason)."""
    probs = [0.1, 0.0, 0.0, 0.7, 0.1, 0.0, 0.1]
    messages = [
        Frame("c", 1, 2.0, 640, 360, JPEG, live=True),
        Detections("c", 1, 2.0, 640, 360, 8, [Face(box=(1, 2, 3, 3), crop=bytes(64))], live=True),
        Classified("c", 1, 2.0, 640, 360, [Face(box=(1, 2, 3, 3), probs=probs)], model="m"),
    ]
    for message in messages:
        raw = {**msgpack.unpackb(message.encode()), **change}
        with pytest.raises(SchemaError, match=field):
            type(message).decode(msgpack.packb(raw))


def test_boxes_outside_the_frame_and_probabilities_not_summing_to_one_are_refused() -> None:
    outside = Classified("c", 1, 2.0, 64, 36, [Face(box=(50, 2, 30, 30), probs=[1.0] + [0.0] * 6)], model="m")
    with pytest.raises(SchemaError, match=r"box \[50, 2, 30, 30\] outside the 64x36 frame"):
        Classified.decode(outside.encode())
    crop = Detections("c", 1, 2.0, 64, 36, 8, [Face(box=(1, 20, 8, 20), crop=bytes(64))], live=True)
    with pytest.raises(SchemaError, match="outside"):
        Detections.decode(crop.encode())
    halves = Classified("c", 1, 2.0, 64, 36, [Face(box=(1, 2, 3, 3), probs=[0.5] * 7)], model="m")
    with pytest.raises(SchemaError, match="probabilities sum to 3.5000, not 1"):
        Classified.decode(halves.encode())


def test_fold_closes_a_timeline_bucket_when_a_later_one_starts() -> None:
    def event(ts: float, track: int = 1) -> EmotionEvent:
        probs = {e: (0.7 if e == "sad" else 0.05) for e in EMOTIONS}
        return EmotionEvent("cam", ts, track, "sad", 0.7, probs)

    open_, closed = fold(None, event(100.5))
    assert closed is None and (open_.ts, open_.events) == (100.0, 1)
    open_, closed = fold(open_, event(109.9, track=2))
    assert closed is None and (open_.events, open_.tracks) == (2, [1, 2])
    open_, closed = fold(open_, event(131.0))  # 20 s without a face: no empty buckets in between
    assert closed is not None and (closed.ts, closed.events) == (100.0, 2)
    assert closed.sums[EMOTIONS.index("sad")] == pytest.approx(1.4)
    open_, closed = fold(open_, event(125.0))  # late: counted in the open bucket, none reopened
    assert closed is None and (open_.ts, open_.events) == (130.0, 2)
    assert TimelineBucket.decode(open_.encode()) == open_
