"""A Redis that wants a password: given in the URL, in [redis] password or $MOODSTREAM_REDIS_PASSWORD."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from moodstream.ops import launcher
from moodstream.ops.stack import free_port
from moodstream.streams.connection import with_password
from tests.helpers import ROOT, wait_for, write_config

PASSWORD = 'p@ss%w"rd/1'


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[int]:
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    assert binary, "no redis-server (or valkey-server) on PATH to start a password-protected server"
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            PASSWORD,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, password=PASSWORD, socket_timeout=0.5)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    try:
        wait_for(up, 10, what="the password-protected server")
        yield port
    finally:
        proc.kill()
        proc.wait(10)


def test_the_password_reaches_every_tool_and_is_never_printed(tmp_path: Path, locked_redis: int) -> None:
    config = write_config(
        tmp_path / "moodstream.toml",
        {"redis": {"url": f"redis://127.0.0.1:{locked_redis}/0", "prefix": "auth"}, "cameras": []},
    )

    def cli(*args: str, password: str | None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "MOODSTREAM_REDIS_PASSWORD"}
        if password is not None:
            env["MOODSTREAM_REDIS_PASSWORD"] = password
        return subprocess.run(
            launcher.cli(config, *args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    assert cli("status", "--json", password=None).returncode != 0
    ok = cli("status", "--json", password=PASSWORD)  # let in: it reports, and that nothing runs there
    assert ok.returncode == 1 and json.loads(ok.stdout)["stages"], ok.stderr[-2000:]
    assert "nothing is running" in ok.stderr and "refused" not in ok.stderr
    shown = cli("config", password=PASSWORD).stdout
    assert PASSWORD not in shown and '"password": "***"' in shown


def test_a_password_goes_into_a_url_that_has_none() -> None:
    assert with_password("redis://h:6379/0", "a b@c") == "redis://:a%20b%40c@h:6379/0"
    assert with_password("redis://:own@h:6379/0", "other") == "redis://:own@h:6379/0"
    assert with_password("unix:///run/redis.sock", "x") == "unix:///run/redis.sock"
    assert with_password("redis://h:6379/0", "") == "redis://h:6379/0"


def test_a_redis_that_merely_answers_on_the_default_port_is_not_used(tmp_path, redis_base_url) -> None:
    """Whatever answers on 127.0.0.1:6379 is never used unnamed: a local user could have bound it."""
    from moodstream.config import settings_from_dict
    from moodstream.streams.connection import resolve_url

    settings = settings_from_dict({"redis": {"url": ""}, "runtime": {"dir": str(tmp_path / "run")}})
    assert resolve_url(settings) is None  # `up` starts its own embedded server
    named = settings_from_dict({"redis": {"url": "redis://127.0.0.1:6379"}})
    assert resolve_url(named) == "redis://127.0.0.1:6379"
