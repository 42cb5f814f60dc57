"""The /feed namespace and the REST API, against a real dashboard process and real Redis.

Events are published into the public streams with the pipeline's own schemas (what the smoother and
recommender write); the full pipeline feeding a browser is tests/dashboard/test_browser.py.
"""

from __future__ import annotations

import base64
import http.client
import threading
import time
from typing import Any

import pytest
import socketio

from moodstream.streams.bus import Bus
from moodstream.streams.schemas import EMOTIONS, EmotionEvent, RecommendationEvent, Track
from tests.dashboard.conftest import TOKEN, follow_until_done, validate
from tests.helpers import retain_suggestion, wait_for

FEED = "/feed"


class FeedClient:
    """A python-socketio client, as another app would use the feed."""

    def __init__(self, url: str, token: str = TOKEN, *, ack_frames: bool = True) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {
            n: [] for n in ("emotion", "recommendation", "alert", "stats", "frame")
        }
        self.release = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        for name in ("emotion", "recommendation", "alert", "stats"):
            self.sio.on(name, self._collector(name), namespace=FEED)

        def on_frame(frame: dict[str, Any]) -> None:
            self.events["frame"].append(frame)
            if not ack_frames:  # a stalled viewer: never acknowledges (the ack is sent when this returns)
                self.release.wait(60)

        self.sio.on("frame", on_frame, namespace=FEED)
        self.sio.connect(
            url, namespaces=[FEED], auth={"token": token}, wait_timeout=10, transports=["websocket"]
        )

    def _collector(self, name: str):
        def collect(payload: dict[str, Any]) -> None:
            self.events[name].append(payload)

        return collect

    def subscribe(self, **body: Any) -> dict[str, Any]:
        return self.sio.call("subscribe", body, namespace=FEED, timeout=10)

    def close(self) -> None:
        self.release.set()
        self.sio.disconnect()


