"""Every Record contract: it round-trips, and a wrong version, a missing field or a wrong type is
refused with a reason that names the field."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import msgpack
import pytest

from moodstream.streams.schemas import (
    AlerterState,
    AlertHold,
    BridgeCursor,
    CaptureStatus,
    ClassifierStatus,
    DashboardStatus,
    DeadLetter,
    FoundTrack,
    Heartbeat,
    MusicStatus,
    Overlay,
    OverlayFace,
    RecommenderState,
    RecommenderStatus,
    Record,
    RecordedFrame,
    RecordingHeader,
    RollupState,
    SchemaError,
    SearchResults,
    SmootherState,
    TimelineBucket,
    TrackMood,
    TrackState,
    read_frames,
    read_header,
)

MUSIC = MusicStatus("closed", "", 3, 0, 0, 1, 0)


def heartbeat(detail: Any) -> Heartbeat:
    return Heartbeat(
        "smoother", "w-1", "host", 42, 1.5, 2.5, {"processed": 3}, {"processed": 1.5}, [0, 2], [1], detail
    )


SAMPLES: dict[str, Record] = {
    "heartbeat": heartbeat(None),
    "heartbeat+capture": heartbeat(CaptureStatus("lobby", "file.mp4", "file", "streaming", "", 1, 99)),
    "heartbeat+classifier": heartbeat(ClassifierStatus("fer", "cpu", 12)),
    "heartbeat+recommender": heartbeat(RecommenderStatus("spotify", "uplift", MUSIC)),
    "heartbeat+dashboard": heartbeat(DashboardStatus(clients=2, leader=True, frames_sent=10)),
    "overlay": Overlay(7, 3.25, 640, 360, [OverlayFace(1, (10, 20, 64, 64), "happy", 0.9)]),
    "smoother-state": SmootherState(
        next_track=3,
        max_seq=99,
        max_ts=12.5,
        recent=[97, 98, 99],
        tracks=[TrackState(2, [1, 2, 30, 30], 12.5, [3, 3, -1], [0.1] * 7, 3, 12.0, 9)],
    ),
    "recommender-state": RecommenderState(
        window=[TrackMood(12.5, [0.1] * 7)],
        first_ts=10.0,
        emotion="sad",
        since=10.0,
        suggested="sad",
        history=[["a", "b"]],
    ),
    "alerter-state": AlerterState({"distress": AlertHold({"2": [10.0, 12.5]}, 11.0)}),
    "rollup-state": RollupState(TimelineBucket("cam", 10.0, [0.5] * 7, 3, [2])),
    "bridge-cursor": BridgeCursor({"ms:emotions": "1-0", "ms:recommendations": "2-5"}),
    "spotify-search": SearchResults(
        "happy hits",
        [FoundTrack("1" * 22, "Song", "Band", "Album", 80, "", "https://open.spotify.com/track/x")],
    ),
}


@pytest.mark.parametrize("name", SAMPLES)
def test_round_trip(name: str) -> None:
    record = SAMPLES[name]
    assert type(record).decode(record.encode()) == record


def _map(record: Record) -> dict[str, Any]:
    return msgpack.unpackb(record.encode(), raw=False)


@pytest.mark.parametrize("name", SAMPLES)
def test_a_wrong_version_is_refused(name: str) -> None:
    data = {**_map(SAMPLES[name]), "v": 99}
    with pytest.raises(SchemaError, match="unsupported schema version 99"):
        type(SAMPLES[name]).decode(msgpack.packb(data))


@pytest.mark.parametrize("name", SAMPLES)
def test_another_kind_is_refused(name: str) -> None:
    data = {**_map(SAMPLES[name]), "t": "something-else"}
    with pytest.raises(SchemaError, match="expected message type"):
        type(SAMPLES[name]).decode(msgpack.packb(data))


@pytest.mark.parametrize("name", SAMPLES)
def test_a_missing_field_is_named(name: str) -> None:
    """A field without a default is required; one with a default reads as it (a writer from before it)."""
    cls = type(SAMPLES[name])
    data = _map(SAMPLES[name])
    required = [
        f.metadata.get("wire", f.name)
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if not required:  # every field has a default: a payload without them is a fresh record
        assert cls.decode(msgpack.packb({"v": data["v"], "t": data["t"]})) == cls()
        return
    del data[required[0]]
    with pytest.raises(SchemaError, match=f"missing field '{required[0]}'"):
        cls.decode(msgpack.packb(data))


@pytest.mark.parametrize(
    ("name", "path", "value", "reason"),
    [
        ("heartbeat", ["pid"], "42", "heartbeat.pid: expected int, got str"),
        ("heartbeat", ["counters", "processed"], 1.5, r"heartbeat.counters\['processed'\]: expected int"),
        ("heartbeat", ["started"], float("nan"), "heartbeat.started: nan is not finite"),
        ("heartbeat+capture", ["detail", "frames"], "99", "heartbeat.detail.frames: expected int, got str"),
        ("heartbeat+capture", ["detail", "t"], "camera", "heartbeat.detail: unknown kind 'camera'"),
        (
            "heartbeat+recommender",
            ["detail", "music", "searches"],
            None,
            "music.searches: expected int, got nil",
        ),
        ("overlay", ["faces", 0, "box"], [1, 2, 3], r"overlay.faces\[0\].box: expected 4 items, got 3"),
        ("overlay", ["faces", 0, "confidence"], True, "confidence: expected float, got bool"),
        ("smoother-state", ["recent"], {"a": 1}, "smoother-state.recent: expected a list, got dict"),
        ("smoother-state", ["tracks", 0, "ema", 2], "x", r"tracks\[0\].ema\[2\]: expected float, got str"),
        ("recommender-state", ["window", 0, "ts"], "now", r"window\[0\].ts: expected float"),
        (
            "alerter-state",
            ["holds", "distress", "fired"],
            "now",
            r"holds\['distress'\].fired: expected float",
        ),
        ("bridge-cursor", ["positions"], ["1-0"], "bridge-cursor.positions: expected a map, got list"),
        ("spotify-search", ["tracks", 0, "popularity"], "80", r"tracks\[0\].popularity: expected int"),
    ],
)
def test_a_wrong_type_is_named(name: str, path: list[Any], value: Any, reason: str) -> None:
    data = _map(SAMPLES[name])
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(SchemaError, match=reason):
        type(SAMPLES[name]).decode(msgpack.packb(data))


def test_not_msgpack_and_not_a_map() -> None:
    with pytest.raises(SchemaError, match="not valid msgpack"):
        Heartbeat.decode(b"\xc1\xc1")
    with pytest.raises(SchemaError, match="payload is not a map"):
        SmootherState.decode(msgpack.packb([1, 2, 3]))
    with pytest.raises(SchemaError, match="exceeds limit"):
        Overlay.decode(b"\x00" * 100, max_bytes=10)


def test_the_recording_format_round_trips_and_keeps_its_keys() -> None:
    header = RecordingHeader("cam", 15.0, 100.0)
    frames = [RecordedFrame(i * 0.1, 8, 8, b"\xff\xd8jpeg", i, 100.0 + i * 0.1) for i in range(3)]
    raw = header.encode() + b"".join(f.encode() for f in frames)
    assert read_header(io.BytesIO(raw)) == header
    assert list(read_frames(io.BytesIO(raw))) == frames
    # Recordings outlive versions: the short keys files already use stay what they are.
    assert set(msgpack.unpackb(frames[0].encode())) == {"o", "w", "h", "j", "s", "ts"}
    assert msgpack.unpackb(header.encode())["magic"] == "moodstream-recording"


@pytest.mark.parametrize(
    ("first", "reason"),
    [
        ({"magic": "something"}, "not a moodstream recording"),
        ({"magic": "moodstream-recording", "v": 2}, "unsupported recording version 2"),
        ({"magic": "moodstream-recording", "v": 1, "camera": "c", "fps": 1.0}, "missing field 'created'"),
        (
            {"magic": "moodstream-recording", "v": 1, "camera": 3, "fps": 1.0, "created": 1.0},
            "camera: expected str",
        ),
    ],
)
def test_recording_headers_are_checked(first: dict[str, Any], reason: str) -> None:
    with pytest.raises(SchemaError, match=reason):
        read_header(io.BytesIO(msgpack.packb(first)))


def test_a_bad_frame_record_is_named() -> None:
    raw = RecordingHeader("c", 0.0, 1.0).encode() + msgpack.packb(
        {"o": 0.0, "w": 8, "h": 8, "j": "text", "s": 0, "ts": 1.0}
    )
    with pytest.raises(SchemaError, match=r"frame record 0.j: expected bytes, got str"):
        list(read_frames(io.BytesIO(raw)))


def test_dead_letters_round_trip_and_refuse_another_version() -> None:
    letter = DeadLetter("ms:frames", "1-0", "detector", "detector", "bad payload: x", 12.5, b"junk")
    fields = {k: v if isinstance(v, bytes) else v.encode() for k, v in letter.encode().items()}
    assert DeadLetter.decode(fields) == letter
    with pytest.raises(SchemaError, match="unsupported version"):
        DeadLetter.decode({**fields, b"v": b"2"})
    with pytest.raises(SchemaError, match="missing field 'reason'"):
        DeadLetter.decode({k: v for k, v in fields.items() if k != b"reason"})
    with pytest.raises(SchemaError, match="'ts' or 'size' is not a number"):
        DeadLetter.decode({**fields, b"ts": b"yesterday"})
    with pytest.raises(SchemaError, match="unsupported version"):  # every letter carries its version
        DeadLetter.decode({k: v for k, v in fields.items() if k != b"v"})
