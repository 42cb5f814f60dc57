"""Follow moodstream's live events from another app, over Socket.IO.

    pip install "python-socketio[client]"
    python examples/feed_client.py --url "$(moodstream url)" --camera lobby

Prints each emotion and recommendation event of the chosen cameras (all of
them without --camera) as one JSON line. The token is read from the URL's
``?token=`` or from $MOODSTREAM_DASHBOARD_TOKEN.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from urllib.parse import parse_qs, urlsplit

import socketio


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:8050/", help="the dashboard URL (from `moodstream url`)"
    )
    parser.add_argument("--camera", action="append", help="a camera to follow (repeatable; default: all)")
    parser.add_argument("--count", type=int, default=0, help="exit after this many events")
    parser.add_argument("--seconds", type=float, default=0, help="exit after this many seconds")
    args = parser.parse_args()

    parts = urlsplit(args.url)
    token = parse_qs(parts.query).get("token", [os.environ.get("MOODSTREAM_DASHBOARD_TOKEN", "")])[0]
    server = f"{parts.scheme}://{parts.netloc}"

    sio = socketio.Client(reconnection=True)
    done = threading.Event()
    seen = 0

    @sio.on("connect", namespace="/feed")
    def on_connect() -> None:
        # Subscribing again after every (re)connect keeps the subscription across server restarts.
        reply = sio.call("subscribe", {"cameras": args.camera or "*"}, namespace="/feed", timeout=10)
        if not reply.get("ok"):
            print(f"subscription refused: {reply.get('error')}", file=sys.stderr)
            done.set()

    lock = threading.Lock()  # python-socketio runs each handler in a thread of its own

    def on_event(event: dict) -> None:
        nonlocal seen
        with lock:
            if args.count and seen >= args.count:
                return
            print(json.dumps(event), flush=True)
            seen += 1
            if args.count and seen >= args.count:
                done.set()

    sio.on("emotion", on_event, namespace="/feed")
    sio.on("recommendation", on_event, namespace="/feed")

    try:
        sio.connect(server, namespaces=["/feed"], auth={"token": token}, wait_timeout=10)
    except socketio.exceptions.ConnectionError as exc:
        print(f"cannot connect to {server}: {exc}", file=sys.stderr)
        return 1
    try:
        done.wait(args.seconds or None)
    except KeyboardInterrupt:
        pass
    finally:
        sio.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
