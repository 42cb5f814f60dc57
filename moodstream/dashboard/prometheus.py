"""``/metrics`` in the Prometheus text exposition format (version 0.0.4).

Rendered by prometheus_client (types, HELP lines, label escaping) from a
collector built per scrape: the numbers already exist (worker heartbeats merged
by ``collect_status``), so there is no registry of counters of our own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, exposition, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from moodstream.ops.observe import Status
from moodstream.streams.schemas import DashboardStatus

# Text format 0.0.4, which every Prometheus reads (the library's newest names 1.0.0, which 2.x does not know).
CONTENT_TYPE = getattr(exposition, "CONTENT_TYPE_PLAIN_0_0_4", CONTENT_TYPE_LATEST)

# (metric, type, help, StageStatus field)
STAGE_METRICS = (
    ("moodstream_workers", "gauge", "Live worker processes per stage.", "workers"),
    ("moodstream_processed_total", "counter", "Messages processed by the stage's live workers.", "processed"),
    ("moodstream_skipped_total", "counter", "Messages skipped (stale live frames, duplicates).", "skipped"),
    ("moodstream_errors_total", "counter", "Processing and connection errors.", "errors"),
    ("moodstream_dead_total", "counter", "Messages sent to the dead-letter stream.", "dead"),
    (
        "moodstream_lost_total",
        "counter",
        "Pending entries trimmed before the stage could process them.",
        "lost",
    ),
    ("moodstream_rate", "gauge", "Messages processed per second, recently.", "rate"),
    ("moodstream_pending", "gauge", "Delivered to the stage's group but not yet acked.", "pending"),
    ("moodstream_lag", "gauge", "Entries not yet delivered to the stage's group.", "lag"),
)
# (DashboardStatus counter, help)
DASHBOARD_COUNTERS = (
    ("frames_sent", "Video frames sent to clients."),
    ("frames_acked", "Video frames acknowledged by clients."),
    ("frames_dropped", "Frames replaced by a newer one before a slow client could take them."),
    ("ack_timeouts", "Frames not acknowledged in time."),
    ("events", "Emotion and recommendation events bridged to Socket.IO."),
    ("bad_events", "Undecodable events skipped by the bridge."),
)


class _Collector:
    """The metric families of one scrape, built from numbers that already exist (the heartbeats
    merged by ``collect_status``): a registry of our own counters would only duplicate them."""

    def __init__(self, status: Status, dashboard: DashboardStatus) -> None:
        self.status, self.dashboard = status, dashboard

    def collect(self) -> Iterator[Metric]:
        stages = self.status.stages.items()
        for name, kind, help_, field in STAGE_METRICS:
            family = _family(name, kind, help_, ["stage"])
            for stage, s in stages:
                if getattr(s, field) is not None:
                    family.add_metric([stage], float(getattr(s, field)))
            yield family
        yield self._latency()
        yield from self._cameras()
        yield GaugeMetricFamily(
            "moodstream_dead_letters", "Entries in the dead-letter stream.", self.status.dead_letters
        )
        yield GaugeMetricFamily(
            "moodstream_dashboard_clients",
            "Socket.IO clients connected to this dashboard process.",
            self.dashboard.clients,
        )
        counters = asdict(self.dashboard)
        for key, help_ in DASHBOARD_COUNTERS:
            yield CounterMetricFamily(f"moodstream_dashboard_{key}", help_, value=counters[key])

    def _latency(self) -> Metric:
        """Quantiles only (the heartbeats carry histograms of the last interval, not sums and counts)."""
        family = Metric(
            "moodstream_latency_seconds",
            "Capture-to-stage latency over the last heartbeat interval.",
            "summary",
        )
        for stage, s in self.status.stages.items():
            for q in ("p50", "p95", "p99"):
                value = s.latency_ms.get(q)
                if value is not None:
                    labels = {"stage": stage, "quantile": str(int(q[1:]) / 100)}
                    family.add_sample("moodstream_latency_seconds", labels, value / 1000.0)
        return family

    def _cameras(self) -> Iterator[Metric]:
        def gauge(name: str, help_: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"moodstream_camera_{name}", help_, labels=["camera"])

        def counter(name: str, help_: str) -> CounterMetricFamily:
            return CounterMetricFamily(f"moodstream_camera_{name}", help_, labels=["camera"])

        fps = gauge("fps", "Frames per second published by each camera.")
        up = gauge("up", "1 while the camera is streaming.")
        input_fps = gauge("input_fps", "Frames per second the camera delivered (all decoded).")
        decoded = counter("frames_decoded", "Frames decoded since capture started.")
        dropped = counter("frames_dropped", "Frames decoded but not kept (over the camera's fps).")
        reconnects = counter("reconnects", "Times capture reopened the camera.")
        decode_ms = gauge("decode_ms", "CPU milliseconds to take in a frame (moving average).")
        age = gauge("last_frame_age_seconds", "Age of the camera's last frame at its last heartbeat.")
        for c in self.status.cameras:
            label = [c.camera]
            fps.add_metric(label, c.fps)
            up.add_metric(label, 1.0 if c.state == "streaming" else 0.0)
            input_fps.add_metric(label, c.input_fps)
            decoded.add_metric(label, c.decoded)
            dropped.add_metric(label, c.dropped)
            reconnects.add_metric(label, c.reconnects)
            decode_ms.add_metric(label, c.decode_ms)
            if c.last_frame_age_s is not None:
                age.add_metric(label, c.last_frame_age_s)
        yield from (fps, up, input_fps, decoded, dropped, reconnects, decode_ms, age)


def _family(name: str, kind: str, help_: str, labels: list[str]) -> GaugeMetricFamily | CounterMetricFamily:
    if kind == "counter":  # prometheus_client adds the _total suffix itself
        return CounterMetricFamily(name.removesuffix("_total"), help_, labels=labels)
    return GaugeMetricFamily(name, help_, labels=labels)


def render(status: Status, dashboard: DashboardStatus) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(status, dashboard))  # type: ignore[arg-type]
    return generate_latest(registry).decode()
