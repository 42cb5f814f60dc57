"""The smoother loop: raw classifications in, smoothed emotion events out.

Per-camera state lives in Redis, updated under a short per-camera lease and
committed in one transaction with the events it produced and the acks of its
inputs. Any number of instances can therefore share the group, and a
restarted instance carries on exactly where the last one stopped.
"""

from __future__ import annotations

import logging
import time

from moodstream.config import Settings
from moodstream.runtime.worker import Stopper, StreamWorker, setup_logging
from moodstream.smoother.tracking import Smoother, overlay
from moodstream.streams.bus import Entry
from moodstream.streams.client import Client
from moodstream.streams.schemas import Classified, SmootherState

log = logging.getLogger(__name__)

# Boxes of a camera whose pipeline stopped must not hang over its video for long.
OVERLAY_TTL_S = 5


class SmootherWorker(StreamWorker):
    stage = "smoother"
    read_count = 64

    def __init__(self, settings: Settings, client: Client | None = None, stopper: Stopper | None = None):
        super().__init__(settings, client, stopper)
        self.smoother = Smoother(settings.smoother)

    def process(self, entries: list[Entry]) -> None:
        for camera, items, saved in self.per_camera(entries, Classified):
            items.sort(key=lambda item: item[1].seq)
            state = self.camera_state(camera, saved, SmootherState)
            outputs = []
            skipped = 0
            now = time.time()
            newest: Classified | None = None
            for _, msg in items:
                if self.smoother.seen_before(state, msg.seq, msg.ts):
                    skipped += 1
                    continue
                outputs += [event.encode() for event in self.smoother.update(state, msg, now)]
                self.counters.observe_latency((now - msg.ts) * 1000.0)
                newest = msg
            shown = [] if newest is None else [(self.keys.overlay(camera), overlay(state, newest).encode())]
            out = self.out_stream(items[0][0])
            self.commit_camera(
                camera,
                state.encode(),
                [e for e, _ in items],
                [(out, payload) for payload in outputs],
                keys=[(key, value, OVERLAY_TTL_S) for key, value in shown],
            )
            self.counters.inc("processed", len(items) - skipped)
            self.counters.inc("skipped", skipped)


def run(settings: Settings, client: Client | None = None, stopper: Stopper | None = None) -> int:
    setup_logging(settings.runtime.log_level)
    return SmootherWorker(settings, client, stopper or Stopper().install()).run()
