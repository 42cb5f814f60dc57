"""The ``stats`` event and ``/metrics``, rendered from a Status built by hand (no Redis, no server)."""

from __future__ import annotations

from moodstream.dashboard import prometheus
from moodstream.dashboard.bridge import LatestStats, stats_payload
from moodstream.ops.observe import CameraStatus, DashboardsStatus, StageStatus, Status
from moodstream.streams.schemas import DashboardStatus
from moodstream.streams.stages import NAMES
from tests.dashboard.conftest import validate


def stage(workers: int, reads: bool = True, p95: float | None = 180.0) -> StageStatus:
    return StageStatus(
        workers=workers,
        processed=100 * workers,
        skipped=3,
        errors=1,
        dead=0,
        rate=12.5,
        skip_rate=0.5,
        latency_ms={"p50": 90.0, "p95": p95, "p99": None},
        pending=2 if reads else None,
        lag=0 if reads else None,
    )


def status(odd_camera: str = "hall") -> Status:
    stages = {name: stage(2 if name == "detector" else 1, reads=name != "capture") for name in NAMES}
    stages["recommender"].latency_ms = {"p50": None, "p95": None, "p99": None}
    cameras = [
        CameraStatus(
            "lobby", "streaming", "lobby.mp4", "", 9.96, 1200, 0, 25.0, 3000, 1800, 2.4, "software", 0.04
        ),
        CameraStatus(odd_camera, "reconnecting", "rtsp", "cannot open", 0.0, 0, 3),
    ]
    return Status(1700000000.5, stages, DashboardsStatus(1, 3), cameras, dead_letters=4)


DASH = DashboardStatus(clients=3, leader=True, frames_sent=50, frames_acked=48, frames_dropped=7, events=20)


def test_the_stats_event_matches_its_published_schema(schemas: dict[str, dict]) -> None:
    body = stats_payload(status(), DASH)
    validate(schemas, "stats", body)
    assert body["type"] == "stats" and body["dead_letters"] == 4
    assert body["stages"]["capture"]["pending"] is None and body["stages"]["detector"]["workers"] == 2
    assert body["cameras"][0] == {
        "camera": "lobby",
        "state": "streaming",
        "fps": 9.96,
        "frames": 1200,
        "error": "",
    }
    assert "source" not in body["cameras"][0]  # a source may be a URL with credentials
    assert body["dashboard"] == {
        "clients": 3,
        "leader": True,
        "frames_sent": 50,
        "frames_acked": 48,
        "frames_dropped": 7,
        "ack_timeouts": 0,
        "events": 20,
        "bad_events": 0,
    }
    latest = LatestStats()
    assert latest.cameras() == [] and latest.get() is None
    latest.payload = body
    assert latest.cameras() == ["lobby", "hall"]


def samples(text: str) -> tuple[dict[str, float], dict[str, str]]:
    """Every sample, keyed by name and sorted labels, and every family's type: read with
    prometheus_client's own parser, as a scraper would."""
    from prometheus_client.parser import text_string_to_metric_families

    values, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values, types


def test_metrics_parse_and_carry_every_stage_camera_and_counter() -> None:
    text = prometheus.render(status(odd_camera='odd"cam'), DASH)  # no config allows one; escaped anyway
    got, types = samples(text)
    assert got['moodstream_workers{stage="detector"}'] == 2
    assert got['moodstream_processed_total{stage="detector"}'] == 200
    assert got['moodstream_pending{stage="smoother"}'] == 2
    assert 'moodstream_pending{stage="capture"}' not in got  # capture reads no stream: no sample at all
    assert got['moodstream_latency_seconds{quantile="0.95",stage="smoother"}'] == 0.18
    assert 'moodstream_latency_seconds{quantile="0.99",stage="smoother"}' not in got
    assert got['moodstream_camera_up{camera="lobby"}'] == 1
    assert got['moodstream_camera_up{camera="odd"cam"}'] == 0  # escaped on the wire, read back whole
    assert got['moodstream_camera_input_fps{camera="lobby"}'] == 25.0
    assert got['moodstream_camera_frames_decoded_total{camera="lobby"}'] == 3000
    assert got['moodstream_camera_frames_dropped_total{camera="lobby"}'] == 1800
    assert got['moodstream_camera_reconnects_total{camera="odd"cam"}'] == 3
    assert got['moodstream_camera_decode_ms{camera="lobby"}'] == 2.4
    assert got['moodstream_camera_last_frame_age_seconds{camera="lobby"}'] == 0.04
    assert 'moodstream_camera_last_frame_age_seconds{camera="odd"cam"}' not in got  # no frame yet
    assert got["moodstream_dead_letters"] == 4 and got["moodstream_dashboard_clients"] == 3
    assert got["moodstream_dashboard_frames_dropped_total"] == 7
    assert types["moodstream_processed"] == "counter" and types["moodstream_latency_seconds"] == "summary"
    assert 'camera="odd\\"cam"' in text  # the label value escaped on the wire