def sample(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def emotion(camera: str, track: int = 1, label: str = "happy", ts: float | None = None) -> EmotionEvent:
    probs = {e: (0.7 if e == label else 0.05) for e in EMOTIONS}
    return EmotionEvent(
        camera=camera,
        ts=ts or time.time(),
        track=track,
        label=label,
        confidence=0.7,
        probs=probs,
        box=(10, 20, 64, 64),
        seq=1,
        changed=True,
        latency_ms=120.0,
    )


def recommendation(camera: str, emotion_: str = "happy") -> RecommendationEvent:
    track = Track(
        title="Africa",
        artist="TOTO",
        spotify_id="2374M0fQpWi3dLnB54qaLX",
        url="https://open.spotify.com/track/2374M0fQpWi3dLnB54qaLX",
        source="catalog",
        album="Toto IV",
        popularity=80,
        embed_url="https://open.spotify.com/embed/track/2374M0fQpWi3dLnB54qaLX",
        reason="Happy: among the most popular",
    )
    return RecommendationEvent(
        camera=camera, ts=time.time(), emotion=emotion_, strategy="uplift", mood="Happy", tracks=[track]
    )


def test_subscribers_get_their_cameras_only(start_dashboard, bus: Bus, schemas) -> None:
    dash = start_dashboard()
    one = FeedClient(dash.url)
    everyone = FeedClient(dash.url)
    try:
        assert one.subscribe(cameras=["lobby"]) == {
            "ok": True,
            "cameras": ["lobby"],
            "frames": False,
            "max_fps": 10.0,
            "binary": False,
            "retained": 0,
            "replayed": 0,
            "gap": False,
        }
        assert everyone.subscribe(cameras="*")["ok"]
        for camera in ("lobby", "desk", "lobby", "hall"):
            bus.publish(bus.keys.emotions, emotion(camera).encode())
        for camera in ("desk", "lobby"):
            bus.publish(bus.keys.recommendations, recommendation(camera).encode())
        wait_for(
            lambda: len(everyone.events["emotion"]) == 4 and len(everyone.events["recommendation"]) == 2, 10
        )
        wait_for(lambda: len(one.events["emotion"]) == 2 and len(one.events["recommendation"]) == 1, 10)
        # Events arrive in order: once a last one for lobby is in, nothing else is on its way.
        bus.publish(bus.keys.emotions, emotion("lobby", track=999).encode())
        wait_for(lambda: one.events["emotion"][-1]["track"] == 999, 10, what="the closing event")
        wait_for(lambda: everyone.events["emotion"][-1]["track"] == 999, 10, what="the closing event")
        assert {e["camera"] for e in one.events["emotion"]} == {"lobby"}
        assert [e["camera"] for e in one.events["recommendation"]] == ["lobby"]
        assert len(one.events["emotion"]) == 3 and len(everyone.events["emotion"]) == 5
        for e in everyone.events["emotion"]:
            validate(schemas, "emotion", e)
        for r in everyone.events["recommendation"]:
            validate(schemas, "recommendation", r)
        wait_for(lambda: one.events["stats"], 10, what="a stats event")
        validate(schemas, "stats", one.events["stats"][-1])

        # A new subscription replaces the old one, and starts with the desk's current state (its live
        # track's newest emotion, retained).
        reply = one.subscribe(cameras=["desk"])
        assert reply["cameras"] == ["desk"] and reply["retained"] == 1  # its one track (no recommender ran)
        bus.publish(bus.keys.emotions, emotion("lobby").encode())
        bus.publish(bus.keys.emotions, emotion("desk").encode())
        bus.publish(bus.keys.emotions, emotion("desk", track=1000).encode())
        wait_for(lambda: one.events["emotion"][-1]["track"] == 1000, 10, what="the closing event")
        after = one.events["emotion"][3:]
        assert [(e["camera"], e.get("retained", False)) for e in after] == [
            ("desk", True),
            ("desk", False),
            ("desk", False),
        ]
    finally:
        one.close()
        everyone.close()


def test_bad_subscriptions_are_refused_with_a_reason(start_dashboard) -> None:
    dash = start_dashboard()
    c = FeedClient(dash.url)
    try:
        assert c.subscribe(cameras="lobby")["error"].startswith("cameras must be")
        assert "bad camera id" in c.subscribe(cameras=["../etc"])["error"]
        assert "unknown field" in c.subscribe(cameras="*", colour="red")["error"]
        assert "max_fps" in c.subscribe(cameras="*", max_fps=-1)["error"]
        assert c.subscribe(cameras="*", frames=True, max_fps=100)["max_fps"] == 10.0  # capped by the server
        assert c.sio.connected
    finally:
        c.close()


def test_tokens(start_dashboard) -> None:
    dash = start_dashboard()
    with pytest.raises(socketio.exceptions.ConnectionError):
        FeedClient(dash.url, token="wrong-token")
    with pytest.raises(socketio.exceptions.ConnectionError):
        FeedClient(dash.url, token="")
    # The query-string form is refused on the feed: it would sit in proxies' logs.
    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(f"{dash.url}?token={TOKEN}", namespaces=[FEED], wait_timeout=10, transports=["websocket"])

    assert dash.get("/")[0] == 401
    assert dash.get("/?token=wrong")[0] == 401
    # The page's link: its token becomes an HttpOnly cookie, and the address loses it.
    status, headers, _ = raw_get(dash.port, f"/?token={TOKEN}&x=1")
    assert status == 303 and headers["Location"] == "/?x=1"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    session = {"Cookie": cookie.split(";")[0]}
    status, headers, body = raw_get(dash.port, "/", session)
    assert status == 200 and b"tile-template" in body
    assert "frame-src https://open.spotify.com" in headers["Content-Security-Policy"]
    assert raw_get(dash.port, "/api/cameras", session)[0] == 200
    assert raw_get(dash.port, f"/api/cameras?token={TOKEN}")[0] == 401
    sio = socketio.Client(reconnection=False)
    sio.connect(dash.url, headers=session, namespaces=[FEED], wait_timeout=10, transports=["websocket"])
    sio.disconnect()
    assert dash.get("/api/cameras")[0] == 401
    assert dash.get("/api/cameras", token="nope")[0] == 401
    assert dash.get("/metrics")[0] == 401
    assert dash.get("/api/cameras", token=TOKEN)[0] == 200
    assert dash.get("/healthz")[0] == 200  # probes need no token
    assert dash.get("/vendor/socket.io.min.js")[0] == 200


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    """A GET that follows no redirect."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def test_rest_api(start_dashboard, bus: Bus, schemas) -> None:
    dash = start_dashboard()
    now = time.time()
    for i in range(6):  # two tracks, three seconds, 20 s ago
        bus.publish(bus.keys.emotions, emotion("lobby", track=1 + i % 2, ts=now - 20 + i // 2).encode())
    bus.publish(bus.keys.emotions, emotion("desk", label="sad", ts=now - 10).encode())
    bus.publish(bus.keys.emotions, emotion("lobby", label="sad", ts=now - 5).encode())

    tl = dash.json(f"/api/cameras/lobby/timeline?since={now - 30}")
    assert [p["events"] for p in tl["points"]] == [2, 2, 2, 1]
    assert [p["faces"] for p in tl["points"]] == [2, 2, 2, 1]
    assert tl["points"][0]["label"] == "happy" and tl["points"][-1]["label"] == "sad"
    assert abs(sum(tl["points"][0]["probs"].values()) - 1.0) < 0.01
    assert len(dash.json(f"/api/cameras/lobby/timeline?since={now - 8}")["points"]) == 1
    assert dash.json("/api/cameras/nobody/timeline")["points"] == []
    assert dash.get("/api/cameras/lobby/timeline?since=yesterday", TOKEN)[0] == 400
    assert dash.get("/api/cameras/bad%20id/timeline", TOKEN)[0] == 400

    assert dash.get("/api/cameras/lobby/recommendation", TOKEN)[0] == 404
    reco = recommendation("lobby").encode()
    entry_id = retain_suggestion(bus, "lobby", reco)
    got = dash.json("/api/cameras/lobby/recommendation")
    validate(schemas, "recommendation", got)
    assert got["id"] == entry_id
    assert got["tracks"][0]["url"].startswith("https://open.spotify.com/track/")

    assert dash.json("/api/cameras") == {"cameras": []}
    for name in ("emotion", "recommendation", "stats", "frame"):
        assert dash.json(f"/api/schemas/{name}.json") == schemas[name]

    status, body, headers = dash.get("/metrics", TOKEN)
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert 'moodstream_workers{stage="detector"} 0' in text
    assert "# TYPE moodstream_dashboard_frames_sent_total counter" in text
    for line in text.splitlines():  # every sample line is `name{labels} number`
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def test_latest_frame_wins_for_a_stalled_viewer(
    start_dashboard, tmp_path, sample_video, bus: Bus, schemas
) -> None:
    """One viewer stops acknowledging; it holds two frames, and the other viewer still gets ~10 fps."""
    from tests.helpers import WorkerProcess

    # Blurring off: the capture's own frames are shown, with no detector running.
    cameras = [{"id": "cam1", "source": str(sample_video), "fps": 20, "loop": True, "blur_faces": False}]
    dash = start_dashboard(cameras=cameras, frame_ack_timeout_s=60)
    capture = WorkerProcess(dash.config, "capture", "cam1", log_dir=tmp_path)
    stalled = FeedClient(dash.url, ack_frames=False)
    healthy = FeedClient(dash.url)
    try:
        assert stalled.subscribe(cameras=["cam1"], frames=True)["ok"]
        assert healthy.subscribe(cameras="*", frames=True)["ok"]
        wait_for(lambda: len(healthy.events["frame"]) >= 40, 60, what="frames for the healthy viewer")
        # The camera publishes 20 fps and a viewer gets at most 10: it sees about every other frame.
        seqs = [f["seq"] for f in healthy.events["frame"][-30:]]
        gaps = sorted(b - a for a, b in zip(seqs, seqs[1:], strict=False))
        assert gaps[0] >= 1 and 2 <= gaps[len(gaps) // 2] <= 3, seqs
        assert len(stalled.events["frame"]) == 2  # the window: two unacknowledged frames, then nothing

        metrics = dash.get("/metrics", TOKEN)[1].decode()
        sent = sample(metrics, "moodstream_dashboard_frames_sent_total")
        dropped = sample(metrics, "moodstream_dashboard_frames_dropped_total")
        # Everything sent went to the healthy viewer, but two frames; the stalled one's were replaced.
        assert sent - len(healthy.events["frame"]) <= 3
        assert dropped >= 20

        frame = healthy.events["frame"][-1]
        validate(schemas, "frame", frame)
        assert base64.b64decode(frame["jpeg"])[:2] == b"\xff\xd8" and frame["camera"] == "cam1"
        assert frame["width"] > 0 and isinstance(frame["faces"], list)

        # Released, the stalled viewer gets the newest frame next, not the backlog.
        stalled.release.set()
        wait_for(lambda: len(stalled.events["frame"]) >= 3, 10)
        assert stalled.events["frame"][2]["seq"] > stalled.events["frame"][1]["seq"] + 20
    finally:
        stalled.close()
        healthy.close()
        capture.stop()


def test_two_dashboards_share_events_through_the_message_queue(start_dashboard, bus: Bus) -> None:
    first = start_dashboard("first", message_queue="redis")
    second = start_dashboard("second", message_queue="redis")
    a, b = FeedClient(first.url), FeedClient(second.url)
    try:
        a.subscribe(cameras="*")
        b.subscribe(cameras=["lobby"])
        leaders = wait_for(
            lambda: [d for d in (first, second) if d.json("/healthz")["leader"]], 10, what="a bridging leader"
        )
        assert len(leaders) == 1
        for i in range(5):
            bus.publish(bus.keys.emotions, emotion("lobby", track=i + 1).encode())
        bus.publish(bus.keys.emotions, emotion("lobby", track=99).encode())  # the last of the batch
        wait_for(lambda: a.events["emotion"][-1:] and a.events["emotion"][-1]["track"] == 99, 10)
        wait_for(lambda: b.events["emotion"][-1:] and b.events["emotion"][-1]["track"] == 99, 10)
        assert (
            len(a.events["emotion"]) == 6 and len(b.events["emotion"]) == 6
        )  # once each, not once per process

        # The bridging process stops; the other takes over where it left off.
        leader = leaders[0]
        survivor = second if leader is first else first
        client = b if survivor is second else a
        leader.proc.stop()
        wait_for(lambda: survivor.json("/healthz")["leader"], 15, what="the survivor to take over")
        for i in range(3):
            bus.publish(bus.keys.emotions, emotion("lobby", track=10 + i).encode())
        wait_for(lambda: len(client.events["emotion"]) == 9, 10)
        assert sorted(e["track"] for e in client.events["emotion"])[-4:] == [10, 11, 12, 99]
    finally:
        a.close()
        b.close()


def test_dashboard_refuses_to_expose_cameras_without_a_token(start_dashboard, tmp_path) -> None:
    from tests.helpers import CliProcess

    dash = start_dashboard()
    text = (
        dash.config.read_text()
        .replace(f'token = "{TOKEN}"', 'token = ""')
        .replace("enabled = true", 'enabled = true\nhost = "0.0.0.0"')
    )
    config = tmp_path / "exposed.toml"
    config.write_text(text)
    proc = CliProcess(config, "dashboard", log_dir=tmp_path, name="exposed")
    assert proc.proc.wait(30) == 2
    assert "token of at least 16 characters is required" in proc.output()


def test_the_example_feed_client(start_dashboard, bus: Bus) -> None:
    """examples/feed_client.py, as the README and docs/dashboard.md run it."""
    import json
    import subprocess
    import sys

    from tests.helpers import ROOT

    dash = start_dashboard()
    proc = subprocess.Popen(
        [
            sys.executable,
            "examples/feed_client.py",
            "--url",
            f"{dash.url}/?token={TOKEN}",
            "--camera",
            "desk",
            "--count",
            "3",
            "--seconds",
            "60",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def publish() -> None:  # its subscription follows the connection: rounds until it has printed three
        bus.publish(bus.keys.emotions, emotion("lobby").encode())
        bus.publish(bus.keys.emotions, emotion("desk").encode())
        bus.publish(bus.keys.recommendations, recommendation("desk").encode())

    out, err = follow_until_done(proc, dash, publish)
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3, err
    assert {e["camera"] for e in lines} == {"desk"}  # never lobby: it follows only --camera desk
    assert {e["type"] for e in lines} == {"emotion", "recommendation"}
    # A client that disconnects leaves no traceback in the dashboard's log.
    wait_for(lambda: dash.json("/healthz")["clients"] == 0, 30, what="the example to be gone")
    assert "Traceback" not in dash.proc.output(), dash.proc.output()[-3000:]


def test_the_example_feed_client_says_why_it_is_refused(start_dashboard) -> None:
    """A wrong token and a refused subscription: one clear line, exit status 1, no traceback anywhere."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    dash = start_dashboard()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "examples/feed_client.py", "--seconds", "30", *args]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)

    wrong = run("--url", f"{dash.url}/?token=not-the-token")
    assert wrong.returncode == 1 and wrong.stderr.strip() == "unauthorized: wrong or missing token", (
        wrong.stderr
    )
    refused = run("--url", f"{dash.url}/?token={TOKEN}", "--camera", "no such camera")
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.strip().splitlines() == ["subscription refused: bad camera id 'no such camera'"]
    wait_for(lambda: dash.json("/healthz")["clients"] == 0, 30, what="the clients to be gone")
    assert "Traceback" not in dash.proc.output(), dash.proc.output()[-3000:]


def test_malformed_events_are_skipped_and_counted(start_dashboard, bus: Bus, client) -> None:
    dash = start_dashboard()
    c = FeedClient(dash.url)
    try:
        c.subscribe(cameras="*")
        bus.publish(bus.keys.emotions, b"\x93not msgpack at all")
        client.xadd(bus.keys.recommendations, {b"other": b"field"})
        bus.publish(bus.keys.emotions, emotion("lobby", label="fear").encode())
        wait_for(lambda: c.events["emotion"], 10)
        assert c.events["emotion"][0]["label"] == "fear"
        metrics = dash.get("/metrics", TOKEN)[1].decode()
        assert sample(metrics, "moodstream_dashboard_bad_events_total") == 2
        assert dash.healthy()
    finally:
        c.close()


def test_a_failing_bridge_says_so_on_healthz_and_bridges_again_once_fixed(
    start_dashboard, bus: Bus, client
) -> None:
    """A non-connection Redis error (the emotions key holding a string) no longer ends the bridge for good."""
    dash = start_dashboard(runtime={"loop_stall_s": 1.0})
    c = FeedClient(dash.url)
    try:
        c.subscribe(cameras="*")
        client.delete(bus.keys.emotions)
        client.set(bus.keys.emotions, "not a stream")  # XREAD now fails with WRONGTYPE
        wait_for(lambda: dash.get("/healthz")[0] == 503, 30, what="/healthz to report the stalled bridge")
        status, body, _ = dash.get("/healthz")
        assert b"bridge" in body and b"WRONGTYPE" not in body  # states only, no error text
        client.delete(bus.keys.emotions)
        bus.publish(bus.keys.emotions, emotion("lobby", label="surprise").encode())
        wait_for(lambda: c.events["emotion"], 30, what="the bridge to forward again")
        assert c.events["emotion"][-1]["label"] == "surprise"
        wait_for(dash.healthy, 30, what="/healthz to recover")
        assert "bridge loop failed" in dash.proc.output() and "WRONGTYPE" in dash.proc.output()
    finally:
        c.close()
