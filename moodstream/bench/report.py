"""What a measured window means: counter and latency deltas between two heartbeat snapshots, the
result as a map (``--json``), and the text ``moodstream bench`` prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from moodstream.bench.classifier import format_classifier
from moodstream.runtime.metrics import Histogram
from moodstream.streams.schemas import Heartbeat
from moodstream.streams.stages import NAMES

Snapshot = dict[str, Heartbeat]


def counter_delta(a: Snapshot, b: Snapshot, stage: str, counter: str) -> int:
    """How much a stage's counter grew between two heartbeats of each of its workers."""
    return sum(
        hb.counters.get(counter, 0) - before.counters.get(counter, 0) for before, hb in _pairs(a, b, stage)
    )


def _pairs(a: Snapshot, b: Snapshot, stage: str | None = None) -> list[tuple[Heartbeat, Heartbeat]]:
    """Each worker's heartbeat at the window's start and end (workers seen at both, of ``stage``)."""
    return [
        (a[w], hb)
        for w, hb in b.items()
        if w in a and (stage is None or hb.stage == stage) and hb.ts > a[w].ts
    ]


def stage_rate(a: Snapshot, b: Snapshot, stage: str, counter: str) -> float:
    """Per second, summed over the stage's workers, each timed by its own heartbeats' clock: a rate over
    exactly the stretch its counters cover, never over the window's nominal length."""
    return sum(
        (hb.counters.get(counter, 0) - x.counters.get(counter, 0)) / (hb.ts - x.ts)
        for x, hb in _pairs(a, b, stage)
    )


