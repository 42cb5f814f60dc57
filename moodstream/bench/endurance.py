"""``moodstream bench --soak SECONDS`` and ``--fuzz N``: does the pipeline stay bounded over time and
under hostile input?

Both run the real pipeline as ``bench`` does (moodstream/bench/pipeline.py: private prefix, real processes). The
soak records every worker's resident memory and every stream's length once a minute: after warm-up,
memory should stay within about 10 % and streams under their MAXLEN. The fuzz writes N hostile entries
(moodstream/bench/fuzzing.py) into each stage's input stream and records memory before and after, how long the
workers took to dead-letter them all, and that real frames still came through.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from moodstream.bench.fuzzing import inject
from moodstream.bench.pipeline import BenchOptions, BenchRun, snapshot
from moodstream.config import Settings
from moodstream.streams.keys import STREAMS


def rss_mb(pid: int) -> float | None:
    """A process's resident set size in MiB, from /proc (None once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def sample(run: BenchRun, t: float) -> dict[str, Any]:
    """Memory of every worker and the length of every stream, now."""
    return {
        "t": round(t),
        "rss_mb": {run.names[p.pid]: rss_mb(p.pid) for p in run.workers + run.dashboards},
        "streams": {name: run.bus.total_length(name) for name in STREAMS},
    }


def _growth(first: dict[str, Any], last: dict[str, Any]) -> dict[str, float | None]:
    """Each worker's RSS change from the first sample to the last, in per cent."""
    out: dict[str, float | None] = {}
    for name, before in first["rss_mb"].items():
        after = last["rss_mb"].get(name)
        out[name] = round((after - before) / before * 100, 1) if before and after else None
    return out


def _counts(run: BenchRun) -> dict[str, int]:
    totals: dict[str, int] = {}
    for h in snapshot(run.bus).values():
        for counter in ("processed", "dead", "errors", "lost"):
            key = f"{h.stage}.{counter}"
            totals[key] = totals.get(key, 0) + h.counters.get(counter, 0)
    return {k: v for k, v in sorted(totals.items()) if v}


def run_soak(
    settings: Settings, seconds: float, cameras: int = 4, fps: float = 15, every_s: float = 60
) -> dict:
    """``cameras`` looping cameras at ``fps`` for ``seconds``, sampled every ``every_s`` (the first sample,
    at ``every_s``, is the after-warm-up baseline)."""
    from moodstream.assets import fetch_all

    fetch_all()
    run = BenchRun(settings, BenchOptions(cameras=cameras, fps=fps, seconds=seconds, micro=False))
    samples: list[dict[str, Any]] = []
    try:
        run.start_pipeline()
        t0 = time.monotonic()
        run.say(f"soaking for {seconds:.0f}s, a sample every {every_s:.0f}s")
        while (elapsed := time.monotonic() - t0) < seconds:
            next_at = min(seconds, (len(samples) + 1) * every_s)
            time.sleep(max(0.0, next_at - elapsed))
            samples.append(sample(run, time.monotonic() - t0))
            run.say(f"  {samples[-1]['t']}s: {samples[-1]['streams']}")
        result = {
            "seconds": seconds,
            "cameras": cameras,
            "fps": fps,
            "samples": samples,
            "rss_change_pct": _growth(samples[0], samples[-1]),
            "stream_max": {name: max(s["streams"][name] for s in samples) for name in STREAMS},
            "maxlen": {
                "frames": run.settings.streams.frames_maxlen,
                "events": run.settings.streams.events_maxlen,
            },
            "counters": _counts(run),
            "workers_alive": all(p.poll() is None for p in run.workers),
        }
    finally:
        run.close()
    return result


def run_fuzz(settings: Settings, per_stream: int, cameras: int = 2, fps: float = 5) -> dict:
    """``per_stream`` hostile entries into each input stream while ``cameras`` real cameras run."""
    from moodstream.assets import fetch_all

    fetch_all()
    run = BenchRun(settings, BenchOptions(cameras=cameras, fps=fps, micro=False))
    bus = run.bus
    try:
        run.start_pipeline()
        _wait(lambda: bus.total_length("emotions") > 0, 180, "the first emotions")
        before = sample(run, 0)
        dead0 = sum(_dead(run).values())
        t0 = time.monotonic()
        run.say(f"writing {per_stream} hostile entries into each of 4 streams")
        total = inject(bus, per_stream, lambda cond, what: _wait(cond, 300, what))
        _wait(lambda: sum(_dead(run).values()) - dead0 >= total, 600, f"{total} dead letters")
        took = time.monotonic() - t0
        emotions = bus.total_length("emotions")
        _wait(lambda: bus.total_length("emotions") > emotions, 120, "real emotions after the fuzz")
        after = sample(run, took)
        return {
            "per_stream": per_stream,
            "entries": total,
            "seconds": round(took, 1),
            "dead_lettered": sum(_dead(run).values()) - dead0,
            "rss_before_mb": before["rss_mb"],
            "rss_after_mb": after["rss_mb"],
            "rss_change_pct": _growth(before, after),
            "streams_after": after["streams"],
            "emotions_during": emotions,
            "workers_alive": all(p.poll() is None for p in run.workers),
        }
    finally:
        run.close()


def _dead(run: BenchRun) -> dict[str, int]:
    """Entries each worker dead-lettered (heartbeat counters: the dead stream itself is capped)."""
    return {w: h.counters.get("dead", 0) for w, h in snapshot(run.bus).items()}


def _wait(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.1)


def format_soak(r: dict[str, Any]) -> str:
    lines = [f"soak: {r['cameras']} camera(s) x {r['fps']:g} fps for {r['seconds']:.0f}s"]
    first, last = r["samples"][0], r["samples"][-1]
    lines.append(
        f"{'worker':<22}{'RSS @' + str(first['t']) + 's':>12}{'RSS @' + str(last['t']) + 's':>12}{'change':>9}"
    )
    for name, change in r["rss_change_pct"].items():
        a, b = first["rss_mb"].get(name), last["rss_mb"].get(name)
        lines.append(f"{name:<22}{a!s:>10}MB{b!s:>10}MB{('-' if change is None else f'{change:+.1f}%'):>9}")
    lines.append(
        "streams (max over the samples): " + ", ".join(f"{k} {v}" for k, v in r["stream_max"].items())
    )
    lines.append(f"workers alive at the end: {r['workers_alive']}; counters: {r['counters']}")
    return "\n".join(lines)


def format_fuzz(r: dict[str, Any]) -> str:
    lines = [
        f"fuzz: {r['entries']} hostile entries ({r['per_stream']} per stream), all dead-lettered in "
        f"{r['seconds']}s: {r['dead_lettered']}; workers alive: {r['workers_alive']}",
        f"{'worker':<22}{'RSS before':>12}{'RSS after':>12}{'change':>9}",
    ]
    for name, change in r["rss_change_pct"].items():
        a, b = r["rss_before_mb"].get(name), r["rss_after_mb"].get(name)
        lines.append(f"{name:<22}{a!s:>10}MB{b!s:>10}MB{('-' if change is None else f'{change:+.1f}%'):>9}")
    return "\n".join(lines)
