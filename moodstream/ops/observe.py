"""What the stack is doing: per-stage status, and the public event feed.

``collect_status`` merges the heartbeats of every worker (counters, rates,
latency histograms) with each consumer group's pending and lag, into a typed
``Status``: what ``moodstream status`` prints, what ``/metrics`` renders and
what the dashboard's ``stats`` event carries. ``follow`` yields the public
emotion and recommendation events, the shapes the Socket.IO feed serves
unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from moodstream.runtime.backoff import OnceLog
from moodstream.runtime.metrics import Histogram
from moodstream.streams import consumer_groups, dead_letters, heartbeats, suggestions
from moodstream.streams.bus import Bus, Entry
from moodstream.streams.keys import Keys
from moodstream.streams.schemas import (
    AlertEvent,
    CaptureStatus,
    DashboardStatus,
    EmotionEvent,
    Heartbeat,
    MusicStatus,
    RecommendationEvent,
    RecommenderStatus,
    SchemaError,
)
from moodstream.streams.stages import STAGES, stage_named

log = logging.getLogger(__name__)
_unreadable = OnceLog(log)


@dataclass
class StageStatus:
    workers: int
    processed: int
    skipped: int
    errors: int
    dead: int
    rate: float  # processed per second, recently
    skip_rate: float
    latency_ms: dict[str, float | None]  # p50, p95, p99 since the workers' previous heartbeats
    pending: int | None = None  # delivered to the group, not acked (stages that read a stream)
    lag: int | None = None  # not yet delivered
    lost: int = 0  # pending entries trimmed before this stage could (re)process them
    music: list[MusicStatus] | None = None  # the recommender's music providers
    stalled: list[str] = field(default_factory=list)  # "worker: loop" for loops that stopped passing


@dataclass
class CameraStatus:
    camera: str
    state: str
    source: str
    error: str
    fps: float  # published
    frames: int
    reconnects: int
    input_fps: float = 0.0  # frames the source delivered (and capture decoded) a second
    decoded: int = 0
    dropped: int = 0  # decoded but not kept: over the camera's `fps`
    decode_ms: float = 0.0  # CPU ms to take in a frame
    decoder: str = ""  # "software", a hardware decoder, or "" before the source opened
    last_frame_age_s: float | None = None  # at the heartbeat; None before any frame
    view_state: str = ""  # the viewers' stream, when detection reads another (detect_source)


@dataclass
class DashboardsStatus:
    processes: int = 0
    clients: int = 0
    stalled: list[str] = field(default_factory=list)  # "process: loop" (bridge, frames, stats)


@dataclass
class Status:
    ts: float
    stages: dict[str, StageStatus]
    dashboards: DashboardsStatus
    cameras: list[CameraStatus]
    dead_letters: int
    processes: list[str] = field(default_factory=list)  # supervisor's lines, when it runs the stack here
    oldest_s: dict[str, float | None] = field(default_factory=dict)  # each stream's oldest entry's age

    def to_json(self) -> dict[str, Any]:
        """``moodstream status --json``: stages without a stream have no pending/lag, only the
        recommender lists its music providers."""
        out = asdict(self)
        for name, stage in out["stages"].items():
            if stage_named(name).reads is None:
                del stage["pending"], stage["lag"]
            if name != "recommender":
                del stage["music"]
        return out


def _stage_status(bus: Bus, name: str, reads: str | None, workers: list[Heartbeat]) -> StageStatus:
    totals: dict[str, int] = {}
    rates: dict[str, float] = {}
    hist = Histogram()
    for h in workers:
        for k, v in h.counters.items():
            totals[k] = totals.get(k, 0) + v
        for k, r in h.rates.items():
            rates[k] = round(rates.get(k, 0.0) + r, 2)
        hist.merge(h.latency_recent)
    status = StageStatus(
        workers=len(workers),
        processed=totals.get("processed", 0),
        skipped=totals.get("skipped", 0),
        errors=totals.get("errors", 0),
        dead=totals.get("dead", 0),
        lost=totals.get("lost", 0),
        rate=rates.get("processed", 0.0),
        skip_rate=rates.get("skipped", 0.0),
        latency_ms=hist.summary(),
        stalled=[f"{h.worker}: {loop}" for h in workers for loop in h.stalled],
    )
    if reads is not None:
        info = consumer_groups.totals(bus, reads, name)
        status.pending, status.lag = info["pending"], info["lag"]
    if name == "recommender":
        status.music = [
            h.detail.music for h in workers if isinstance(h.detail, RecommenderStatus) and h.detail.music
        ]
    return status


def _camera_status(h: Heartbeat) -> CameraStatus | None:
    if not isinstance(h.detail, CaptureStatus):
        return None
    d = h.detail
    return CameraStatus(
        d.camera,
        d.state,
        d.source,
        d.error,
        h.rates.get("published", 0.0),
        d.frames,
        d.reconnects,
        input_fps=h.rates.get("decoded", 0.0),
        decoded=h.counters.get("decoded", 0),
        dropped=h.counters.get("dropped", 0),
        decode_ms=d.decode_ms,
        decoder=d.decoder,
        last_frame_age_s=round(max(0.0, h.ts - d.last_frame_ts), 3) if d.last_frame_ts else None,
        view_state=d.view_state,
    )


def collect_status(bus: Bus) -> Status:
    hbs = heartbeats.live(bus)
    stages = {
        s.name: _stage_status(bus, s.name, s.reads, [h for h in hbs if h.stage == s.name]) for s in STAGES
    }
    cameras = [c for c in map(_camera_status, hbs) if c is not None]
    dashboards = [h for h in hbs if isinstance(h.detail, DashboardStatus)]
    return Status(
        ts=time.time(),
        stages=stages,
        dashboards=DashboardsStatus(
            len(dashboards),
            sum(h.detail.clients for h in dashboards),  # type: ignore[union-attr]
            [f"{h.worker}: {loop}" for h in dashboards for loop in h.stalled],
        ),
        cameras=sorted(cameras, key=lambda c: c.camera),
        dead_letters=dead_letters.count(bus),
    )


def _camera_line(cam: CameraStatus) -> str:
    """Published against delivered, what taking frames in costs, and how fresh the last one is."""
    text = f"{cam.fps:.1f} of {cam.input_fps:.1f} fps in, {cam.frames} frames"
    if cam.decoder:
        text += f", decode {cam.decode_ms:.1f} ms ({cam.decoder})"
    if cam.reconnects:
        text += f", {cam.reconnects} reconnects"
    if cam.last_frame_age_s is not None:
        text += f", last frame {cam.last_frame_age_s:.1f} s ago"
    if cam.view_state:
        text += f"; viewers' stream {cam.view_state}"
    return text


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def format_status(status: Status) -> str:
    lines = [
        f"{'stage':<12}{'workers':>8}{'rate/s':>9}{'pending':>9}{'lag':>7}{'skipped':>9}{'errors':>8}{'p95 ms':>9}"
    ]
    for stage, s in status.stages.items():
        p95 = s.latency_ms.get("p95")
        pending = "-" if s.pending is None else s.pending
        lag = "-" if s.lag is None else s.lag
        lines.append(
            f"{stage:<12}{s.workers:>8}{s.rate:>9.1f}{pending!s:>9}{lag!s:>7}"
            f"{s.skipped:>9}{s.errors:>8}{(f'{p95:.0f}' if p95 else '-'):>9}"
        )
    lines.append("")
    for stage, s in status.stages.items():
        lines += [f"STALLED {stage} {what}" for what in s.stalled]
    for cam in status.cameras:
        err = f"  ({cam.error})" if cam.error else ""
        lines.append(f"camera {cam.camera}: {cam.state} {_camera_line(cam)}{err}")
    if status.dashboards.processes:
        d = status.dashboards
        lines.append(f"dashboards: {d.processes} process(es), {d.clients} viewer(s)")
        lines += [f"STALLED dashboard {what}" for what in d.stalled]
    lines.append(f"dead letters: {status.dead_letters}")
    if status.oldest_s:
        ages = ", ".join(f"{k} {_age(v)}" for k, v in status.oldest_s.items())
        lines.append(f"oldest entries: {ages}")
    if status.processes:
        lines.append("\nprocesses:\n  " + "\n  ".join(status.processes))
    return "\n".join(lines)


PublicDecoder = type[EmotionEvent] | type[RecommendationEvent] | type[AlertEvent]
# The public event streams and the record each carries: what `watch`, the dashboard's bridge, its
# replay and its REST API read.
PUBLIC_STREAMS: tuple[tuple[str, PublicDecoder], ...] = (
    ("emotions", EmotionEvent),
    ("recommendations", RecommendationEvent),
    ("alerts", AlertEvent),
)


def public_decoders(keys: Keys, partitions: Sequence[int] | None = None) -> dict[str, PublicDecoder]:
    """Every public stream of these partitions (all, by default), with the record it carries."""
    return {stream: kind for name, kind in PUBLIC_STREAMS for stream in keys.streams(name, partitions)}


def disclosed(body: dict[str, Any], aggregate: Collection[str]) -> dict[str, Any] | None:
    """What of a public event may leave for its camera: an aggregate-only camera (``privacy =
    "aggregate"``) gives no per-face emotion event, and its alerts name no face track (-1)."""
    if body["camera"] not in aggregate:
        return body
    if body["type"] == "emotion":
        return None
    if body["type"] == "alert":
        return {**body, "track": -1}
    return body


def public_body(
    entry: Entry, decoder: PublicDecoder, aggregate: Collection[str] = ()
) -> dict[str, Any] | None:
    """An entry as the feed and `watch --json` show it, with its stream id (what a client resumes
    from); None when it cannot be decoded, or must not leave (``disclosed``)."""
    if entry.payload is None:
        return None
    try:
        body = {**decoder.decode(entry.payload).public(), "id": entry.id}
    except SchemaError:
        return None
    return disclosed(body, aggregate)


def current_suggestion(bus: Bus, camera: str) -> dict[str, Any] | None:
    """A camera's current suggestion (retained by the recommender's commit) as the feed sends it, with
    the stream id it was published under; None before the first, or when it cannot be decoded."""
    found = suggestions.current(bus, camera)
    if found is None:
        return None
    return public_body(Entry("", found[0], found[1]), RecommendationEvent)


def follow(
    bus: Bus,
    camera: str | None = None,
    from_start: bool = False,
    block_ms: int = 1000,
    stop: Callable[[], bool] | None = None,
    aggregate: Collection[str] = (),
) -> Iterator[dict[str, Any] | None]:
    """Yield public events as dicts; yields None on each idle second so callers can check a deadline."""
    keys = bus.keys
    # Every partition's public streams (a camera's only, when one is asked for), merged in time order.
    decoders = public_decoders(keys, [keys.partition_of(camera)] if camera else None)
    streams = {s: "0-0" if from_start else bus.last_id(s) for s in decoders}
    while stop is None or not stop():
        entries = bus.tail(streams, block_ms)
        if not entries:
            yield None
            continue
        for entry in entries:
            streams[entry.stream] = entry.id
            body = public_body(entry, decoders[entry.stream], aggregate)
            if body is not None and (camera is None or body["camera"] == camera):
                yield body
