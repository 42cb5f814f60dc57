"""The alerter loop: smoothed emotion events in, alert events out, and each firing POSTed to its rule's
webhook by a thread of its own.

Each camera's holds (since when each face has shown a rule's emotion) are its state, committed with the
alerts and the acks of their events, so a firing is published exactly once with any number of instances.
"""

from __future__ import annotations

import logging
import threading

from moodstream.alerter.rules import evaluate
from moodstream.alerter.webhook import WebhookSender
from moodstream.config import Settings
from moodstream.runtime.liveness import guarded
from moodstream.runtime.worker import Stopper, StreamWorker, setup_logging
from moodstream.streams.bus import Entry
from moodstream.streams.client import Client
from moodstream.streams.schemas import AlerterState, EmotionEvent

log = logging.getLogger(__name__)


class AlerterWorker(StreamWorker):
    stage = "alerter"
    read_count = 64

    def setup(self) -> None:
        if any(rule.webhook() for rule in self.settings.alerts):
            self._start_webhooks()

    def _start_webhooks(self) -> None:
        """Alert webhooks in a thread of their own: a slow receiver never holds up the pipeline."""
        sender = WebhookSender(
            self.bus,
            [self._outputs[stream] for stream in self.streams],
            self.rt.worker,
            self.settings.alerts,
            self.settings.webhook,
            self.counters,
            self.settings.streams.claim_idle_ms,
        )
        sender.prepare()
        loop = guarded("webhook", sender.run, self.rt.liveness)
        stopper = self.rt.stopper
        threading.Thread(
            target=loop, args=(stopper.is_set, stopper.wait), name="webhook", daemon=True
        ).start()

    def process(self, entries: list[Entry]) -> None:
        for camera, items, saved in self.per_camera(entries, EmotionEvent):
            state = self.camera_state(camera, saved, AlerterState)
            alerts: list[bytes] = []
            for _, event in sorted(items, key=lambda item: item[1].ts):
                for alert in evaluate(self.settings.alerts, state.holds, event):
                    alerts.append(alert.encode())
                    since = alert.ts - alert.since
                    log.warning(
                        "camera %s: alert %s (%s for %.1f s)", camera, alert.rule, alert.emotion, since
                    )
            out = self.out_stream(items[0][0])
            self.commit_camera(camera, state.encode(), [e for e, _ in items], [(out, p) for p in alerts])
            self.counters.inc("alerts", len(alerts))
            self.count_processed([event for _, event in items])


def run(settings: Settings, client: Client | None = None, stopper: Stopper | None = None) -> int:
    setup_logging(settings.runtime.log_level)
    return AlerterWorker(settings, client, stopper or Stopper().install()).run()
