"""A real clip whose face changes expression every 1.5 s, through real workers: a suggestion within 5 s."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import redis

from moodstream.capture.recording import RecordingWriter
from moodstream.streams import heartbeats
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import EmotionEvent, RecommendationEvent
from tests.helpers import CliProcess, WorkerProcess, wait_for, write_config

FPS = 24.0
TURN = 36  # frames: 1.5 s
# The sample video's crying stretch and its laughing one (labelled by eye: moodstream/bench/labels).
SAD, HAPPY = range(40, 140), range(260, 470)


def alternating_recording(path: Path, video: Path, turns: int) -> Path:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while (read := cap.read())[0]:
        frames.append(read[1])
    cap.release()
    with RecordingWriter(path, "faces", fps=FPS) as out:
        n = 0
        for turn in range(turns):
            stretch = SAD if turn % 2 == 0 else HAPPY
            for i in range(TURN):
                image = frames[stretch[(turn // 2 * TURN + i) % len(stretch)]]
                jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                out.write(1000.0 + n / FPS, image.shape[1], image.shape[0], jpeg, n)
                n += 1
    return path


@pytest.mark.slow
def test_a_face_changing_expression_every_1_5_s_gets_a_suggestion_within_5_s(
    tmp_path: Path, redis_base_url: str, prefix: str, client: redis.Redis, bus: Bus, assets
) -> None:
    rec = alternating_recording(tmp_path / "alt.msrec", assets["samples"] / "WolfgangLanger_Pexels.mp4", 8)
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "cameras": [],
        },
    )
    stages = ("detector", "classifier", "smoother", "recommender")
    workers = [WorkerProcess(config, stage, log_dir=tmp_path, name=stage) for stage in stages]
    wait_for(lambda: len(heartbeats.live(bus)) >= len(stages), 120, what="the workers' heartbeats")
    replay = CliProcess(config, "replay", str(rec), log_dir=tmp_path, name="replay")
    try:
        wait_for(lambda: bus.stream_length(bus.keys.recommendations) >= 1, 60, what="a suggestion")
        first_emotion = EmotionEvent.decode(bus.history(bus.keys.emotions, count=1)[0].payload)
        first_suggestion = RecommendationEvent.decode(
            bus.history(bus.keys.recommendations, count=1)[0].payload
        )
        labels = {EmotionEvent.decode(e.payload).label for e in bus.history(bus.keys.emotions)}
    finally:
        for p in (replay, *workers):
            p.stop()
    assert first_suggestion.ts - first_emotion.ts <= 5.0, (first_emotion.ts, first_suggestion.ts)
    assert len(labels) >= 2, f"the face's label changed along the way ({labels})"
