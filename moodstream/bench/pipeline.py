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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodstream.bench.classifier import classifier_micro
from moodstream.bench.report import Snapshot, Window, ab_summary, window_result
from moodstream.config import Settings
from moodstream.ops import launcher
from moodstream.ops.tomlwriter import dump_toml
from moodstream.streams import consumer_groups, dead_letters, heartbeats
from moodstream.streams.acl import create_users
from moodstream.streams.bus import Bus
from moodstream.streams.client import answers
from moodstream.streams.connection import resolve_url, without_credentials
from moodstream.streams.schemas import CaptureStatus
from moodstream.streams.stages import STAGES, stage_named

CLK_TCK = os.sysconf("SC_CLK_TCK")
SAMPLE_VIDEO = "sample:WolfgangLanger_Pexels.mp4"


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def snapshot(bus: Bus) -> Snapshot:
    return {h.worker: h for h in heartbeats.live(bus)}


@dataclass
class BenchOptions:
    cameras: int = 4
    seconds: float = 30
    fps: float = 15
    detectors: int = 0  # 0: one per core
    classifiers: int = 1
    micro: bool = True
    progress: bool = True
    warmup_s: float = 5.0
    video: str = SAMPLE_VIDEO  # every camera's source; "{i}" in it becomes the camera's number
    dashboard: bool = False
    dashboard_clients: int = 0
    ab_rounds: int = 0
    compare_fer: bool = False  # then run the fer library's own loop on the same video, after the window
    browser_cameras: int = 0  # viewers' webcams the dashboard must admit (bench --browser-cameras)
    blur_faces: bool | None = None  # None: the config's [privacy] blur_faces
    acl: bool = False  # each worker connects as its role's ACL user (bench --acl), created on the server


