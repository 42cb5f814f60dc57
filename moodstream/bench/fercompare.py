"""The ``fer`` library's own frame-by-frame loop, as the peer ``bench --compare-fer`` measures against.

Run as ``python -m moodstream.bench.fercompare VIDEO SECONDS`` with the unpacked ``fer`` package on
``PYTHONPATH`` (moodstream/assets.py: fer_package): one process reads the video (looping) and calls
``FER().detect_emotions(frame)`` on every frame, Haar detection and its bundled TFLite model, as its
README shows: its defaults scan the whole frame at full resolution (scaleFactor 1.1, minNeighbors 5,
faces from 50 px). Prints one JSON line: frames, seconds, fps, faces, faces per frame, and the CPU the
loop used (core-seconds, all threads, by the process's own clock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def fer_loop(video: str, seconds: float) -> dict[str, Any]:
    import cv2
    from fer.fer import FER  # type: ignore[import-not-found]

    detector = FER()
    cap = cv2.VideoCapture(video)
    frames = faces = 0
    detector.detect_emotions(cap.read()[1])  # load and warm the model outside the window
    t0, c0 = time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        faces += len(detector.detect_emotions(frame))
        frames += 1
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "frames": frames,
        "seconds": round(elapsed, 1),
        "fps": round(frames / elapsed, 1),
        "faces": faces,
        "faces_per_frame": round(faces / max(1, frames), 3),
        "core_seconds": round(cpu, 1),
        "cores": round(cpu / elapsed, 2),
        "settings": "Haar on the full frame, scaleFactor 1.1, minNeighbors 5, min face 50 px",
    }


def run_fer(video: Path, seconds: float) -> dict[str, Any]:
    """The loop in a child process, so its TensorFlow and logging stay out of the benchmark's."""
    from moodstream.assets import fer_package

    env = {**os.environ, "PYTHONPATH": str(fer_package()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "moodstream.bench.fercompare", str(video), str(seconds)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 300)
    if proc.returncode != 0:
        raise RuntimeError(f"the fer loop failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(fer_loop(sys.argv[1], float(sys.argv[2]))))
