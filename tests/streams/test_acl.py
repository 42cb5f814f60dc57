"""Each role's ACL user, on a real server: what it needs works, a write outside its keys is refused."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from moodstream.ops.stack import free_port
from moodstream.streams.acl import ROLES, acl_line
from moodstream.streams.client import answers
from moodstream.streams.keys import Keys
from tests.helpers import Process, RedisServer, moodstream, wait_for, write_config

KEYS = Keys("acl", 2)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path)
    srv.start()
    admin = redis.Redis.from_url(srv.url)
    for role in ROLES:
        admin.execute_command("ACL", "SETUSER", *acl_line(KEYS, role, f"pw-{role}").split()[1:])
    yield srv
    srv.stop()


def as_role(server: RedisServer, role: str) -> redis.Redis:
    return redis.Redis(port=server.port, username=role, password=f"pw-{role}", socket_timeout=5)


def refused(call) -> bool:
    try:
        call()
    except redis.exceptions.NoPermissionError:
        return True
    return False


def test_each_role_writes_only_its_own_keys(server: RedisServer) -> None:
    cam = "lobby"
    emotions, frames = KEYS.camera_stream("emotions", cam), KEYS.camera_stream("frames", cam)
    dashboard = as_role(server, "dashboard")
    assert refused(lambda: dashboard.xadd(emotions, {"d": b"forged"})), "the dashboard forged an emotion"
    assert refused(lambda: dashboard.set(KEYS.latest_recommendation(cam), b"forged"))
    assert refused(lambda: dashboard.publish("elsewhere", b"x"))
    assert refused(lambda: dashboard.xadd(frames, {"d": b"forged"})), "frames are the webcams user's"
    as_role(server, "webcams").xadd(frames, {"d": b"a viewer's webcam"})
    assert refused(lambda: as_role(server, "webcams").xadd(emotions, {"d": b"forged"}))
    dashboard.set(KEYS.watched(cam), b"1", ex=5)  # what it does write
    dashboard.publish(KEYS.dashboard_channel(), b"event")
    assert dashboard.xrange(emotions) == []  # and reads

    capture = as_role(server, "capture")
    capture.xadd(frames, {"d": b"frame"})
    assert refused(lambda: capture.xadd(emotions, {"d": b"forged"}))
    assert refused(lambda: capture.set(KEYS.spotify_search("x"), b"poison"))

    detector = as_role(server, "detector")
    assert refused(lambda: detector.set(KEYS.latest_recommendation(cam), b"forged"))
    assert refused(lambda: detector.xadd(KEYS.camera_stream("alerts", cam), {"d": b"forged"}))
    detector.xadd(KEYS.camera_stream("detections", cam), {"d": b"ok"})

    smoother = as_role(server, "smoother")
    assert refused(lambda: smoother.xadd(KEYS.camera_stream("alerts", cam), {"d": b"forged"}))
    recommender = as_role(server, "recommender")
    recommender.set(KEYS.spotify_search("x"), b"cache", ex=5)
    assert refused(lambda: recommender.xadd(KEYS.camera_stream("alerts", cam), {"d": b"forged"}))

    tools = as_role(server, "tools")
    tools.xadd(frames, {"d": b"replayed"})
    assert refused(lambda: tools.flushall()) and refused(lambda: tools.config_get("*"))
    assert refused(lambda: tools.set("other-deployment:key", b"x"))


def test_redis_acl_prints_the_users_for_an_external_redis(tmp_path: Path) -> None:
    config = write_config(tmp_path / "ms.toml", {"redis": {"prefix": "acl"}, "streams": {"partitions": 2}})
    env = {f"MOODSTREAM_REDIS_PASSWORD_{role.upper()}": f"pw-{role}" for role in ROLES}
    env["MOODSTREAM_REDIS_PASSWORD"] = "pw-admin"
    done = moodstream("--config", str(config), "redis-acl", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("user ")] == ["default", *ROLES]
    assert "pw-dashboard" not in done.stdout  # only the passwords' SHA-256
    # A real redis-server loads it as its ACL file.
    (tmp_path / "users.acl").write_text(done.stdout)
    port = free_port()
    server = Process(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--aclfile", str(tmp_path / "users.acl"), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        tmp_path, "redis-acl",
    )  # fmt: skip
    try:
        detector = redis.Redis(port=port, username="detector", password="pw-detector", socket_timeout=2)
        wait_for(
            lambda: answers(f"redis://default:pw-admin@127.0.0.1:{port}/0"),
            20,
            what="redis with the ACL file",
        )
        detector.xadd(KEYS.camera_stream("detections", "lobby"), {"d": b"ok"})
        assert refused(lambda: detector.xadd(KEYS.camera_stream("emotions", "lobby"), {"d": b"forged"}))
    finally:
        server.stop()
    missing = moodstream("--config", str(config), "redis-acl", env={})
    assert missing.returncode == 2 and "MOODSTREAM_REDIS_PASSWORD_CAPTURE" in missing.stderr
