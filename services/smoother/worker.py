"""The smoother loop: raw classifications in, smoothed emotion events out.

Per-camera state lives in Redis, updated under a short per-camera lease and
committed in one transaction with the events it produced and the acks of its
inputs. Any number of instances can therefore share the group, and a
restarted instance carries on exactly where the last one stopped.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

import redis

from ..common.bus import Entry
from ..common.runtime import Stopper, StreamWorker, setup_logging
from ..common.schemas import Classified
from ..common.settings import Settings
from .tracking import CameraState, Smoother, overlay

log = logging.getLogger(__name__)

# Boxes of a camera whose pipeline stopped must not hang over its video for long.
OVERLAY_TTL_S = 5


class SmootherWorker(StreamWorker):
    stage = "smoother"
    read_count = 64

    def __init__(self, settings: Settings, client: redis.Redis | None = None, stopper: Stopper | None = None):
        super().__init__(settings, client, stopper)
        self.smoother = Smoother(settings.smoother)

    def process(self, entries: list[Entry]) -> None:
        by_camera: dict[str, list[tuple[Entry, Classified]]] = defaultdict(list)
        for entry in entries:
            msg = self.decode(entry, Classified)
            if msg is not None:
                by_camera[msg.camera].append((entry, msg))
        for camera, items in by_camera.items():
            items.sort(key=lambda item: item[1].seq)
            with self.bus.camera_lock(self.stage, camera) as got:
                if not got:
                    log.warning(
                        "camera %s: state lease busy; leaving %d entries for retry", camera, len(items)
                    )
                    continue
                state = CameraState.decode(self.bus.load_state(self.stage, camera))
                outputs = []
                skipped = 0
                now = time.time()
                newest: Classified | None = None
                for _, msg in items:
                    if self.smoother.seen_before(state, msg.seq):
                        skipped += 1
                        continue
                    for event in self.smoother.update(state, msg, now):
                        outputs.append((self.out_stream, event.encode()))
                    self.counters.observe_latency((now - msg.ts) * 1000.0)
                    newest = msg
                extra = [] if newest is None else [(self.keys.overlay(camera), overlay(state, newest))]
                self.bus.commit(
                    self.stage,
                    camera,
                    state.encode(),
                    outputs,
                    self.stream,
                    self.group,
                    [e.id for e, _ in items],
                    extra_keys=extra,
                    extra_ttl_s=OVERLAY_TTL_S,
                )
                self.counters.inc("processed", len(items) - skipped)
                self.counters.inc("skipped", skipped)
                self.counters.inc("published", len(outputs))


def run(settings: Settings, client: redis.Redis | None = None, stopper: Stopper | None = None) -> int:
    setup_logging(settings.runtime.log_level)
    return SmootherWorker(settings, client, stopper or Stopper().install()).run()
