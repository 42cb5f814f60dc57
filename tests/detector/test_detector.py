"""The detector worker on real images, against a real Redis."""

import threading
import time
from pathlib import Path

import cv2
import msgpack
import numpy as np

from moodstream.detector.crops import face_crops
from moodstream.detector.finder import FaceFinder
from moodstream.detector.haar import Haar
from moodstream.detector.jpeg import jpeg_size
from moodstream.detector.methods import image_of
from moodstream.detector.worker import DetectorWorker, crop_size_for
from moodstream.runtime.worker import Stopper
from moodstream.streams import consumer_groups, dead_letters
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Detections, Frame
from tests.helpers import wait_for


def jpeg_of(path: Path, width: int = 640) -> tuple[bytes, int, int]:
    img = cv2.imread(str(path))
    scale = width / img.shape[1]
    img = cv2.resize(img, (width, round(img.shape[0] * scale)))
    return cv2.imencode(".jpg", img)[1].tobytes(), img.shape[1], img.shape[0]


def test_haar_finds_faces_and_crops_at_full_resolution(make_settings, assets) -> None:
    # Small faces in a group photo need a larger detection frame than the speed-tuned default.
    settings = make_settings(detector={"method": "haar", "detect_width": 480})
    finder = FaceFinder(Haar(settings.detector), settings.detector)
    image = image_of(cv2.imread(str(assets["samples"] / "multi_face.jpg")))
    faces = finder.scan(image)
    assert len(faces) >= 4
    for f, crop in zip(faces, face_crops(image.gray, faces, 64, align=True), strict=True):
        x, y, w, h = f.box
        assert crop.shape == (64, 64) and crop.dtype == np.uint8
        assert x + w <= image.gray.shape[1] and y + h <= image.gray.shape[0]


def test_jpeg_size_reads_header() -> None:
    data = cv2.imencode(".jpg", np.zeros((37, 53, 3), np.uint8))[1].tobytes()
    assert jpeg_size(data) == (53, 37)
    assert jpeg_size(b"\xff\xd8garbage") is None


def test_worker_skips_stale_live_frames_and_rejects_bad_ones(make_settings, bus: Bus, client, assets) -> None:
    settings = make_settings(detector={"max_frame_age_ms": 1000}, streams={"max_frame_pixels": 1_000_000})
    jpg, w, h = jpeg_of(assets["samples"] / "single_face.jpg")
    big = cv2.imencode(".jpg", np.zeros((1200, 1600, 3), np.uint8))[1].tobytes()
    now = time.time()
    # Stale by Redis's clock: its entry id is 10 s old (its own ts says nothing: hosts' clocks differ).
    client.xadd(
        bus.keys.frames,
        {b"d": Frame("live", 0, now, w, h, jpg, live=True).encode()},
        id=f"{int(now * 1000) - 10_000}-0",
    )
    frames = [
        Frame("live", 1, now, w, h, jpg, live=True),  # superseded by seq 2 in the same read
        Frame("live", 2, now, w, h, jpg, live=True),
        Frame("file", 0, now - 10, w, h, jpg, live=False),  # every-frame: never skipped
        Frame("file", 1, now, 1600, 1200, big, live=False),  # oversized: dead letter
        Frame("file", 2, now, w, h, b"\xff\xd8not a jpeg at all", live=False),  # undecodable
    ]
    bus.publish_many(bus.keys.frames, [f.encode() for f in frames])
    bus.publish(bus.keys.frames, b"\x93not msgpack")
    bus.publish(bus.keys.frames, msgpack.packb({**msgpack.unpackb(frames[2].encode()), "v": 2}))
    stopper = Stopper()
    worker = DetectorWorker(settings, client, stopper)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(dead_letters.newest(bus)) == 4, 20, what="four dead letters")
        wait_for(
            lambda: consumer_groups.info(bus, bus.keys.frames, "detector")["pending"] == 0, 10, what="acks"
        )
        out = [Detections.decode(e.payload) for e in bus.history(bus.keys.detections)]
        assert sorted((d.camera, d.seq) for d in out) == [("file", 0), ("live", 2)]
        size = crop_size_for(settings)  # the classifier model's input size (48 for the default)
        assert size == 48 and all(len(d.faces) == 1 and d.crop_size == size for d in out)
        reasons = " | ".join(d.reason for d in dead_letters.newest(bus))
        assert "exceeds max_frame_pixels" in reasons and "JPEG header" in reasons and "msgpack" in reasons
        assert "unsupported schema version 2" in reasons
        assert worker.counters.values["skipped"] == 2
        assert thread.is_alive()
    finally:
        stopper.event.set()
        thread.join(10)


