"""The rollup loop: smoothed emotion events in, each camera's finished 10 s timeline buckets out.

The emotion streams are capped (``[streams] events_maxlen``, shared by a partition's cameras), so they
hold an hour or so of a busy deployment: the dashboard's 1 h and 24 h views read these buckets instead.
The open bucket is the camera's state, committed with each finished bucket (to the camera's timeline
stream) and the acks of its events, so each bucket is written once with any number of instances.
Between reads, it also applies ``[privacy] retention`` to the deployment (streams/retention.py).
"""

from __future__ import annotations

import time

from moodstream.config import Settings
from moodstream.runtime.worker import Stopper, StreamWorker, setup_logging
from moodstream.streams.bus import Entry
from moodstream.streams.client import Client
from moodstream.streams.retention import Retention
from moodstream.streams.schemas import EmotionEvent, RollupState, fold


class RollupWorker(StreamWorker):
    stage = "rollup"
    read_count = 64

    def setup(self) -> None:
        # The timeline's keeper also keeps everything else within ``[privacy] retention``.
        self.retention = Retention(self.bus, self.settings.privacy.retention_s())

    def idle(self) -> None:
        self.retention.maybe_run(time.monotonic())

    def process(self, entries: list[Entry]) -> None:
        for camera, items, saved in self.per_camera(entries, EmotionEvent):
            state = self.camera_state(camera, saved, RollupState)
            buckets: list[bytes] = []
            for _, event in sorted(items, key=lambda item: item[1].ts):
                state.open, closed = fold(state.open, event)
                if closed is not None:
                    buckets.append(closed.encode())
            timeline = self.keys.timeline(camera)
            self.commit_camera(
                camera, state.encode(), [e for e, _ in items], [(timeline, p) for p in buckets]
            )
            self.count_processed([event for _, event in items])


def run(settings: Settings, client: Client | None = None, stopper: Stopper | None = None) -> int:
    setup_logging(settings.runtime.log_level)
    return RollupWorker(settings, client, stopper or Stopper().install()).run()
