"""End to end: real worker processes, real face videos, a real Redis that we restart mid-run."""

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
import redis

from moodstream.ops.stack import free_port
from moodstream.streams.bus import Bus
from moodstream.streams.keys import Keys
from moodstream.streams.schemas import EmotionEvent, RecommendationEvent
from moodstream.streams.stages import NAMES as STAGE_NAMES
from moodstream.streams.stages import STAGES
from tests.helpers import RedisServer, WorkerProcess, moodstream, pipeline_config, wait_for

pytestmark = pytest.mark.slow
CAMERAS = ["lobby", "desk"]  # pipeline_config's cameras


def events(bus: Bus) -> tuple[list[EmotionEvent], list[RecommendationEvent]]:
    emo = [EmotionEvent.decode(e.payload) for e in bus.history(bus.keys.emotions)]
    rec = [RecommendationEvent.decode(e.payload) for e in bus.history(bus.keys.recommendations)]
    return emo, rec


def covers_both(bus: Bus) -> bool:
    emo, rec = events(bus)
    return {e.camera for e in emo} == {"lobby", "desk"} and {r.camera for r in rec} == {"lobby", "desk"}


def test_pipeline_end_to_end_and_redis_restart(tmp_path: Path, assets) -> None:
    server = RedisServer(tmp_path)
    server.start()
    prefix = "e2e"
    config = pipeline_config(tmp_path, server.url, prefix, assets["samples"])
    workers = [  # every stage of the registry; one capture per camera
        WorkerProcess(config, stage.name, camera, log_dir=tmp_path)
        for stage in STAGES
        for camera in (CAMERAS if stage.per_camera else [None])
    ]
    client = redis.Redis.from_url(server.url, socket_timeout=5)
    bus = Bus(client, Keys(prefix))
    try:
        wait_for(
            lambda: covers_both(bus), 120, interval=0.5, what="emotions and recommendations for both cameras"
        )
        emo, rec = events(bus)
        assert all(e.label and 0 <= e.confidence <= 1 and abs(sum(e.probs.values()) - 1) < 0.01 for e in emo)
        assert all(len(r.tracks) == 5 and r.strategy == "uplift" for r in rec)

        server.stop()  # Redis goes away, taking every stream and group with it
        wait_for(
            lambda: all("Redis unavailable" in w.output() for w in workers),
            60,
            interval=0.5,
            what="every worker to notice Redis is gone",
        )
        assert all(w.alive() for w in workers), [w.output()[-2000:] for w in workers if not w.alive()]
        server.start()
        wait_for(
            lambda: covers_both(bus), 120, interval=0.5, what="events for both cameras after the restart"
        )
        assert all(w.alive() for w in workers)
    finally:
        for w in workers:
            w.stop()
        client.close()
        server.stop()


def test_up_status_watch_down(tmp_path: Path, redis_base_url: str, prefix: str, client, assets) -> None:
    config = str(pipeline_config(tmp_path, redis_base_url, prefix, assets["samples"]))
    up = moodstream("up", "--config", config)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        watch = moodstream(
            "watch", "--config", config, "--json", "--count", "4", "--seconds", "120", timeout=150
        )
        lines = [json.loads(line) for line in watch.stdout.splitlines()]
        assert len(lines) == 4 and all(e["type"] in ("emotion", "recommendation") for e in lines)
        for e in lines:
            if e["type"] == "emotion":
                assert {"camera", "ts", "track", "label", "confidence", "probs"} <= set(e)
        status = json.loads(moodstream("status", "--config", config, "--json").stdout)
        for stage in STAGE_NAMES:
            assert status["stages"][stage]["workers"] >= 1, status
        assert {c["camera"] for c in status["cameras"]} == {"lobby", "desk"}
        assert any("capture-lobby" in p and "RUNNING" in p for p in status["processes"])
        again = moodstream("up", "--config", config)
        assert again.returncode == 2 and "already running" in again.stderr
    finally:
        down = moodstream("down", "--config", config)
    assert "stopped" in down.stdout
    assert moodstream("down", "--config", config).stdout.strip() == "moodstream is not running"


