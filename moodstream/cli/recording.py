"""Reproducing problems with real footage: record a camera, replay a recording."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from moodstream.cli import common
from moodstream.cli.errors import UsageError

if TYPE_CHECKING:
    from moodstream.config import Settings

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("moodstream")


def cmd_record(args: argparse.Namespace) -> int:
    from moodstream.ops.recording import record
    from moodstream.runtime.worker import Stopper
    from moodstream.streams.retention import register_recording

    settings = common.load(args)
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(
            f"--out {out} is a folder: name the .msrec file to write, e.g. {out / 'lobby.msrec'}"
        )
    _check_raw_recording_allowed(settings, args.camera)
    bus = common.connect_bus(settings)
    n = record(bus, args.camera, out, args.seconds, Stopper().install())
    if n:  # deleted once older than [privacy] retention
        register_recording(bus, out, bus.server_time_ms())
    if n == 0:
        print(
            f"moodstream: recorded no frames: camera {args.camera} published none (is its capture running? "
            "`moodstream status` lists the cameras)",
            file=sys.stderr,
        )
        return 1
    print(f"recorded {n} frames of camera {args.camera} to {out}")
    return 0


def _check_raw_recording_allowed(settings: Settings, camera: str) -> None:
    """A recording keeps raw frames (re-analysis needs them): refused where faces must not leave raw."""
    protection = settings.protection(camera)
    if settings.privacy.allow_raw_recording or protection.raw_frames_leave:
        return
    why = "is aggregate-only" if protection.aggregate else "has its faces blurred or areas masked"
    raise UsageError(
        f"camera {camera} {why}, and a recording keeps raw frames: set [privacy] allow_raw_recording = true "
        "to record it anyway"
    )


def _add_record(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("record", parents=[parent], help="record a camera's frames to a file")
    p.add_argument("--camera", type=common.camera_id, required=True, help="the camera to record")
    p.add_argument("--out", required=True, help="the .msrec file to write")
    p.add_argument(
        "--seconds", type=common.count_seconds, default=0, help="stop after this many seconds (0: at Ctrl-C)"
    )
    p.set_defaults(fn=cmd_record)


def cmd_replay(args: argparse.Namespace) -> int:
    from moodstream.ops.recording import RecordingReader, replay
    from moodstream.runtime.worker import Runtime, Stopper, setup_logging
    from moodstream.streams.client import connect

    settings = common.load(args)
    camera = args.camera or RecordingReader(Path(args.file)).camera  # a missing or foreign file fails here
    setup_logging(settings.runtime.log_level)
    client = connect(common.redis_url(settings), settings.redis.socket_timeout_s, settings.redis.cluster)
    rt = Runtime("capture", settings, client, Stopper().install(), name_suffix=camera)
    if not args.force and camera in common.live_cameras(rt.bus):
        raise UsageError(
            f"camera {camera} is live (its capture is running): the recording's frames would mix with its "
            "own. Replay as another camera (--camera ID), or pass --force"
        )
    return replay(rt, Path(args.file), camera, speed=args.speed, loop=args.loop, every_frame=not args.live)


def _add_replay(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("replay", parents=[parent], help="publish a recording with its original timing")
    p.add_argument("file", help="a .msrec recording (from `moodstream record`)")
    p.add_argument(
        "--camera",
        type=common.camera_id,
        help="publish as this camera (default: the recording's own camera id)",
    )
    p.add_argument(
        "--speed", type=common.positive_number, default=1.0, help="playback speed: 2 is twice as fast"
    )
    p.add_argument("--loop", action="store_true", help="start again at the end, until Ctrl-C")
    p.add_argument(
        "--force",
        action="store_true",
        help="publish even if that camera's live capture is running (mixes both)",
    )
    p.add_argument(
        "--live", action="store_true", help="let the detector skip stale frames, as for a live camera"
    )
    p.set_defaults(fn=cmd_replay)


def register(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    _add_record(sub, parent)
    _add_replay(sub, parent)
