"""Alert webhooks: each firing POSTed as JSON to its rule's `webhook_url`, with retries and a timeout.

Delivery runs in its own thread with its own consumer group (`webhook`) on the alert streams, so a slow
or dead receiver never holds up the pipeline, and several alerter instances share deliveries: each
alert is POSTed by one of them (http_post.py: no redirects, one deadline, https). An alert is
acknowledged once delivered, or dead-lettered with the last reason once `[webhook] attempts` tries have
failed (and logged and counted); one left pending by a sender that died is taken over by
another after `[streams] claim_idle_ms`. So delivery is at least once: receivers drop repeats by the
`X-Moodstream-Alert-Id` header (the body's `id`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from moodstream.alerter.http_post import post
from moodstream.config import AlertRule, WebhookSettings
from moodstream.runtime.backoff import Backoff, OnceLog
from moodstream.runtime.metrics import Counters
from moodstream.streams import dead_letters
from moodstream.streams.bus import Bus, Entry
from moodstream.streams.schemas import AlertEvent, SchemaError

log = logging.getLogger(__name__)
GROUP = "webhook"

Stopped = Callable[[], bool]
Wait = Callable[[float], Any]


class WebhookSender:
    def __init__(
        self,
        bus: Bus,
        streams: list[str],
        consumer: str,
        rules: list[AlertRule],
        cfg: WebhookSettings,
        counters: Counters,
        claim_idle_ms: int,
    ) -> None:
        self.bus = bus
        self.streams = streams
        self.consumer = consumer
        self.rules = {rule.name: rule for rule in rules}
        self.cfg = cfg
        self.counters = counters
        self.claim_idle_ms = claim_idle_ms
        self._failed = OnceLog(log, logging.ERROR)

    def prepare(self) -> None:
        """The group starts at the streams' end: alerts from before webhooks were set up are not sent."""
        for stream in self.streams:
            self.bus.ensure_group(stream, GROUP, start="$")

    def run(self, stopped: Stopped, wait: Wait) -> None:
        while not stopped():
            entries = [
                *(
                    e
                    for s in self.streams
                    for e in self.bus.claim_stale(s, GROUP, self.consumer, self.claim_idle_ms)
                ),
                *self.bus.read_batch(self.streams, GROUP, self.consumer, 16, 1000),
            ]
            for entry in entries:
                self.deliver(entry, stopped, wait)
                self.bus.ack(entry.stream, GROUP, [entry.id])

    def deliver(self, entry: Entry, stopped: Stopped, wait: Wait) -> None:
        """Try, back off, try again, up to `attempts`; never raises for the receiver's failures."""
        try:
            alert = AlertEvent.decode(entry.payload or b"")
        except SchemaError as exc:
            log.warning("webhook: skipping an undecodable alert %s: %s", entry.id, exc)
            return
        rule = self.rules.get(alert.rule)
        url = rule.webhook() if rule is not None else ""
        if not url:
            return
        assert rule is not None
        backoff = Backoff(self.cfg.backoff_s, maximum=60.0)
        body = {**alert.public(), "id": entry.id}
        reason = ""
        for attempt in range(1, self.cfg.attempts + 1):
            try:
                post(url, body, entry.id, self.cfg.timeout_s, rule.allow_http, self.cfg.allow_private)
                self.counters.inc("webhooks_sent")
                return
            except OSError as exc:  # WebhookError, and whatever the socket raises
                reason = str(exc)
                log.warning("webhook for alert %s: try %d failed: %s", entry.id, attempt, reason)
            if attempt < self.cfg.attempts and not stopped():
                wait(backoff.next())
        self.counters.inc("webhooks_failed")
        dead_letters.park(self.bus, entry, GROUP, "alerter", f"webhook of rule {alert.rule}: {reason}")
        self._failed(
            alert.rule,
            "webhook of rule %s: gave up on alert %s after %d tries",
            alert.rule,
            entry.id,
            self.cfg.attempts,
        )
