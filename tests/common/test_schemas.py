import msgpack
import pytest

from moodstream.services.common.schemas import (
    EMOTIONS,
    Classified,
    Detections,
    EmotionEvent,
    Face,
    Frame,
    RecommendationEvent,
    SchemaError,
    Track,
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