class BenchRun:
    """One benchmark: a private key prefix, real worker processes, measured windows, then clean-up."""

    def __init__(self, settings: Settings, opts: BenchOptions) -> None:
        self.settings = settings
        self.opts = opts
        self.detectors = opts.detectors or max(1, (os.cpu_count() or 2))
        self.tmp = Path(tempfile.mkdtemp(prefix="moodstream-bench-"))
        self.embedded: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.dashboards: list[subprocess.Popen[bytes]] = []
        self.token = uuid.uuid4().hex
        self.dashboard_port = 0
        self.names: dict[int, str] = {}  # pid -> the name its log has
        url = resolve_url(settings) or self._start_redis()
        self.bus = Bus.for_settings(settings, url, prefix="bench-" + uuid.uuid4().hex[:8])
        # With --acl, the config's URL carries no credentials: each process logs in as its role (_spawn).
        self.passwords = create_users(self.bus) if opts.acl else {}
        self.config = self.tmp / "bench.toml"
        self.config.write_text(dump_toml(self._config(url)))

    def say(self, msg: str) -> None:
        if self.opts.progress:
            print(msg, file=sys.stderr, flush=True)

    def _start_redis(self) -> str:
        from moodstream.ops.stack import embedded_server_command, free_port

        port = free_port()
        password = uuid.uuid4().hex  # loopback only, but never open to other local users either
        self.embedded = subprocess.Popen(
            embedded_server_command(port, self.tmp, password), stdout=subprocess.DEVNULL
        )
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while not answers(url) and time.monotonic() < deadline:
            time.sleep(0.1)
        return url

    def _config(self, url: str) -> dict[str, Any]:
        s, o = self.settings, self.opts
        data: dict[str, Any] = {
            "redis": {
                "url": without_credentials(url) if self.passwords else url,
                "prefix": self.bus.keys.prefix,
                "cluster": s.redis.cluster,
            },
            "runtime": {"heartbeat_s": 0.5},
            "streams": {"partitions": s.streams.partitions},
            "detector": s.detector.model_dump(),
            "classifier": {**s.classifier.model_dump(), "instances": o.classifiers},
            "smoother": s.smoother.model_dump(),
            "recommender": {"cooldown_s": s.recommender.cooldown_s},
            "privacy": {
                **s.privacy.model_dump(),
                "blur_faces": s.privacy.blur_faces if o.blur_faces is None else o.blur_faces,
            },
            "cameras": [
                {"id": f"cam{i}", "source": o.video.replace("{i}", str(i)), "fps": o.fps, "loop": True}
                for i in range(o.cameras)
            ],
        }
        if o.dashboard:
            from moodstream.ops.stack import free_port

            self.dashboard_port = free_port()
            data["dashboard"] = {
                **s.dashboard.model_dump(),
                "enabled": True,
                "host": "127.0.0.1",
                "port": self.dashboard_port,
                "token": self.token,
                "message_queue": "",
            }
            data["browser_cameras"] = {"max": max(o.browser_cameras, 1), "fps": o.fps}
        return data

    def _spawn(self, command: list[str], name: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        if self.passwords:  # its role's ACL user: the stage (its name's first part), or the dashboard
            role = name.split("-")[0]
            env["MOODSTREAM__REDIS__USERNAME"] = role
            env["MOODSTREAM_REDIS_PASSWORD"] = self.passwords[role]
            env["MOODSTREAM_REDIS_PASSWORD_WEBCAMS"] = self.passwords["webcams"]
        log = (self.tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.names[proc.pid] = name
        return proc

    def start_pipeline(self) -> None:
        o = self.opts
        self.say(
            f"starting {self.detectors} detector(s), {o.classifiers} classifier(s), smoother, recommender, alerter, rollup"
        )
        counts = {"detector": self.detectors, "classifier": o.classifiers}
        for stage in STAGES:
            for i in range(0 if stage.per_camera else counts.get(stage.name, 1)):
                self.workers.append(
                    self._spawn(launcher.worker(self.config, stage.name), f"{stage.name}-{i}")
                )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            stages = [h.stage for h in heartbeats.live(self.bus)]
            if all(stages.count(name) >= n for name, n in counts.items()):
                break
            time.sleep(0.5)
        if o.dashboard:
            command = launcher.dashboard(self.config, self.settings.dashboard)
            self.dashboards.append(self._spawn(command, "dashboard"))
        self.say(f"starting {o.cameras} camera(s) at {o.fps} fps")
        capture = next(s.name for s in STAGES if s.per_camera)
        for i in range(o.cameras):
            self.workers.append(
                self._spawn(launcher.worker(self.config, capture, f"cam{i}"), f"capture-cam{i}")
            )

    def wait_for_cameras(self, timeout_s: float = 120.0) -> None:
        """Until every camera publishes: with many cameras their processes take a while to start, and a
        window that begins before they all stream counts some from their start and others not at all."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            streaming = [
                h
                for h in heartbeats.live(self.bus, "capture")
                if isinstance(h.detail, CaptureStatus) and h.detail.state == "streaming" and h.detail.frames
            ]
            if len(streaming) >= self.opts.cameras:
                return
            time.sleep(0.5)
        self.say(f"not every camera streams after {timeout_s:.0f}s; measuring anyway")

    def close(self) -> None:
        for p in self.dashboards + self.workers:
            p.terminate()
        for p in self.workers + self.dashboards:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        self.bus.delete_all()
        self.bus.close()
        if self.embedded is not None:
            self.embedded.kill()


class Viewers:
    """Simulated dashboard viewers (moodstream/bench/loadclient.py), counting from "go" until stopped."""

    def __init__(self, run: BenchRun) -> None:
        port = run.dashboard_port
        _wait_for_dashboard(port, run.dashboards[0], run.tmp)
        self.proc = subprocess.Popen(
            [  # they stand for browsers on other machines: they get only CPU nothing else wants
                "chrt",
                "--idle",
                "0",
                sys.executable,
                "-m",
                "moodstream.bench.loadclient",
                f"http://127.0.0.1:{port}",
                run.token,
                str(run.opts.dashboard_clients),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(run.tmp / "viewers.log").open("a"),
            text=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "connected":
            raise RuntimeError(f"the simulated viewers did not connect; see {run.tmp / 'viewers.log'}")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def report(self) -> dict[str, Any]:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()


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


def _beaten_since(run: BenchRun, before: Snapshot, ts: float, timeout_s: float = 5.0) -> Snapshot:
    """A snapshot where every worker of ``before`` has beaten at ``ts`` or later (its counters then cover
    the whole window), or the latest one after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        b = snapshot(run.bus)
        if all(w in b and b[w].ts >= ts for w in before) or time.monotonic() > deadline:
            return b
        time.sleep(0.1)


def measure(run: BenchRun, seconds: float, viewers: Viewers | None) -> Window:
    """One window of ``seconds``: heartbeats before and after, the detector's backlog every second."""
    a = snapshot(run.bus)
    watched = run.workers + run.dashboards + ([viewers.proc] if viewers is not None else [])
    cpu_a = {p.pid: _cpu_seconds(p.pid) for p in watched}
    if viewers is not None:
        viewers.go()
    detector = stage_named("detector").name
    t0 = time.monotonic()
    lags: list[int] = []
    while time.monotonic() - t0 < seconds:
        time.sleep(1.0)
        info = consumer_groups.totals(run.bus, "frames", detector)
        lags.append(int(info.get("lag") or 0) + int(info.get("pending") or 0))
    elapsed = time.monotonic() - t0
    b = _beaten_since(run, a, time.time())

    cpu = {p.pid: _cpu_seconds(p.pid) - cpu_a.get(p.pid, 0.0) for p in watched}
    window = Window(
        a,
        b,
        elapsed,
        lags,
        cpu_pipeline=sum(cpu[p.pid] for p in run.workers),
        cpu_dashboard=sum(cpu[p.pid] for p in run.dashboards),
    )
    if viewers is not None:
        window.viewers = viewers.report()
        window.viewers["cpu_cores"] = round(cpu[viewers.proc.pid] / elapsed, 2)
    return window


def run_bench(settings: Settings, opts: BenchOptions | None = None, **options: Any) -> dict[str, Any]:
    """Start the pipeline on replayed sample video, warm up, measure, clean up; then the micro-benchmark."""
    from moodstream.assets import fetch_all

    opts = opts or BenchOptions(**options)
    fetch_all()
    run = BenchRun(settings, opts)
    viewers: Viewers | None = None
    try:
        run.start_pipeline()
        run.wait_for_cameras()
        run.say(f"warming up {opts.warmup_s:.0f}s")
        time.sleep(opts.warmup_s)
        if opts.ab_rounds:
            return _ab_rounds(run)
        viewers = Viewers(run) if opts.dashboard and opts.dashboard_clients else None
        run.say(f"measuring for {opts.seconds:.0f}s")
        w = measure(run, opts.seconds, viewers)
        viewers = None
        result = window_result(w, opts, run.detectors)
        result["dead_letters"] = dead_letters.count(run.bus)
        if opts.dashboard:
            result["dashboard"] = {"cpu_cores": round(w.cpu_dashboard / w.elapsed, 2), "viewers": w.viewers}
    finally:
        if viewers is not None:
            viewers.kill()
        run.close()
    if opts.micro:
        run.say("classifier micro-benchmark")
        result["classifier"] = classifier_micro(
            settings.classifier.model, runtime=settings.classifier.runtime
        )
    if opts.compare_fer:
        result.update(_compare_fer(run, result))
    return result


def _compare_fer(run: BenchRun, result: dict[str, Any]) -> dict[str, Any]:
    """The peer: ``fer``'s frame-by-frame loop on the same video, on the same (now idle) machine: frames
    and faces per second, faces found per frame, and frames per core-second on both sides."""
    from moodstream.assets import sample_video
    from moodstream.bench.fercompare import run_fer

    video = run.opts.video
    path = sample_video(video.split(":", 1)[1]) if video.startswith("sample:") else Path(video)
    run.say(f"the fer library's loop on {path.name} for {min(run.opts.seconds, 30):.0f}s")
    fer = run_fer(path, min(run.opts.seconds, 30))
    ours_fps = result["frames_processed"] / result["seconds"]
    ours_cores = result["cpu"]["cores_busy"]
    ours = {
        "fps": round(ours_fps, 1),
        "faces_per_frame": round(result["faces_classified"] / max(1, result["frames_processed"]), 3),
        "cores": ours_cores,
        "frames_per_core_second": round(ours_fps / ours_cores, 1) if ours_cores else None,
    }
    fer["frames_per_core_second"] = round(fer["fps"] / fer["cores"], 1) if fer.get("cores") else None
    per_core = (
        round(ours["frames_per_core_second"] / fer["frames_per_core_second"], 2)
        if ours["frames_per_core_second"] and fer["frames_per_core_second"]
        else None
    )
    return {
        "fer": fer,
        "ours": ours,
        "vs_fer": round(ours_fps / fer["fps"], 2) if fer["fps"] else None,
        "vs_fer_per_core": per_core,
    }


def _ab_rounds(run: BenchRun) -> dict[str, Any]:
    """Interleaved windows without and with viewers on one running pipeline: drift and warm-up cancel out."""
    o = run.opts
    raw: dict[str, list[Window]] = {"without_viewers": [], "with_viewers": []}
    for r in range(o.ab_rounds):
        run.say(f"round {r + 1}/{o.ab_rounds}: {o.seconds:.0f}s without viewers, then {o.seconds:.0f}s with")
        raw["without_viewers"].append(measure(run, o.seconds, None))
        raw["with_viewers"].append(measure(run, o.seconds, Viewers(run)))
    return ab_summary(raw, o, run.detectors)