def heartbeat_seconds(a: Snapshot, b: Snapshot) -> float:
    """The window as the workers' own clocks measured it (median over workers)."""
    spans = sorted(hb.ts - x.ts for x, hb in _pairs(a, b))
    return spans[len(spans) // 2] if spans else 0.0


def stage_cpu(a: Snapshot, b: Snapshot) -> dict[str, dict[str, float | None]]:
    """Each stage's CPU from its workers' own ``process_time``: cores busy, and ms per item processed."""
    out: dict[str, dict[str, float | None]] = {}
    for stage in NAMES:
        pairs = _pairs(a, b, stage)
        if not pairs:
            continue
        cores = sum((hb.cpu_s - x.cpu_s) / (hb.ts - x.ts) for x, hb in pairs)
        cpu_s = sum(hb.cpu_s - x.cpu_s for x, hb in pairs)
        done = counter_delta(a, b, stage, "processed")
        out[stage] = {
            "cores": round(cores, 3),
            "ms_per_item": round(cpu_s * 1000 / done, 2) if done else None,
        }
    return out


def latency_delta(a: Snapshot, b: Snapshot, stage: str) -> Histogram:
    hist = Histogram()
    for worker, hb in b.items():
        if hb.stage != stage:
            continue
        before = a[worker].latency_hist if worker in a else [0] * len(hb.latency_hist)
        hist.merge([x - y for x, y in zip(hb.latency_hist, before, strict=False)])
    return hist


@dataclass
class Window:
    """One measured stretch: heartbeats before and after, the backlog each second, CPU used."""

    a: Snapshot
    b: Snapshot
    elapsed: float
    lags: list[int]
    cpu_pipeline: float
    cpu_dashboard: float
    viewers: dict[str, Any] = field(default_factory=dict)


def window_result(w: Window, opts: Any, detectors: int) -> dict[str, Any]:
    a, b, lags = w.a, w.b, w.lags
    elapsed = heartbeat_seconds(a, b) or w.elapsed
    latency = latency_delta(a, b, "smoother")
    per_stage = stage_cpu(a, b)
    return {
        "cameras": opts.cameras,
        "fps": opts.fps,
        "seconds": round(elapsed, 1),
        "detectors": detectors,
        "classifiers": opts.classifiers,
        "frames_captured": counter_delta(a, b, "capture", "published"),
        "frames_processed": counter_delta(a, b, "detector", "processed"),
        "frames_skipped": counter_delta(a, b, "detector", "skipped")
        + counter_delta(a, b, "classifier", "skipped"),
        "faces_classified": counter_delta(a, b, "classifier", "faces"),
        "emotion_events": counter_delta(a, b, "smoother", "published"),
        "blurred": blurred(a, b),
        "stage_rates_per_s": {stage: round(stage_rate(a, b, stage, "processed"), 1) for stage in NAMES},
        "latency_ms": {k: (round(v, 1) if v is not None else None) for k, v in latency.summary().items()},
        "detector_backlog": {
            "first": lags[0] if lags else 0,
            "last": lags[-1] if lags else 0,
            "max": max(lags or [0]),
        },
        "cpu": {
            "cores_busy": round(sum(v["cores"] or 0.0 for v in per_stage.values()), 2),
            "cores": os.cpu_count(),
            "per_stage": per_stage,
        },
    }


def ab_summary(raw: dict[str, list[Window]], opts: Any, detectors: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cameras": opts.cameras,
        "fps": opts.fps,
        "clients": opts.dashboard_clients,
        "rounds": len(raw["with_viewers"]),
    }
    for kind in ("without_viewers", "with_viewers"):
        windows = raw[kind]
        hist = Histogram()
        processed = captured = 0
        seconds = cpu = dash = 0.0
        for w in windows:
            hist.merge(latency_delta(w.a, w.b, "smoother").counts)
            processed += counter_delta(w.a, w.b, "detector", "processed")
            captured += counter_delta(w.a, w.b, "capture", "published")
            span = heartbeat_seconds(w.a, w.b) or w.elapsed
            seconds += span
            cpu += sum(v["cores"] or 0.0 for v in stage_cpu(w.a, w.b).values()) * span
            dash += w.cpu_dashboard
        out[kind] = {
            "seconds": round(seconds, 1),
            "captured_per_s": round(captured / seconds, 1),
            "processed_per_s": round(processed / seconds, 1),
            "latency_ms": {k: (round(v, 1) if v is not None else None) for k, v in hist.summary().items()},
            "per_window": [window_result(w, opts, detectors) for w in windows],
            "pipeline_cores": round(cpu / seconds, 2),
            "dashboard_cores": round(dash / seconds, 2),
            "blurred": blurred_total([(w.a, w.b) for w in windows]),
        }
        if kind == "with_viewers":
            out[kind]["viewers"] = [w.viewers for w in windows]

    def change(key: str, sub: str | None = None) -> float | None:
        a = out["without_viewers"][key] if sub is None else out["without_viewers"][key][sub]
        b = out["with_viewers"][key] if sub is None else out["with_viewers"][key][sub]
        return round((b - a) / a * 100.0, 1) if a and b is not None else None

    out["change_percent"] = {
        "processed_per_s": change("processed_per_s"),
        "latency_p50": change("latency_ms", "p50"),
        "latency_p95": change("latency_ms", "p95"),
        "latency_p99": change("latency_ms", "p99"),
    }
    return out


def format_ab(r: dict[str, Any]) -> str:
    lines = [
        f"{r['cameras']} cameras x {r['fps']} fps, {r['clients']} viewers, {r['rounds']} interleaved rounds"
    ]
    for kind in ("without_viewers", "with_viewers"):
        k = r[kind]
        lat = k["latency_ms"]
        lines.append(
            f"{kind.replace('_', ' '):<16} processed {k['processed_per_s']}/s of {k['captured_per_s']}/s captured; "
            f"latency p50 {lat['p50']} / p95 {lat['p95']} / p99 {lat['p99']} ms; pipeline {k['pipeline_cores']} "
            f"cores, dashboard {k['dashboard_cores']} cores; {_blur_line(k['blurred'])}"
        )
    for v in r["with_viewers"]["viewers"]:
        lines.append(f"viewers: {v}")
    lines.append(f"change with viewers (%): {r['change_percent']}")
    return "\n".join(lines)


def blurred(a: Snapshot, b: Snapshot) -> dict[str, Any]:
    """The frames the detector blurred for viewers (privacy.md), and the CPU each took (decoding in
    colour aside): blurring, masking and encoding the JPEG, by the detector's own process clock."""
    return blurred_total([(a, b)])


def blurred_total(windows: list[tuple[Snapshot, Snapshot]]) -> dict[str, Any]:
    frames = sum(counter_delta(a, b, "detector", "protected_frames") for a, b in windows)
    cpu_us = sum(counter_delta(a, b, "detector", "protect_cpu_us") for a, b in windows)
    return {"frames": frames, "cpu_ms_per_frame": round(cpu_us / frames / 1000, 2) if frames else None}


def _blur_line(b: dict[str, Any]) -> str:
    if not b["frames"]:
        return "no frames blurred"
    return f"{b['frames']} frames blurred, {b['cpu_ms_per_frame']} ms CPU each"


def format_result(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    lines = [
        f"{r['cameras']} cameras x {r['fps']} fps for {r['seconds']} s "
        f"({r['detectors']} detector(s), {r['classifiers']} classifier(s))",
        f"frames captured {r['frames_captured']}, processed {r['frames_processed']}, skipped {r['frames_skipped']}",
        f"faces classified {r['faces_classified']}, emotion events {r['emotion_events']}; {_blur_line(r['blurred'])}",
        f"latency capture->smoothed: p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms",
        f"stage rates /s: {r['stage_rates_per_s']}",
        f"detector backlog first/last/max: {r['detector_backlog']}",
        f"CPU: {r['cpu']['cores_busy']} of {r['cpu']['cores']} cores busy (the workers' own process_time; Redis not counted)",
        "CPU per stage: "
        + ", ".join(
            f"{stage} {v['cores']} cores ({v['ms_per_item']} ms/item)"
            for stage, v in r["cpu"]["per_stage"].items()
        ),
    ]
    if "classifier" in r:
        c = r["classifier"]
        lines.append(format_classifier(c))
    if "fer" in r:
        f, o = r["fer"], r["ours"]
        lines.append(
            f"the fer library's loop ({f['settings']}): {f['fps']} frames/s, {f['faces_per_frame']} faces a frame, "
            f"{f['cores']} cores, {f['frames_per_core_second']} frames per core-second"
        )
        lines.append(
            f"this pipeline: {o['fps']} frames/s, {o['faces_per_frame']} faces a frame, {o['cores']} cores, "
            f"{o['frames_per_core_second']} frames per core-second: x{r['vs_fer']} of fer's frames/s, "
            f"x{r['vs_fer_per_core']} per core"
        )
    return "\n".join(lines)
