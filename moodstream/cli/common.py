"""What every command shares: its settings, its Redis, and the checks on its arguments."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from moodstream.config import ConfigError, Settings, config_path, load_settings
from moodstream.runtime.limits import cap_image_decoding
from moodstream.streams import heartbeats

if TYPE_CHECKING:
    from moodstream.streams.bus import Bus

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("moodstream")

NOTHING_RUNS = "moodstream: nothing is running (no worker reports to this Redis and prefix): start it with `moodstream up`"


def load(args: argparse.Namespace, required: bool = True) -> Settings:
    """The deployment's settings; says which file they come from. Commands that act on a deployment
    (``required``) refuse to run on defaults when no config file is there: that is rarely what was meant."""
    explicit = getattr(args, "config", None)
    path = config_path(explicit)
    if required and explicit is None and not path.exists():
        raise ConfigError(
            f"no config file {path} here: run where your moodstream.toml is, pass --config FILE, or set "
            "$MOODSTREAM_CONFIG (docs/configuration.md lists every key)"
        )
    settings = load_settings(explicit)
    cap_image_decoding(settings.streams.max_frame_pixels)  # before any stage loads OpenCV
    # Said to people: not with --json (for scripts), nor by the processes supervisor or a pod runs.
    quiet = getattr(args, "json", False) or getattr(args, "command", "") in ("worker", "dashboard")
    if required and not quiet:
        print(f"moodstream: config {path}", file=sys.stderr)
    return settings


def redis_url(settings: Settings) -> str:
    from moodstream.streams.connection import resolve_url

    url = resolve_url(settings)
    if url is None:
        raise ConfigError("no Redis answers: start the stack with `moodstream up`, or set [redis] url")
    return url


def connect_bus(settings: Settings):  # noqa: ANN202 - imported lazily to keep `--help` fast
    from moodstream.streams.bus import Bus

    return Bus.for_settings(settings, redis_url(settings))


def reporting(bus: Bus, stage: str, within_s: float = 15.0) -> bool:
    """A process of ``stage`` ("*": any) beats; right after `up`, give them a few seconds to start."""
    deadline = time.monotonic() + within_s
    while not heartbeats.live(bus, stage):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)  # polling a condition, with a deadline
    return True


def live_cameras(bus: Bus) -> set[str]:
    """Cameras whose capture worker is running now (it beats)."""

    return {b.detail.camera for b in heartbeats.live(bus) if b.stage == "capture" and b.detail is not None}


def number(
    kind: type[int] | type[float], minimum: float, inclusive: bool, expected: str
) -> Callable[[str], Any]:
    """An argparse type: ``kind`` at least (``inclusive``) or above ``minimum``, finite, said plainly."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        ok = (
            value is not None
            and value < float("inf")
            and (value >= minimum if inclusive else value > minimum)
        )
        if not ok:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


positive_int = number(int, 0, False, "a whole number above 0")
count = number(int, 0, True, "a whole number, 0 or more")
positive_seconds = number(float, 0, False, "a number of seconds above 0")
count_seconds = number(float, 0, True, "a number of seconds, 0 or more")
positive_number = number(float, 0, False, "a number above 0")


def camera_id(text: str) -> str:
    from moodstream.config import CAMERA_ID_RE

    if not CAMERA_ID_RE.match(text):
        raise argparse.ArgumentTypeError(
            f"bad camera id {text!r}: 1 to 64 letters, digits, '_' or '-' (as in [[cameras]] id)"
        )
    return text


def port(text: str) -> int:
    value = count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return value


def partition_list(text: str) -> list[int]:
    try:
        parts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        parts = []
    if not parts or min(parts) < 0:
        raise argparse.ArgumentTypeError(f"expected partition numbers like 0,2, got {text!r}")
    return parts
