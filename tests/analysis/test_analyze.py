"""``moodstream analyze`` on real media: its rows and formats, its errors, and agreement with the live
pipeline frame for frame."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis

from moodstream.analysis.run import Analyzer
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import Classified, EmotionEvent
from tests.helpers import CliProcess, WorkerProcess, face_recording, moodstream, wait_for, write_config

FRAMES = 120


def test_a_video_gives_one_row_per_face_per_frame_in_each_format(tmp_path: Path, sample_video: Path) -> None:
    outs = [tmp_path / f"rows.{suffix}" for suffix in ("csv", "jsonl", "parquet")]
    for out in outs:
        run = moodstream("analyze", str(sample_video), "--out", str(out), timeout=300)
        assert run.returncode == 0, run.stderr
    with outs[0].open() as f:
        rows = list(csv.DictReader(f))
    lines = [json.loads(line) for line in outs[1].read_text().splitlines()]
    import pyarrow.parquet as pq

    table = pq.read_table(outs[2]).to_pylist()
    assert len(rows) == len(lines) == len(table) > 100
    first = lines[0]
    assert set(first) == {"frame", "t", "track", "box", "landmarks", "probs", "label", "smoothed"}
    assert (
        first["frame"] == 0
        and first["t"] == 0.0
        and len(first["probs"]) == 7
        and len(first["landmarks"]) == 6
    )
    assert json.loads(rows[0]["box"]) == first["box"] == table[0]["box"]
    assert any(line["smoothed"] for line in lines), "the smoothed label settles once enough frames voted"
    assert [line["frame"] for line in lines] == sorted(line["frame"] for line in lines)


def test_images_and_folders_are_unrelated_pictures(tmp_path: Path, assets) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    for name in ("multi_face.jpg", "single_face.jpg"):
        shutil.copy(assets["samples"] / name, folder / name)
    out = tmp_path / "rows.jsonl"
    run = moodstream("analyze", str(folder), "--out", str(out), "--annotate", str(tmp_path / "a.mp4"))
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["frame"] for row in lines].count(0) == 5 and [row["frame"] for row in lines].count(1) == 1
    assert all(row["smoothed"] == row["label"] for row in lines), "nothing is smoothed across pictures"
    cap = cv2.VideoCapture(str(tmp_path / "a.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 2
    # Faces are blurred in the annotated video, as on the page ([privacy] blur_faces, the default).
    ok, annotated = cap.read()
    original = cv2.imread(str(folder / "multi_face.jpg"))[: annotated.shape[0], : annotated.shape[1]]
    assert ok and annotated.shape == original.shape  # MP4 keeps even sizes
    for row in (r for r in lines if r["frame"] == 0):
        x, y, w, h = row["box"]
        inner = np.s_[y + h // 4 : y + h - h // 4, x + w // 4 : x + w - w // 4]
        detail = [
            cv2.Laplacian(cv2.cvtColor(i[inner], cv2.COLOR_BGR2GRAY), cv2.CV_32F).var()
            for i in (annotated, original)
        ]
        assert detail[0] < 0.3 * detail[1], detail


@pytest.mark.parametrize(
    "args, message",
    [
        (["/nonexistent.mp4", "--out", "x.csv"], "/nonexistent.mp4: no such file or folder"),
        (["{video}", "--out", "x.txt"], "name a .csv, .jsonl, .parquet file"),
        (["{video}", "--out", "x.csv", "--annotate", "x.avi"], "x.avi: name an .mp4 file"),
        (["{empty}", "--out", "x.csv"], "no images"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, sample_video: Path, args: list[str], message: str
) -> None:
    (tmp_path / "empty").mkdir()
    filled = [a.format(video=sample_video, empty=tmp_path / "empty") for a in args]
    filled = [str(tmp_path / a) if a.startswith("x.") else a for a in filled]
    run = moodstream("analyze", *filled)
    assert run.returncode != 0 and message in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_analyze_and_the_live_pipeline_agree_frame_for_frame(
    tmp_path: Path,
    redis_base_url: str,
    prefix: str,
    client: redis.Redis,
    bus: Bus,
    sample_video: Path,
    make_settings,
) -> None:
    """The same recording, replayed through real workers and analysed in one process: the same faces,
    the same per-frame labels, and the same smoothed label wherever the smoother spoke."""
    rec = face_recording(tmp_path / "r.msrec", sample_video, FRAMES)
    expected = {frame.index: rows for frame, rows in Analyzer(make_settings()).rows(rec)}
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "cameras": [],
        },
    )
    workers = [
        WorkerProcess(config, stage, log_dir=tmp_path, name=stage)
        for stage in ("detector", "classifier", "smoother")
    ]
    replay = CliProcess(config, "replay", str(rec), "--speed", "4", log_dir=tmp_path, name="replay")
    try:
        wait_for(
            lambda: bus.stream_length(bus.keys.classified) >= FRAMES,
            300,
            interval=0.5,
            what="every frame classified",
        )
        classified = [Classified.decode(e.payload) for e in bus.history(bus.keys.classified)]
        events = [EmotionEvent.decode(e.payload) for e in bus.history(bus.keys.emotions)]
    finally:
        for p in (replay, *workers):
            p.stop()
    assert [c.seq for c in classified] == list(range(FRAMES))
    for msg in classified:
        rows = expected[msg.seq]
        assert [list(f.box) for f in msg.faces] == [r.box for r in rows], f"frame {msg.seq}"
        assert [f.label() for f in msg.faces] == [r.label for r in rows], f"frame {msg.seq}"
    assert events, "the smoother spoke"
    for event in events:
        row = next(r for r in expected[event.seq] if r.track == event.track)
        assert row.smoothed == event.label, f"frame {event.seq}, track {event.track}"
