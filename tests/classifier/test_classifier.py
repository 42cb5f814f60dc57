"""The classifier: batched inference, scale-out across processes, and recovery after SIGKILL."""

from pathlib import Path

import numpy as np
import pytest

from moodstream.streams import consumer_groups, heartbeats
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Classified, Detections, Face
from tests.helpers import WorkerProcess, wait_for, write_config


def test_batched_call_matches_per_face_predict(predictor) -> None:
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, (5, 64, 64), dtype=np.uint8)
    batched = predictor.predict_crops(crops)
    single = predictor.predict_per_face(crops)
    assert batched.shape == (5, 7)
    np.testing.assert_allclose(batched, single, atol=1e-4)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-4)


def detections(n: int, faces: int = 3, camera: str = "cam") -> list[bytes]:
    rng = np.random.default_rng(1)
    out = []
    for seq in range(n):
        fs = [
            Face(box=(10 * i, 10, 40, 40), crop=rng.integers(0, 255, 64 * 64, dtype=np.uint8).tobytes())
            for i in range(faces)
        ]
        out.append(Detections(camera, seq, 1e9 + seq, 640, 360, 64, fs, live=False).encode())
    return out


def classifier_config(tmp_path: Path, redis_url: str, prefix: str, **classifier) -> Path:
    return write_config(
        tmp_path / "ms.toml",
        {
            "redis": {"url": redis_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5},
            "streams": {"claim_idle_ms": 1500},
            "classifier": {"max_batch": 16, "max_wait_ms": 20, **classifier},
        },
    )


def outputs(bus: Bus) -> list[Classified]:
    return [Classified.decode(e.payload) for e in bus.history(bus.keys.classified)]


@pytest.mark.slow
def test_two_instances_share_the_work(tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus) -> None:
    config = classifier_config(tmp_path, redis_base_url, prefix)
    workers = [WorkerProcess(config, "classifier", log_dir=tmp_path, name=f"classifier{i}") for i in range(2)]
    try:
        wait_for(lambda: len(heartbeats.live(bus, "classifier")) == 2, 90, what="two classifiers")
        n = 300
        for chunk in range(0, n, 20):
            bus.publish_many(bus.keys.detections, detections(n)[chunk : chunk + 20])
        wait_for(lambda: len(outputs(bus)) >= n, 90, what="all frames classified")
        got = outputs(bus)
        seqs = [c.seq for c in got]
        assert sorted(seqs) == list(range(n)), "a frame was lost or classified twice"
        assert all(len(c.faces) == 3 and len(c.faces[0].probs) == 7 for c in got)

        def per_worker() -> list[int]:
            return [h.counters.get("processed", 0) for h in heartbeats.live(bus) if h.stage == "classifier"]

        # Heartbeats carry the counters every 0.5 s: wait until they account for every frame.
        wait_for(lambda: sum(per_worker()) >= n, 30, what=f"heartbeats counting {n} frames")
        assert len(per_worker()) == 2 and all(p > 0 for p in per_worker()), per_worker()
        assert consumer_groups.info(bus, bus.keys.detections, "classifier")["pending"] == 0
    finally:
        for w in workers:
            w.stop()


@pytest.mark.slow
def test_sigkill_mid_batch_loses_nothing(tmp_path: Path, redis_base_url: str, prefix: str, bus: Bus) -> None:
    # A long batch window keeps the first worker holding its batch when it is killed.
    config = classifier_config(tmp_path, redis_base_url, prefix, max_batch=512, max_wait_ms=10_000)
    first = WorkerProcess(config, "classifier", log_dir=tmp_path, name="victim")
    try:
        wait_for(lambda: len(heartbeats.live(bus, "classifier")) == 1, 90, what="classifier start")
        bus.publish_many(bus.keys.detections, detections(10))
        wait_for(
            lambda: consumer_groups.info(bus, bus.keys.detections, "classifier")["pending"] == 10,
            20,
            what="batch in hand",
        )
        first.kill()
        assert outputs(bus) == []
        rescuer = WorkerProcess(
            classifier_config(tmp_path, redis_base_url, prefix, max_batch=16, max_wait_ms=20),
            "classifier",
            log_dir=tmp_path,
            name="rescuer",
        )
        try:
            wait_for(lambda: len(outputs(bus)) >= 10, 90, what="reclaimed entries classified")
            assert sorted(c.seq for c in outputs(bus)) == list(range(10))
            wait_for(
                lambda: consumer_groups.info(bus, bus.keys.detections, "classifier")["pending"] == 0,
                10,
                what="acks",
            )
            assert "reclaimed 10 stale entries" in rescuer.output()
        finally:
            rescuer.stop()
    finally:
        first.stop()