def _run_detector(settings, client, until) -> None:
    stopper = Stopper()
    thread = threading.Thread(target=DetectorWorker(settings, client, stopper).run, daemon=True)
    thread.start()
    try:
        until()
    finally:
        stopper.event.set()
        thread.join(10)


def test_dead_letters_keep_the_origin_and_a_bounded_payload_and_replay_once_the_cause_is_fixed(
    make_settings, bus: Bus, client
) -> None:
    strict = make_settings(streams={"max_frame_pixels": 64 * 64, "dead_payload_bytes": 4096})
    small = cv2.imencode(".jpg", np.zeros((100, 100, 3), np.uint8))[1].tobytes()
    frame = Frame("porch", 7, time.time(), 100, 100, small, live=False)
    garbage = b"\x93" + bytes(np.random.default_rng(0).integers(0, 255, 20_000, dtype=np.uint8))
    bus.publish(bus.keys.frames, frame.encode())
    bus.publish(bus.keys.frames, garbage)
    _run_detector(
        strict, client, lambda: wait_for(lambda: len(dead_letters.newest(bus)) == 2, 20, what="2 letters")
    )
    whole, big = sorted(dead_letters.newest(bus), key=lambda letter: letter.truncated)
    assert (whole.camera, whole.seq, whole.msg_ts) == ("porch", 7, frame.ts) and not whole.truncated
    assert "max_frame_pixels" in whole.reason
    assert big.truncated and len(big.payload) == 4096 and big.size == len(garbage) and big.camera == ""

    assert dead_letters.replay(bus) == (1, 1)  # the frame goes back; the truncated garbage stays
    relaxed = make_settings()  # the cause fixed: the default pixel limit
    _run_detector(
        relaxed,
        client,
        lambda: wait_for(lambda: bus.stream_length(bus.keys.detections) == 1, 20, what="the replayed frame"),
    )
    out = [Detections.decode(e.payload) for e in bus.history(bus.keys.detections)]
    assert [(d.camera, d.seq) for d in out] == [("porch", 7)]
    assert [letter.truncated for letter in dead_letters.newest(bus)] == [True]


def test_live_frames_of_a_capture_host_whose_clock_is_2s_behind_are_processed(
    make_settings, bus: Bus, client, sample_video: Path
) -> None:
    """Staleness is judged by Redis's clock, so a skewed capture host's frames are fresh, not skipped."""
    from moodstream.capture import worker as capture

    settings = make_settings(
        cameras=[{"id": "skewed", "source": str(sample_video), "fps": 5.0, "loop": True}],
        detector={"max_frame_age_ms": 1000},
    )
    stopper = Stopper()
    behind = threading.Thread(
        target=capture.run,
        args=(settings, "skewed", client, stopper, lambda: time.time() - 2.0),  # the host's clock
        daemon=True,
    )
    behind.start()
    try:
        wait_for(lambda: bus.stream_length(bus.keys.frames) >= 1, 60, what="the first frame")
        first = Frame.decode(bus.history(bus.keys.frames, count=1)[0].payload)
        assert time.time() - first.ts > 1.5  # its clock really is behind
        _run_detector(
            settings,
            client,
            lambda: wait_for(
                lambda: bus.stream_length(bus.keys.detections) >= 10, 60, what="10 frames detected"
            ),
        )
    finally:
        stopper.event.set()
        behind.join(10)
    out = [Detections.decode(e.payload) for e in bus.history(bus.keys.detections)]
    assert {d.camera for d in out} == {"skewed"} and all(d.live for d in out)
