"""What the stack is doing: per-stage status, and the public event feed.

``status`` merges the heartbeats of every worker (counters, rates, latency
histograms) with each consumer group's pending and lag. ``follow`` yields the
public emotion and recommendation events, the shapes the Socket.IO feed
serves unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import msgpack

from .common.bus import Bus
from .common.keys import STAGES
from .common.metrics import Histogram
from .common.schemas import EmotionEvent, RecommendationEvent, SchemaError


def heartbeats(bus: Bus) -> list[dict[str, Any]]:
    out = []
    for raw in bus.heartbeats():
        try:
            hb = msgpack.unpackb(raw, raw=False)
        except Exception:
            continue
        if isinstance(hb, dict):
            out.append(hb)
    return out


def collect_status(bus: Bus) -> dict[str, Any]:
    hbs = heartbeats(bus)
    stages: dict[str, Any] = {}
    for stage in STAGES:
        workers = [h for h in hbs if h.get("stage") == stage]
        totals: dict[str, int] = {}
        rates: dict[str, float] = {}
        hist = Histogram()
        for h in workers:
            for k, v in h.get("counters", {}).items():
                totals[k] = totals.get(k, 0) + int(v)
            for k, v in h.get("rates", {}).items():
                rates[k] = round(rates.get(k, 0.0) + float(v), 2)
            hist.merge(h.get("latency_recent", []))
        entry: dict[str, Any] = {
            "workers": len(workers),
            "processed": totals.get("processed", 0),
            "skipped": totals.get("skipped", 0),
            "errors": totals.get("errors", 0),
            "dead": totals.get("dead", 0),
            "rate": rates.get("processed", 0.0),
            "skip_rate": rates.get("skipped", 0.0),
            "latency_ms": hist.summary(),
        }
        if stage != "capture":
            info = bus.group_info(bus.keys.input_stream(stage), stage)
            entry.update({"pending": info["pending"], "lag": info["lag"]})
        if stage == "recommender":
            entry["music"] = [h["music"] for h in workers if isinstance(h.get("music"), dict)]
        stages[stage] = entry
    cameras = [
        {
            "camera": h.get("camera"),
            "state": h.get("state"),
            "source": h.get("source"),
            "error": h.get("error", ""),
            "fps": h.get("rates", {}).get("published", 0.0),
            "frames": h.get("frames", 0),
            "reconnects": h.get("reconnects", 0),
        }
        for h in hbs
        if h.get("stage") == "capture"
    ]
    dashboards = [h for h in hbs if h.get("stage") == "dashboard"]
    return {
        "ts": time.time(),
        "stages": stages,
        "dashboards": {
            "processes": len(dashboards),
            "clients": sum(int(h.get("clients", 0)) for h in dashboards),
        },
        "cameras": sorted(cameras, key=lambda c: str(c["camera"])),
        "dead_letters": bus.stream_length(bus.keys.dead),
    }


def format_status(status: dict[str, Any]) -> str:
    lines = [
        f"{'stage':<12}{'workers':>8}{'rate/s':>9}{'pending':>9}{'lag':>7}{'skipped':>9}{'errors':>8}{'p95 ms':>9}"
    ]
    for stage, s in status["stages"].items():
        p95 = s["latency_ms"].get("p95")
        lines.append(
            f"{stage:<12}{s['workers']:>8}{s['rate']:>9.1f}{s.get('pending', '-')!s:>9}{s.get('lag', '-')!s:>7}"
            f"{s['skipped']:>9}{s['errors']:>8}{(f'{p95:.0f}' if p95 else '-'):>9}"
        )
    lines.append("")
    for cam in status["cameras"]:
        err = f"  ({cam['error']})" if cam["error"] else ""
        lines.append(
            f"camera {cam['camera']}: {cam['state']} {cam['fps']:.1f} fps, {cam['frames']} frames{err}"
        )
    dash = status.get("dashboards") or {}
    if dash.get("processes"):
        lines.append(f"dashboards: {dash['processes']} process(es), {dash['clients']} viewer(s)")
    lines.append(f"dead letters: {status['dead_letters']}")
    return "\n".join(lines)


def follow(
    bus: Bus,
    camera: str | None = None,
    from_start: bool = False,
    block_ms: int = 1000,
    stop: Any = None,
) -> Iterator[dict[str, Any] | None]:
    """Yield public events as dicts; yields None on each idle second so callers can check a deadline."""
    keys = bus.keys
    streams = {
        keys.emotions: "0-0" if from_start else bus.last_id(keys.emotions),
        keys.recommendations: "0-0" if from_start else bus.last_id(keys.recommendations),
    }
    decoders = {keys.emotions: EmotionEvent, keys.recommendations: RecommendationEvent}
    while stop is None or not stop():
        entries = bus.tail(streams, block_ms)
        if not entries:
            yield None
            continue
        for entry in entries:
            streams[entry.stream] = entry.id
            if entry.payload is None:
                continue
            try:
                event = decoders[entry.stream].decode(entry.payload)
            except SchemaError:
                continue
            if camera and event.camera != camera:
                continue
            yield event.public()