def test_bad_config_fails_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[detector]\ninstances = 2\nscale = 1.1\n")
    result = moodstream("status", "--config", str(path))
    assert result.returncode == 2
    assert "detector.scale: unknown key" in result.stderr


def test_up_starts_an_embedded_server_when_asked(tmp_path: Path, assets) -> None:
    """The embedded server wants a generated password that no command line, log or output shows; killed,
    supervisor restarts it (empty: no persistence) and the pipeline flows again, no program left FATAL."""
    web = free_port()
    config = pipeline_config(
        tmp_path,
        "embedded",
        "emb",
        assets["samples"],
        dashboard={
            "enabled": True,
            "port": web,
            "token": "t" * 24,
            "stats_interval_s": 0.5,
            "message_queue": "redis",
        },
        privacy={"retention": "1h"},
    )
    up = moodstream("up", "--config", str(config))
    assert up.returncode == 0, up.stdout + up.stderr
    run = tmp_path / "run"
    try:
        marker = (run / "redis.url").read_text().strip()
        password = (run / "redis.password").read_text().strip()
        assert marker.startswith("redis://:") and not marker.endswith(":6379/0") and len(password) >= 24
        for private in ("redis.url", "redis.password", "redis.conf", "supervisord.conf"):
            assert (run / private).stat().st_mode & 0o077 == 0, private
        port = int(marker.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, socket_timeout=2).xlen("emb:frames")
        client = redis.Redis.from_url(marker, socket_timeout=2)
        watch = moodstream(
            "watch", "--config", str(config), "--json", "--count", "2", "--seconds", "120", timeout=150
        )
        assert len(watch.stdout.splitlines()) == 2, watch.stderr
        commands = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        logs = "".join(p.read_text(errors="replace") for p in (run / "logs").glob("*.log"))
        assert password not in commands + logs + up.stdout + up.stderr
        # Each process connects as its role's ACL user, never as the all-powerful default one.
        users = {c["user"] for c in client.client_list() if c["name"] != "" or c["user"] != "default"}
        assert {"capture", "detector", "classifier", "smoother", "recommender", "alerter", "rollup"} <= users
        assert "dashboard" in users, users
        assert (run / "redis-users.json").stat().st_mode & 0o077 == 0
        req = urllib.request.Request(
            f"http://127.0.0.1:{web}/api/cameras", headers={"Authorization": "Bearer " + "t" * 24}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # the dashboard works under its ACL
            assert {c["camera"] for c in json.loads(resp.read())["cameras"]} == set(CAMERAS)
        status = json.loads(moodstream("status", "--config", str(config), "--json").stdout)
        assert all(stage["errors"] == 0 for stage in status["stages"].values()), status["stages"]

        client.shutdown(nosave=True)  # as a crash would: supervisor restarts it, empty
        bus = Bus(client, Keys("emb"))
        wait_for(lambda: alive(bus), 30, what="supervisor to restart the embedded server")
        wait_for(lambda: bus.stream_length(bus.keys.emotions) > 0, 10, interval=0.2, what="emotions again")
        # The restarted server is STARTING for supervisor's startsecs; then every program is RUNNING.
        wait_for(
            lambda: (states := supervisor_states(config)) and all(v == "RUNNING" for v in states.values()),
            30,
            interval=0.5,
            what="every program RUNNING (none FATAL)",
        )
    finally:
        moodstream("down", "--config", str(config))
    assert not (run / "redis.url").exists()


def alive(bus: Bus) -> bool:
    try:
        return bus.ping()
    except redis.RedisError:
        return False


def supervisor_states(config: Path) -> dict[str, str]:
    status = json.loads(moodstream("status", "--config", str(config), "--json").stdout)
    return {line.split()[0]: line.split()[1] for line in status["processes"]}
