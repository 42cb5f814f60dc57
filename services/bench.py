"""``moodstream bench``: the pipeline on replayed sample video, measured.

It starts real worker processes against a private key prefix, lets them warm
up, then measures a window: per-stage throughput from heartbeat counters,
capture-to-smoothed-emotion latency from the smoother's histograms, skipped
frames, consumer-group lag over time, and the CPU the workers used. A
classifier micro-benchmark compares one ``model.predict`` per face (the
research prototypes' way) with the compiled batched call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .common.bus import Bus
from .common.connection import connect, resolve_url
from .common.keys import Keys
from .common.metrics import Histogram
from .common.settings import Settings
from .common.tomlwriter import dump_toml
from .observe import heartbeats

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def _snapshot(bus: Bus) -> dict[str, dict[str, Any]]:
    return {h["worker"]: h for h in heartbeats(bus)}


def _diff(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]], stage: str, counter: str) -> int:
    total = 0
    for worker, hb in b.items():
        if hb.get("stage") != stage:
            continue
        before = a.get(worker, {}).get("counters", {}).get(counter, 0)
        total += int(hb.get("counters", {}).get(counter, 0)) - int(before)
    return total


def _latency(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]], stage: str) -> Histogram:
    hist = Histogram()
    for worker, hb in b.items():
        if hb.get("stage") != stage:
            continue
        after = hb.get("latency_hist", [])
        before = a.get(worker, {}).get("latency_hist", [0] * len(after))
        hist.merge([x - y for x, y in zip(after, before, strict=False)])
    return hist


def _wait_for_dashboard(port: int, proc: subprocess.Popen[bytes], tmp: Path, timeout_s: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the dashboard did not start; see {tmp / 'dashboard.log'}")


def classifier_micro(
    batch_sizes: tuple[int, ...] = (1, 8, 16, 32, 64), per_face_n: int = 40
) -> dict[str, Any]:
    import numpy as np

    from .classifier.predictor import Predictor
    from .common.assets import fetch_model
    from .common.modelspec import ModelSpec

    spec = ModelSpec.load(fetch_model())
    predictor = Predictor(spec, max_batch=max(batch_sizes))
    predictor.warmup()
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, (256, spec.size, spec.size), dtype=np.uint8)
    predictor.predict_per_face(crops[:3])
    t = time.perf_counter()
    predictor.predict_per_face(crops[:per_face_n])
    per_face = per_face_n / (time.perf_counter() - t)
    batched: dict[str, float] = {}
    for size in batch_sizes:
        predictor.max_batch = size
        predictor.predict_crops(crops[:size])
        n_calls = max(5, 512 // size)
        t = time.perf_counter()
        for i in range(n_calls):
            predictor.predict_crops(crops[(i * size) % 192 : (i * size) % 192 + size])
        batched[str(size)] = round(n_calls * size / (time.perf_counter() - t), 1)
    return {
        "model": spec.name,
        "device": predictor.device,
        "per_face_predict_faces_per_s": round(per_face, 1),
        "batched_faces_per_s": batched,
        "speedup_best": round(max(batched.values()) / per_face, 1),
    }


def run_bench(
    settings: Settings,
    cameras: int = 4,
    seconds: float = 30,
    fps: float = 15,
    detectors: int = 0,
    classifiers: int = 1,
    micro: bool = True,
    progress: bool = True,
    warmup_s: float = 5.0,
    video: str = "sample:WolfgangLanger_Pexels.mp4",
    dashboard: bool = False,
    dashboard_clients: int = 0,
    ab_rounds: int = 0,
) -> dict[str, Any]:
    from .common.assets import fetch_all

    fetch_all()

    def say(msg: str) -> None:
        if progress:
            print(msg, file=sys.stderr, flush=True)

    url = resolve_url(settings)
    embedded = None
    if url is None:
        from .stack import embedded_server_command, free_port

        port = free_port()
        embedded = subprocess.Popen(
            embedded_server_command(port, tempfile.gettempdir()), stdout=subprocess.DEVNULL
        )
        url = f"redis://127.0.0.1:{port}/0"
        time.sleep(0.5)
    prefix = "bench-" + uuid.uuid4().hex[:8]
    bus = Bus(connect(url), Keys(prefix), settings.streams)
    detectors = detectors or max(1, (os.cpu_count() or 2))
    data: dict[str, Any] = {
        "redis": {"url": url, "prefix": prefix},
        "runtime": {"heartbeat_s": 0.5},
        "detector": settings.detector.model_dump(),
        "classifier": {**settings.classifier.model_dump(), "instances": classifiers},
        "smoother": settings.smoother.model_dump(),
        "recommender": {"cooldown_s": settings.recommender.cooldown_s},
        "cameras": [{"id": f"cam{i}", "source": video, "fps": fps, "loop": True} for i in range(cameras)],
    }
    token = uuid.uuid4().hex
    if dashboard:
        from .stack import free_port

        data["dashboard"] = {
            **settings.dashboard.model_dump(),
            "enabled": True,
            "port": free_port(),
            "token": token,
        }
        data["dashboard"]["host"] = "127.0.0.1"
        data["dashboard"]["message_queue"] = ""
    tmp = Path(tempfile.mkdtemp(prefix="moodstream-bench-"))
    config = tmp / "bench.toml"
    config.write_text(dump_toml(data))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    dash_procs: list[subprocess.Popen[bytes]] = []
    viewers: subprocess.Popen[str] | None = None
    result: dict[str, Any] = {}

    def start(*args: str, command: str = "worker", into: list[subprocess.Popen[bytes]] = procs) -> None:
        log = (tmp / f"{'-'.join((command, *args))}.log").open("wb")
        prefix = settings.dashboard.priority_prefix() if command == "dashboard" else []
        into.append(
            subprocess.Popen(
                [*prefix, sys.executable, "-m", "services.cli", "--config", str(config), command, *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        )

    try:
        say(f"starting {detectors} detector(s), {classifiers} classifier(s), smoother, recommender")
        for _ in range(detectors):
            start("detector")
        for _ in range(classifiers):
            start("classifier")
        start("smoother")
        start("recommender")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            stages = [h.get("stage") for h in heartbeats(bus)]
            if stages.count("classifier") >= classifiers and stages.count("detector") >= detectors:
                break
            time.sleep(0.5)
        if dashboard:
            start(command="dashboard", into=dash_procs)
        say(f"starting {cameras} camera(s) at {fps} fps")
        for i in range(cameras):
            start("capture", "--camera", f"cam{i}")
        port = int(data["dashboard"]["port"]) if dashboard else 0

        def start_viewers() -> subprocess.Popen[str]:
            _wait_for_dashboard(port, dash_procs[0], tmp)
            proc = subprocess.Popen(
                [  # they stand for browsers on other machines: they get only CPU nothing else wants
                    "chrt",
                    "--idle",
                    "0",
                    sys.executable,
                    "-m",
                    "dashboard.loadclient",
                    f"http://127.0.0.1:{port}",
                    token,
                    str(dashboard_clients),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=(tmp / "viewers.log").open("a"),
                text=True,
                env=env,
            )
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "connected":
                raise RuntimeError(f"the simulated viewers did not connect; see {tmp / 'viewers.log'}")
            return proc

        def window(seconds: float, viewers: subprocess.Popen[str] | None) -> dict[str, Any]:
            a = _snapshot(bus)
            watched = procs + dash_procs + ([viewers] if viewers is not None else [])
            cpu_a = {p.pid: _cpu_seconds(p.pid) for p in watched}
            if viewers is not None:
                assert viewers.stdin is not None
                viewers.stdin.write("go\n")
                viewers.stdin.flush()
            t0 = time.monotonic()
            lags: list[int] = []
            while time.monotonic() - t0 < seconds:
                time.sleep(1.0)
                info = bus.group_info(bus.keys.frames, "detector")
                lags.append(int(info.get("lag") or 0) + int(info.get("pending") or 0))
            elapsed = time.monotonic() - t0
            time.sleep(1.2)  # one more heartbeat from every worker
            b = _snapshot(bus)
            cpu = {p.pid: _cpu_seconds(p.pid) - cpu_a.get(p.pid, 0.0) for p in watched}
            report: dict[str, Any] = {}
            if viewers is not None:
                viewers.terminate()
                out, _ = viewers.communicate(timeout=30)
                report = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
                report["cpu_cores"] = round(cpu[viewers.pid] / elapsed, 2)
            return {
                "a": a,
                "b": b,
                "elapsed": elapsed,
                "lags": lags,
                "cpu_pipeline": sum(cpu[p.pid] for p in procs),
                "cpu_dashboard": sum(cpu[p.pid] for p in dash_procs),
                "viewers": report,
            }

        say(f"warming up {warmup_s:.0f}s")
        time.sleep(warmup_s)
        if ab_rounds:
            result = {"rounds": [], "without_viewers": [], "with_viewers": []}
            for r in range(ab_rounds):
                say(f"round {r + 1}/{ab_rounds}: {seconds:.0f}s without viewers, then {seconds:.0f}s with")
                result["without_viewers"].append(window(seconds, None))
                result["with_viewers"].append(window(seconds, start_viewers()))
            return _ab_summary(result, cameras, fps, detectors, classifiers, dashboard_clients)
        viewers = start_viewers() if dashboard and dashboard_clients else None
        say(f"measuring for {seconds:.0f}s")
        w = window(seconds, viewers)
        viewers = None
        result = _window_result(w, cameras, fps, detectors, classifiers)
        result["dead_letters"] = bus.stream_length(bus.keys.dead)
        if dashboard:
            result["dashboard"] = {
                "cpu_cores": round(w["cpu_dashboard"] / w["elapsed"], 2),
                "viewers": w["viewers"],
            }
    finally:
        if viewers is not None and viewers.poll() is None:
            viewers.kill()
        for p in dash_procs:
            p.terminate()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        for p in dash_procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        bus.delete_all()
        if embedded is not None:
            embedded.kill()
    if micro:
        say("classifier micro-benchmark")
        result["classifier"] = classifier_micro()
    return result


def _window_result(
    w: dict[str, Any], cameras: int, fps: float, detectors: int, classifiers: int
) -> dict[str, Any]:
    a, b, elapsed, lags = w["a"], w["b"], w["elapsed"], w["lags"]
    latency = _latency(a, b, "smoother")
    return {
        "cameras": cameras,
        "fps": fps,
        "seconds": round(elapsed, 1),
        "detectors": detectors,
        "classifiers": classifiers,
        "frames_captured": _diff(a, b, "capture", "published"),
        "frames_processed": _diff(a, b, "detector", "processed"),
        "frames_skipped": _diff(a, b, "detector", "skipped") + _diff(a, b, "classifier", "skipped"),
        "faces_classified": _diff(a, b, "classifier", "faces"),
        "emotion_events": _diff(a, b, "smoother", "published"),
        "stage_rates_per_s": {
            stage: round(_diff(a, b, stage, "processed") / elapsed, 1)
            for stage in ("capture", "detector", "classifier", "smoother", "recommender")
        },
        "latency_ms": {k: (round(v, 1) if v is not None else None) for k, v in latency.summary().items()},
        "detector_backlog": {
            "first": lags[0] if lags else 0,
            "last": lags[-1] if lags else 0,
            "max": max(lags or [0]),
        },
        "cpu": {
            "core_seconds": round(w["cpu_pipeline"], 1),
            "cores_busy": round(w["cpu_pipeline"] / elapsed, 2),
            "cores": os.cpu_count(),
        },
    }


def _ab_summary(
    raw: dict[str, Any], cameras: int, fps: float, detectors: int, classifiers: int, clients: int
) -> dict[str, Any]:
    """Interleaved windows without and with viewers on one running pipeline: drift and warm-up cancel out."""
    out: dict[str, Any] = {
        "cameras": cameras,
        "fps": fps,
        "clients": clients,
        "rounds": len(raw["with_viewers"]),
    }
    for kind in ("without_viewers", "with_viewers"):
        windows = raw[kind]
        hist = Histogram()
        processed = captured = 0
        seconds = cpu = dash = 0.0
        for w in windows:
            hist.merge(_latency(w["a"], w["b"], "smoother").counts)
            processed += _diff(w["a"], w["b"], "detector", "processed")
            captured += _diff(w["a"], w["b"], "capture", "published")
            seconds += w["elapsed"]
            cpu += w["cpu_pipeline"]
            dash += w["cpu_dashboard"]
        out[kind] = {
            "seconds": round(seconds, 1),
            "captured_per_s": round(captured / seconds, 1),
            "processed_per_s": round(processed / seconds, 1),
            "latency_ms": {k: (round(v, 1) if v is not None else None) for k, v in hist.summary().items()},
            "per_window": [_window_result(w, cameras, fps, detectors, classifiers) for w in windows],
            "pipeline_cores": round(cpu / seconds, 2),
            "dashboard_cores": round(dash / seconds, 2),
        }
        if kind == "with_viewers":
            out[kind]["viewers"] = [w["viewers"] for w in windows]

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
            f"cores, dashboard {k['dashboard_cores']} cores"
        )
    for v in r["with_viewers"]["viewers"]:
        lines.append(f"viewers: {v}")
    lines.append(f"change with viewers (%): {r['change_percent']}")
    return "\n".join(lines)


def format_result(r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    lines = [
        f"{r['cameras']} cameras x {r['fps']} fps for {r['seconds']} s "
        f"({r['detectors']} detector(s), {r['classifiers']} classifier(s))",
        f"frames captured {r['frames_captured']}, processed {r['frames_processed']}, skipped {r['frames_skipped']}",
        f"faces classified {r['faces_classified']}, emotion events {r['emotion_events']}",
        f"latency capture->smoothed: p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms",
        f"stage rates /s: {r['stage_rates_per_s']}",
        f"detector backlog first/last/max: {r['detector_backlog']}",
        f"CPU: {r['cpu']['cores_busy']} of {r['cpu']['cores']} cores busy",
    ]
    if "classifier" in r:
        c = r["classifier"]
        lines.append(
            f"classifier ({c['device']}): per-face predict {c['per_face_predict_faces_per_s']} faces/s; "
            f"batched {c['batched_faces_per_s']} faces/s; best speed-up x{c['speedup_best']}"
        )
    return "\n".join(lines)
