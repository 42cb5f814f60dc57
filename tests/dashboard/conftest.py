"""Fixtures that start real dashboard processes (gevent, Flask-SocketIO) against the test Redis."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from moodstream.dashboard.api import SCHEMAS
from moodstream.ops.stack import free_port
from tests.helpers import CliProcess, wait_for, write_config

TOKEN = "test-token-0123456789abcdef"
CHROMIUM = os.environ.get("MOODSTREAM_CHROMIUM", "/usr/bin/chromium")


class Dashboard:
    def __init__(self, proc: CliProcess, port: int, token: str, config: Path) -> None:
        self.proc = proc
        self.port = port
        self.token = token
        self.config = config
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes, dict[str, str]]:
        req = urllib.request.Request(self.url + path)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def json(self, path: str) -> Any:
        status, body, _ = self.get(path, self.token)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def healthy(self) -> bool:
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False


@pytest.fixture
def start_dashboard(tmp_path: Path, redis_base_url: str, prefix: str) -> Iterator[Callable[..., Dashboard]]:
    started: list[Dashboard] = []

    def start(
        name: str = "dashboard",
        token: str = TOKEN,
        cameras: list[dict] | None = None,
        runtime: dict[str, Any] | None = None,
        sections: dict[str, Any] | None = None,
        **dash: Any,
    ) -> Dashboard:
        port = free_port()
        data: dict[str, Any] = {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"dir": str(tmp_path / "run"), "heartbeat_s": 0.5, **(runtime or {})},
            "dashboard": {"enabled": True, "port": port, "token": token, "stats_interval_s": 0.5, **dash},
            **(sections or {}),
            "cameras": cameras or [],
        }
        config = write_config(tmp_path / f"{name}.toml", data)
        proc = CliProcess(config, "dashboard", log_dir=tmp_path, name=name)
        d = Dashboard(proc, port, token, config)
        started.append(d)
        try:
            wait_for(lambda: d.healthy() or not proc.alive(), 30, what=f"{name} to answer")
        except AssertionError:
            raise AssertionError(proc.output()) from None
        assert proc.alive(), proc.output()
        return d

    yield start
    for d in started:
        d.proc.stop()


@pytest.fixture(scope="session")
def schemas() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in SCHEMAS.glob("*.json")}


def validate(schemas: dict[str, dict], name: str, payload: dict) -> None:
    import jsonschema

    if name == "frame" and isinstance(payload["jpeg"], bytes):
        payload = {**payload, "jpeg": "<binary attachment>"}
    jsonschema.validate(payload, schemas[name])


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package (`make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield b
        finally:
            b.close()


def follow_until_done(
    proc: subprocess.Popen[str], dash: Dashboard, publish: Callable[[], None], seconds: float = 60
) -> tuple[str, str]:
    """An example client that exits after N events: once it is connected, publish rounds until it has."""
    try:
        wait_for(lambda: dash.json("/healthz")["clients"] == 1, 30, what="the client to connect")
        deadline = time.monotonic() + seconds
        while proc.poll() is None and time.monotonic() < deadline:
            publish()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.3)  # until it has printed its events and exited
        return proc.communicate(timeout=30)
    finally:
        proc.kill()
