"""``bench --browser-cameras N``: N viewers' webcams (Chromium pages whose camera is a sample video)
sending to the dashboard, with the dashboard's CPU and the pipeline's, from their own clocks.

The browsers stand for viewers on other machines: they run in Linux's SCHED_IDLE class, so they get
only the CPU the dashboard and the pipeline leave. Needs the dev extras (Playwright) and Debian's
chromium (``make browser``).
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from moodstream.bench.pipeline import BenchOptions, BenchRun, _cpu_seconds, _wait_for_dashboard, measure
from moodstream.bench.report import window_result
from moodstream.config import Settings
from moodstream.errors import UserError
from moodstream.streams import heartbeats
from moodstream.streams.schemas import CaptureStatus

CHROMIUM = os.environ.get("MOODSTREAM_CHROMIUM", "/usr/bin/chromium")


def fake_camera_file(video: Path, out: Path) -> Path:
    """The video as YUV4MPEG2 (raw I420), the file Chromium's fake capture device plays in a loop."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    fps = round(cap.get(cv2.CAP_PROP_FPS) or 25)
    with out.open("wb") as f:
        first = True
        while True:
            ok, image = cap.read()
            if not ok:
                return out
            if first:
                h, w = image.shape[:2]
                f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
                first = False
            f.write(b"FRAME\n" + cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())


def _browser_pids() -> list[int]:
    """The browser's processes (all below this one)."""
    me, pids = str(os.getpid()), []
    for proc in Path("/proc").glob("[0-9]*"):
        with suppress(OSError):
            if b"chrom" in (proc / "cmdline").read_bytes() and _descends(proc.name, me):
                pids.append(int(proc.name))
    return pids


def _idle_children() -> None:
    """Every browser process goes to SCHED_IDLE."""
    for pid in _browser_pids():
        with suppress(OSError):
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))


def _descends(pid: str, ancestor: str) -> bool:
    while pid not in ("0", "1"):
        if pid == ancestor:
            return True
        try:
            pid = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            return False
    return False


def _browser_cameras(run: BenchRun) -> dict[str, float]:
    return {
        h.detail.camera: h.rates.get("published", 0.0)
        for h in heartbeats.live(run.bus, "capture")
        if isinstance(h.detail, CaptureStatus) and h.detail.camera.startswith("browser-")
    }


def browser_camera_bench(settings: Settings, pages: int, fps: float, seconds: float) -> dict[str, Any]:
    from moodstream.assets import fetch_all, sample_video

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UserError(
            "bench --browser-cameras drives Chromium with Playwright: pip install -e '.[dev]'"
        ) from None
    if not Path(CHROMIUM).exists():
        raise UserError(f"{CHROMIUM} is missing: make browser")
    fetch_all()
    opts = BenchOptions(
        cameras=0, fps=fps, seconds=seconds, micro=False, dashboard=True, browser_cameras=pages
    )
    run = BenchRun(settings, opts)
    fake = fake_camera_file(sample_video("single_face.mp4"), run.tmp / "face.y4m")
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={fake}",
    ]
    try:
        run.start_pipeline()
        _wait_for_dashboard(run.dashboard_port, run.dashboards[0], run.tmp)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
            _idle_children()
            url = f"http://127.0.0.1:{run.dashboard_port}/?token={run.token}"
            for _ in range(pages):
                page = browser.new_page()
                page.goto(url)
                page.click('[data-action="use-camera"]')
            _idle_children()  # the pages' renderers, started since
            deadline = time.monotonic() + 60
            while len(_browser_cameras(run)) < pages and time.monotonic() < deadline:
                time.sleep(0.5)
            run.say(f"{len(_browser_cameras(run))} browser cameras; warming up {opts.warmup_s:.0f}s")
            time.sleep(opts.warmup_s)
            browsers = {pid: _cpu_seconds(pid) for pid in _browser_pids()}
            w = measure(run, seconds, None)
            rates = _browser_cameras(run)
            browser_cpu = sum(_cpu_seconds(pid) - cpu for pid, cpu in browsers.items())
            browser.close()
        result = window_result(w, opts, run.detectors)
    finally:
        run.close()
    result["cameras"] = len(rates)
    result["browser_cameras_fps"] = {cam: round(r, 1) for cam, r in sorted(rates.items())}
    result["dashboard_cores"] = round(w.cpu_dashboard / w.elapsed, 2)
    result["browser_cores"] = round(browser_cpu / w.elapsed, 2)  # the 4 Chromium pages, same machine
    return result


def format_browser_cameras(result: dict[str, Any]) -> str:
    rates = result["browser_cameras_fps"]
    return "\n".join(
        [
            f"{result['cameras']} browser cameras at {result['fps']:g} fps asked: "
            + ", ".join(f"{c} {r:g} fps" for c, r in rates.items()),
            f"dashboard {result['dashboard_cores']:.2f} cores; pipeline {result['cpu']['cores_busy']:.2f} cores; "
            f"the browsers {result['browser_cores']:.2f} cores; of {result['cpu']['cores']}",
            f"frames published {result['frames_captured']}, skipped {result['frames_skipped']}, "
            f"p95 {result['latency_ms'].get('p95')} ms, emotion events {result['emotion_events']}",
        ]
    )
