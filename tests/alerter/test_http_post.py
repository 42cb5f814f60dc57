"""Webhook POSTs against real local HTTP servers that misbehave: they redirect, drip and flood."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from moodstream.alerter.http_post import MAX_RESPONSE_BYTES, WebhookError, check_url, post
from moodstream.alerter.webhook import GROUP, WebhookSender
from moodstream.config import AlertRule, WebhookSettings
from moodstream.runtime.metrics import Counters
from moodstream.streams import dead_letters
from moodstream.streams.bus import Bus
from moodstream.streams.schemas import AlertEvent
from tests.helpers import wait_for


class Receiver:
    """A real HTTP server whose answer to each request is ``answer(handler)``; records what it got."""

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.write_failed = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                receiver.requests.append((self.command, self.path, self.rfile.read(size)))
                try:
                    answer(self)
                except OSError:  # the client hung up on us: what a bounded reader does to a flood
                    receiver.write_failed.set()

            do_POST = do_GET = _record  # noqa: N815 - the http.server API

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], Receiver]]:
    made: list[Receiver] = []

    def make(answer: Callable[[BaseHTTPRequestHandler], None]) -> Receiver:
        made.append(Receiver(answer))
        return made[-1]

    yield make
    for r in made:
        r.close()


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Callable[..., None]:
    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(code)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return answer


def send(url: str, timeout_s: float = 2.0, allow_http: bool = False, allow_private: bool = False) -> int:
    return post(url, {"type": "alert"}, "1-1", timeout_s, allow_http, allow_private)


def test_a_delivered_post_carries_the_alert(receiver) -> None:
    hook = receiver(status(204))
    assert send(hook.url + "/hooks?x=1") == 204
    assert hook.requests == [("POST", "/hooks?x=1", json.dumps({"type": "alert"}).encode())]


def test_a_redirect_is_a_failure_and_is_not_followed(receiver) -> None:
    target = receiver(status(200))
    hook = receiver(status(302, {"Location": target.url + "/internal"}))
    with pytest.raises(WebhookError, match="HTTP 302: redirects are not followed"):
        send(hook.url)
    assert target.requests == [], "the redirect was followed"


def test_one_deadline_covers_a_dripping_answer(receiver) -> None:
    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        for _ in range(100):
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.3)  # the misbehaving receiver's own pace, not the test's synchronisation

    hook = receiver(drip)
    started = time.monotonic()
    with pytest.raises(WebhookError, match="no complete answer within 1 s"):
        send(hook.url, timeout_s=1.0)
    assert time.monotonic() - started < 5, "each read's timeout was applied, not one deadline"


def test_at_most_64_kib_of_a_flood_is_read(receiver) -> None:
    def flood(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(64 * 1024 * 1024))
        h.end_headers()
        chunk = b"x" * 65536
        for _ in range(1024):
            h.wfile.write(chunk)

    hook = receiver(flood)
    assert send(hook.url, timeout_s=10) == 200
    wait_for(hook.write_failed.is_set, 10, what="the flood cut off after the first 64 KiB")
    assert MAX_RESPONSE_BYTES == 64 * 1024


def test_plain_http_and_private_addresses_are_refused() -> None:
    with pytest.raises(WebhookError, match="must be https://"):
        check_url("http://hooks.example.org/x", allow_http=False)
    check_url("http://hooks.example.org/x", allow_http=True)
    check_url("http://127.0.0.1:9/x", allow_http=False)  # loopback
    for url in ("https://169.254.169.254/latest/meta-data", "https://10.1.2.3/hook", "https://[fd00::1]/h"):
        with pytest.raises(WebhookError, match="private, link-local or metadata"):
            send(url)


def test_a_rule_refuses_a_plain_http_url_in_one_line() -> None:
    with pytest.raises(ValueError, match="must be https://"):
        AlertRule(emotions=["sad"], webhook_url="http://hooks.example.org/x")
    AlertRule(emotions=["sad"], webhook_url="http://hooks.example.org/x", allow_http=True)


def test_an_alert_that_cannot_be_delivered_is_dead_lettered_with_the_reason(receiver, bus: Bus) -> None:
    hook = receiver(status(301, {"Location": "https://elsewhere.example/"}))
    rule = AlertRule(name="sad-long", emotions=["sad"], webhook_url=hook.url)
    stream = bus.keys.alerts
    sender = WebhookSender(
        bus, [stream], "c1", [rule], WebhookSettings(attempts=2, backoff_s=0.01), Counters(), 60_000
    )
    sender.prepare()
    alert = AlertEvent(
        camera="desk", ts=10.0, rule="sad-long", emotion="sad", track=1, since=5.0, confidence=0.9
    )
    bus.publish(stream, alert.encode())
    (entry,) = bus.read_batch([stream], GROUP, "c1", 10, 1000)
    sender.deliver(entry, lambda: False, lambda _s: None)
    (letter,) = dead_letters.newest(bus, 1)
    assert letter.group == GROUP and "HTTP 301: redirects are not followed" in letter.reason
    assert len(hook.requests) == 2 and all(method == "POST" for method, _, _ in hook.requests)
    assert sender.counters.snapshot().counters["webhooks_failed"] == 1
