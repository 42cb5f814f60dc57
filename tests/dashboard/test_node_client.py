"""examples/node/feed_client.mjs, a Node.js app on the feed (socket.io-client from npm), run for real."""

from __future__ import annotations

import json
import shutil
import subprocess

from moodstream.streams.bus import Bus
from tests.dashboard.conftest import TOKEN, follow_until_done
from tests.dashboard.test_feed import emotion, recommendation
from tests.helpers import ROOT, retain_suggestion

EXAMPLE = ROOT / "examples" / "node"


def node(*args: str) -> list[str]:
    binary = shutil.which("node")
    assert binary, "node is not installed (Node.js 18 or newer)"
    assert (EXAMPLE / "node_modules" / "socket.io-client").exists(), (
        "run `make install` (npm ci in examples/node)"
    )
    return [binary, "feed_client.mjs", *args]


def test_the_node_client_gets_the_current_state_then_live_events(start_dashboard, bus: Bus) -> None:
    dash = start_dashboard(cameras=[{"id": "desk", "source": "sample:single_face.mp4"}])
    payload = recommendation("desk", "sad").encode()
    retain_suggestion(bus, "desk", payload)
    command = node(
        "--url", f"{dash.url}/?token={TOKEN}", "--camera", "desk", "--count", "4", "--seconds", "60"
    )
    proc = subprocess.Popen(command, cwd=EXAMPLE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def publish() -> None:
        bus.publish(bus.keys.emotions, emotion("lobby").encode())
        bus.publish(bus.keys.emotions, emotion("desk").encode())

    out, err = follow_until_done(proc, dash, publish)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 4, err
    assert lines[0]["type"] == "recommendation" and lines[0]["retained"] is True
    assert lines[0]["emotion"] == "sad"
    assert {e["camera"] for e in lines} == {"desk"} and all(e["type"] == "emotion" for e in lines[1:])
    assert len({e["id"] for e in lines}) == 4


def test_the_node_client_says_why_it_is_refused(start_dashboard) -> None:
    dash = start_dashboard()
    wrong = subprocess.run(
        node("--url", f"{dash.url}/?token=nope", "--seconds", "30"),
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 1 and wrong.stderr.strip() == "unauthorized: wrong or missing token", (
        wrong.stderr
    )
