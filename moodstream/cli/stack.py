"""Running a deployment: start and stop it, one worker or the dashboard alone, its address, a probe."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from moodstream.cli import common
from moodstream.config import ConfigError, config_path
from moodstream.streams.stages import NAMES as STAGE_NAMES

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("moodstream")


def cmd_up(args: argparse.Namespace) -> int:
    from moodstream.ops import stack

    settings = common.load(args)
    path = config_path(getattr(args, "config", None))
    url = stack.up(
        settings,
        path,
        join=args.join,
        progress=lambda message: print(f"moodstream: {message}…", file=sys.stderr),
    )
    from moodstream.runtime.redact import redact

    print(f"moodstream is up: {len(settings.cameras)} camera(s), Redis at {redact(url)}")
    dashboard = stack.dashboard_url(settings)
    if dashboard:
        print(f"  dashboard: {dashboard}")
    print(f"  logs:    {stack.run_dir(settings) / 'logs'}")
    print(f"  watch:   moodstream watch --config {path}")
    print(f"  status:  moodstream status --config {path}")
    print(f"  stop:    moodstream down --config {path}")
    return 0


def _add_up(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("up", parents=[parent], help="start the whole stack under supervisor")
    p.add_argument(
        "--join",
        action="store_true",
        help="add this host's workers to a deployment running elsewhere on the same Redis and prefix",
    )
    p.set_defaults(fn=cmd_up)


def cmd_down(args: argparse.Namespace) -> int:
    from moodstream.ops import stack

    if stack.down(common.load(args)):
        print("moodstream stopped")
    else:
        print("moodstream is not running")
    return 0


def _add_down(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("down", parents=[parent], help="stop the stack")
    p.set_defaults(fn=cmd_down)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from moodstream.dashboard.server import run

    settings = common.load(args)
    if args.host:
        settings.dashboard.host = args.host
    if args.port is not None:
        settings.dashboard.port = args.port
    return run(settings)


def _add_dashboard(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("dashboard", parents=[parent], help="run the web dashboard and Socket.IO feed alone")
    p.add_argument("--host", help="override [dashboard] host")
    p.add_argument("--port", type=common.port, help="override [dashboard] port")
    p.set_defaults(fn=cmd_dashboard)


def cmd_url(args: argparse.Namespace) -> int:
    from moodstream.ops import stack

    settings = common.load(args)
    url = stack.dashboard_url(settings)
    if url is None:
        print("moodstream: the dashboard is disabled ([dashboard] enabled = false)", file=sys.stderr)
        return 1
    if not common.reporting(common.connect_bus(settings), "dashboard"):
        print("moodstream: the dashboard is not running: start it with `moodstream up`", file=sys.stderr)
        return 1
    print(url)
    return 0


def _add_url(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("url", parents=[parent], help="print the dashboard URL, with its token")
    p.set_defaults(fn=cmd_url)


def cmd_worker(args: argparse.Namespace) -> int:
    from moodstream.streams.stages import stage_named

    stage = stage_named(args.stage)
    if stage.per_camera and not args.camera:
        raise ConfigError(f"worker {stage.name} needs --camera ID")
    if not stage.per_camera and args.camera:
        raise ConfigError(f"worker {stage.name} takes no --camera (it serves every camera)")
    settings = common.load(args)
    if args.partitions is not None:
        if stage.per_camera:
            raise ConfigError(f"worker {stage.name} takes no --partitions (a camera has one partition)")
        count = settings.streams.partitions
        bad = [p for p in args.partitions if p >= count]
        if bad:
            raise ConfigError(
                f"--partitions {bad} out of range: [streams] partitions = {count} (0..{count - 1})"
            )
        settings.streams.read_partitions = args.partitions
    from moodstream.runtime.redact import redact_native_stderr

    # Native libraries (FFmpeg in capture above all) write to stderr directly, bypassing logging's redaction.
    redact_native_stderr()
    return stage.run(settings, args.camera)


def _add_worker(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("worker", parents=[parent], help="run one pipeline worker (what supervisor runs)")
    p.add_argument("stage", choices=STAGE_NAMES, help="the stage this process runs")
    p.add_argument(
        "--camera",
        type=common.camera_id,
        help="the camera, for stages that run one process per camera (capture)",
    )
    p.add_argument(
        "--partitions",
        type=common.partition_list,
        help="read only these stream partitions, e.g. 0,2 (default: [streams] read_partitions, else all)",
    )
    p.set_defaults(fn=cmd_worker)


def cmd_health(args: argparse.Namespace) -> int:
    from moodstream.runtime import health

    settings = common.load(args, required=False)
    file = args.file or settings.runtime.health_file
    if not file:
        raise ConfigError(
            "no health file: set [runtime] health_file (or its environment override) or pass --file"
        )
    max_age = args.max_age or 3 * settings.runtime.heartbeat_s + 5  # a Redis back-off is at most 5 s
    verdict = health.check(Path(file), max_age, live_only=args.live)
    print(verdict.line, file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


def _add_health(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "health", parents=[parent], help="probe a worker through its health file (exit 0: alive or ready)"
    )
    p.add_argument("--file", help="the worker's health file (default: [runtime] health_file)")
    p.add_argument(
        "--live",
        action="store_true",
        help="only ask whether the worker still loops (liveness), not whether it can work (readiness)",
    )
    p.add_argument(
        "--max-age",
        type=common.positive_seconds,
        help="seconds since the worker's last report (default: 3 x [runtime] heartbeat_s + 5)",
    )
    p.set_defaults(fn=cmd_health)


def register(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    _add_up(sub, parent)
    _add_down(sub, parent)
    _add_dashboard(sub, parent)
    _add_url(sub, parent)
    _add_worker(sub, parent)
    _add_health(sub, parent)
