"""The CLI with a newcomer's mistakes: each gets one line, `moodstream: error: ...` saying what is wrong
and how to fix it, exit status 2, and no traceback (`--debug` shows it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from moodstream.ops import launcher
from tests.helpers import ROOT, write_config


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOODSTREAM")}
    return subprocess.run(
        [sys.executable, "-m", "moodstream", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def nowhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config whose Redis does not answer."""
    tmp = tmp_path_factory.mktemp("nowhere")
    return write_config(
        tmp / "moodstream.toml",
        {
            "redis": {"url": "redis://127.0.0.1:1/0", "socket_timeout_s": 1},
            "cameras": [{"id": "lobby", "source": "x"}],
        },
    )


def one_error(result: subprocess.CompletedProcess[str], *words: str, status: int = 2) -> str:
    lines = [line for line in result.stderr.splitlines() if not line.startswith("moodstream: config ")]
    assert result.returncode == status and len(lines) == 1, (result.returncode, result.stderr)
    assert lines[0].startswith("moodstream: error: ") and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", [["status"], ["watch"], ["dead"], ["reset"], ["up"]])
def test_an_unreachable_redis(nowhere: Path, command: list[str]) -> None:
    one_error(run(*command, "--config", str(nowhere)), "does not answer", "Redis")


def test_up_that_fails_leaves_nothing_running(nowhere: Path) -> None:
    one_error(run("up", "--config", str(nowhere)), "does not answer")
    assert not (nowhere.parent / ".moodstream" / "supervisord.pid").exists()


def test_bad_paths_and_files(nowhere: Path, tmp_path: Path, sample_video: Path) -> None:
    config = ("--config", str(nowhere))
    one_error(run("replay", str(tmp_path / "missing.msrec"), *config), "not found")
    one_error(run("replay", str(sample_video), *config), "not a moodstream recording")
    one_error(run("replay", str(tmp_path), *config), "Is a directory")
    one_error(run("record", "--camera", "lobby", "--out", str(tmp_path), *config), "is a folder")
    one_error(  # the camera blurs faces (the default) and a recording keeps raw frames
        run("record", "--camera", "lobby", "--out", str(tmp_path / "x.msrec"), *config), "allow_raw_recording"
    )
    one_error(run("evaluate", "fer-vgg32", "--data", str(tmp_path / "nope")), "nope")
    one_error(run("evaluate", "fer-vgg32", "--data", str(tmp_path)), "no folder for split")
    one_error(run("evaluate", "no-such-model"), "no-such-model", "not found")


def test_bad_flags_and_ids() -> None:
    one_error(run("dead", "--count", "-1"), "--count", "above 0")
    one_error(run("replay", "x.msrec", "--speed", "0"), "--speed", "above 0")
    one_error(run("watch", "--camera", "a b"), "bad camera id")
    one_error(run("record", "--camera", "a/b", "--out", "x.msrec"), "bad camera id")
    one_error(run("worker", "nosuchstage"), "invalid choice")
    one_error(run("bench", "--cameras", "zero"), "--cameras")


def test_config_mistakes(tmp_path: Path) -> None:
    one_error(run("status", cwd=tmp_path), "no config file", "--config")
    bad = tmp_path / "bad.toml"
    bad.write_text("[detector]\nscale = 1.1\n")
    one_error(run("status", "--config", str(bad)), "detector.scale: unknown key")
    one_error(run("status", "--config", str(tmp_path / "none.toml")), "not found")


def test_nothing_running_is_said_with_a_status(redis_base_url: str, prefix: str, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "moodstream.toml", {"redis": {"url": redis_base_url, "prefix": prefix}, "cameras": []}
    )
    status = run("status", "--config", str(config))
    assert (
        status.returncode == 1 and "nothing is running" in status.stderr and "Traceback" not in status.stderr
    )
    dead = run("dead", "--config", str(config))
    assert dead.returncode == 0 and "no dead letters" in dead.stderr


def test_debug_shows_the_traceback(nowhere: Path) -> None:
    result = run("status", "--config", str(nowhere), "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_every_flag_has_help() -> None:
    import argparse

    from moodstream.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in sub.choices.items()
        for action in parser._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert missing == []
    shown = subprocess.run(launcher.cli(None, "replay", "--help"), capture_output=True, text=True, cwd=ROOT)
    assert "(default: 1.0)" in shown.stdout  # --speed


def test_every_error_that_means_a_users_mistake_is_a_user_error() -> None:
    """The CLI tells a user's mistake from a bug by one base class, so a new module's error cannot be
    forgotten in a list: each module's own error class derives from it."""
    import importlib

    from moodstream.cli.errors import BUG, USER_ERROR, describe, report
    from moodstream.errors import UserError

    where = {
        "moodstream.config": "ConfigError",
        "moodstream.assets": "AssetError",
        "moodstream.modelspec": "ModelError",
        "moodstream.ops.stack": "StackError",
        "moodstream.cli.errors": "UsageError",
        "moodstream.capture.recording": "RecordingError",
        "moodstream.capture.sources": "SourceError",
        "moodstream.recommender.catalog": "CatalogError",
        "moodstream.ops.devcluster": "ClusterError",
        "moodstream.training.data": "DataError",
    }
    for module, name in where.items():
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, UserError), f"{module}.{name}"
        assert describe(cls("what went wrong, and how to fix it")) == "what went wrong, and how to fix it"
    assert report(UserError("x"), debug=False) == USER_ERROR
    assert describe(KeyError("x")) is None and report(KeyError("x"), debug=False) == BUG
