"""``/metrics`` in the Prometheus text exposition format (version 0.0.4).

Written by hand rather than with prometheus_client: the numbers already
exist (worker heartbeats merged by ``collect_status``), so this is only a
rendering, and a registry of our own would duplicate them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from moodstream.services.common.schemas import DashboardStatus
from moodstream.services.observe import Status

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

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
Samples = list[tuple[dict[str, Any], Any]]


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_: str, samples: Samples) -> None:
        self.lines.append(f"# HELP {name} {help_}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            if value is None:
                continue
            text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{text}}} {float(value):g}" if text else f"{name} {float(value):g}")


def _latency(status: Status) -> Samples:
    samples: Samples = []
    for stage, s in status.stages.items():
        for q in ("p50", "p95", "p99"):
            value = s.latency_ms.get(q)
            if value is not None:
                samples.append(({"stage": stage, "quantile": str(int(q[1:]) / 100)}, value / 1000.0))
    return samples


def render(status: Status, dashboard: DashboardStatus) -> str:
    w = _Writer()
    for name, kind, help_, field in STAGE_METRICS:
        w.metric(name, kind, help_, [({"stage": st}, getattr(s, field)) for st, s in status.stages.items()])
    w.metric(
        "moodstream_latency_seconds",
        "summary",
        "Capture-to-stage latency over the last heartbeat interval.",
        _latency(status),
    )
    cams = status.cameras
    w.metric(
        "moodstream_camera_fps",
        "gauge",
        "Frames per second published by each camera.",
        [({"camera": c.camera}, c.fps) for c in cams],
    )
    w.metric(
        "moodstream_camera_up",
        "gauge",
        "1 while the camera is streaming.",
        [({"camera": c.camera}, 1 if c.state == "streaming" else 0) for c in cams],
    )
    w.metric(
        "moodstream_dead_letters", "gauge", "Entries in the dead-letter stream.", [({}, status.dead_letters)]
    )
    w.metric(
        "moodstream_dashboard_clients",
        "gauge",
        "Socket.IO clients connected to this dashboard process.",
        [({}, dashboard.clients)],
    )
    counters = asdict(dashboard)
    for key, help_ in DASHBOARD_COUNTERS:
        w.metric(f"moodstream_dashboard_{key}_total", "counter", help_, [({}, counters[key])])
    return "\n".join(w.lines) + "\n"
