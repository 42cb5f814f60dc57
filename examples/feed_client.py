"""Follow moodstream's live events from another app, over Socket.IO.

    pip install "python-socketio[client]"
    python examples/feed_client.py --url "$(moodstream url)" --camera lobby

Prints each emotion and recommendation event of the chosen cameras (all of
them without --camera) as one JSON line. The token is read from the URL's
``?token=`` or from $MOODSTREAM_DASHBOARD_TOKEN.

On the first subscription the dashboard sends each camera's current state first
(marked ``"retained": true``). After a lost connection, the client subscribes
again with ``since``, the id of the last event it printed, and gets what it
missed; an event that comes twice where replay meets live is printed once.
Exit status: 0, or 1 when the dashboard refuses the token or the subscription.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections import OrderedDict
from urllib.parse import parse_qs, urlsplit

import socketio

FEED = "/feed"


class Follower:
    """What this client has printed, so that a new subscription resumes after it."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.printed = 0
        self.last: str | None = None
        self.keys: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self.failure = ""
        self.done = threading.Event()
        self.lock = threading.Lock()  # python-socketio runs each handler in a thread of its own

    def subscription(self, cameras: list[str] | None) -> dict:
        request: dict = {"cameras": cameras or "*"}
        if self.last is not None:
            request["since"] = self.last
        return request

    def on_event(self, event: dict) -> None:
        key = (event["type"], event["camera"], event["id"])
        with self.lock:
            if key in self.keys or (self.count and self.printed >= self.count):
                return
            self.keys[key] = None
            if len(self.keys) > 10_000:
                self.keys.popitem(last=False)
            if self.last is None or _order(event["id"]) > _order(self.last):
                self.last = event["id"]
            print(json.dumps(event), flush=True)
            self.printed += 1
            if self.count and self.printed >= self.count:
                self.done.set()

    def fail(self, message: str) -> None:
        self.failure = message
        self.done.set()


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url",
        default="http://127.0.0.1:8050/",
        help="the dashboard URL, from `moodstream url` (default: %(default)s)",
    )
    parser.add_argument("--camera", action="append", help="a camera to follow (repeatable; default: all)")
    parser.add_argument("--count", type=int, default=0, help="exit after this many events (default: never)")
    parser.add_argument(
        "--seconds", type=float, default=0, help="exit after this many seconds (default: never)"
    )
    return parser.parse_args()


def main() -> int:
    args = _parse()
    parts = urlsplit(args.url)
    token = parse_qs(parts.query).get("token", [os.environ.get("MOODSTREAM_DASHBOARD_TOKEN", "")])[0]
    server = f"{parts.scheme}://{parts.netloc}"
    follower = Follower(args.count)
    sio = socketio.Client(reconnection=True)

    @sio.on("connect", namespace=FEED)
    def on_connect() -> None:
        # Subscribing again after every (re)connect keeps the subscription across server restarts.
        reply = sio.call("subscribe", follower.subscription(args.camera), namespace=FEED, timeout=10)
        if not reply.get("ok"):
            follower.fail(f"subscription refused: {reply.get('error')}")
        elif reply.get("gap"):
            print("some events were missed while disconnected (gap)", file=sys.stderr)

    @sio.on("connect_error", namespace=FEED)
    def on_refused(data: object) -> None:
        message = data.get("message") if isinstance(data, dict) else data
        if "unauthorized" in str(message):
            follower.fail(str(message))  # a wrong token does not get better by retrying

    sio.on("emotion", follower.on_event, namespace=FEED)
    sio.on("recommendation", follower.on_event, namespace=FEED)
    try:
        sio.connect(server, namespaces=[FEED], auth={"token": token}, wait_timeout=10)
    except socketio.exceptions.ConnectionError as exc:
        print(follower.failure or f"cannot connect to {server}: {exc}", file=sys.stderr)
        return 1
    try:
        follower.done.wait(args.seconds or None)
    except KeyboardInterrupt:
        pass
    finally:
        sio.disconnect()
    if follower.failure:
        print(follower.failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
