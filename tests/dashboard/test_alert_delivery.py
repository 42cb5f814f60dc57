"""An alert rule end to end: two real alerter instances, a real HTTP server as the webhook (which
fails the first POST), a real dashboard and feed client, `watch` and the REST API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from moodstream.dashboard.api import SCHEMAS
from moodstream.ops.stack import free_port
from moodstream.streams import consumer_groups, heartbeats
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import AlertEvent
from tests.dashboard.test_feed import FeedClient, emotion
from tests.helpers import WorkerProcess, moodstream, wait_for, write_config

SCHEMA = json.loads((SCHEMAS / "alert.json").read_text())


class Webhook:
    """Records every POST; answers 500 to the first one, as a receiver having a bad moment would."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.posts.append((dict(self.headers), body))
                self.send_response(500 if len(hook.posts) == 1 else 204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/moodstream"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def test_an_alert_fires_once_and_reaches_the_webhook_the_feed_watch_and_the_api(
    start_dashboard, bus: Bus, webhook: Webhook, tmp_path: Path, redis_base_url: str, prefix: str
) -> None:
    rule = {"name": "distress", "emotions": ["angry", "fear"], "for_s": 10, "cooldown_s": 600}
    config = write_config(
        tmp_path / "moodstream.toml",
        {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"heartbeat_s": 0.5, "dir": str(tmp_path / "run")},
            "alerts": [{**rule, "webhook_url": webhook.url}],
            "webhook": {"backoff_s": 0.2, "timeout_s": 5},
            "cameras": [],
        },
    )
    workers = [WorkerProcess(config, "alerter", log_dir=tmp_path, name=f"alerter-{i}") for i in (1, 2)]
    dash = start_dashboard()
    viewer = FeedClient(dash.url)
    try:
        assert viewer.subscribe(cameras="*")["ok"]
        wait_for(lambda: _groups_ready(bus), 60, what="both alerters")
        t0 = time.time() - 60
        angry = [emotion("lobby", label="angry", ts=t0 + i * 0.5).encode() for i in range(30)]  # 15 s
        bus.publish_many(bus.keys.emotions, angry)
        alerts = wait_for(lambda: bus.history(bus.keys.alerts), 60, what="the alert")
        posts = wait_for(lambda: len(webhook.posts) >= 2 and webhook.posts, 60, what="the webhook, retried")
        # More of the same within the cooldown: processed, and no second alert.
        bus.publish_many(
            bus.keys.emotions,
            [emotion("lobby", label="angry", ts=t0 + 15 + i * 0.5).encode() for i in range(30)],
        )
        wait_for(lambda: _drained(bus), 60, what="the alerters to process everything")
        assert len(bus.history(bus.keys.alerts)) == 1 == len(alerts)
        fired = AlertEvent.decode(alerts[0].payload)
        assert (fired.rule, fired.camera, fired.emotion, fired.ts - fired.since) == (
            "distress",
            "lobby",
            "angry",
            10.0,
        )
        headers, body = posts[-1]
        assert [p[1] for p in posts] == [body, body] and len(webhook.posts) == 2  # the 500, then delivered
        assert headers["X-Moodstream-Alert-Id"] == body["id"] == alerts[0].id
        assert headers["Content-Type"] == "application/json"
        jsonschema.validate(body, SCHEMA)
        got = wait_for(lambda: viewer.events["alert"], 10, what="the alert on the feed")
        assert got == [body]
        assert dash.json("/api/alerts")["alerts"] == [body]
        assert dash.json(f"/api/alerts?since={time.time()}")["alerts"] == []
        total = sum(bus.stream_length(bus.keys.stream(n)) for n in ("emotions", "recommendations", "alerts"))
        watch = moodstream("watch", "--config", str(config), "--json", "--from-start", "--count", str(total))
        assert [json.loads(line) for line in watch.stdout.splitlines() if '"alert"' in line] == [body]
    finally:
        viewer.close()
        for worker in workers:
            worker.stop()
    for worker in workers:
        assert "Traceback" not in worker.output(), worker.output()[-3000:]
        assert webhook.url not in worker.output()  # a webhook URL may hold a secret: never logged


def _groups_ready(bus: Bus) -> bool:
    """Both alerters in their loop (they beat after each read)."""

    return sum(beat.stage == "alerter" for beat in heartbeats.live(bus)) >= 2


def _drained(bus: Bus) -> bool:
    info = consumer_groups.info(bus, bus.keys.emotions, "alerter")
    return info["lag"] == 0 and info["pending"] == 0
