"""Watching a deployment: per-stage status, the public events, dead letters."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from moodstream.cli import common
from moodstream.streams import dead_letters, heartbeats

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("moodstream")


def cmd_status(args: argparse.Namespace) -> int:
    from moodstream.ops import stack
    from moodstream.ops.observe import collect_status, format_status
    from moodstream.streams.retention import oldest_ages

    settings = common.load(args)
    bus = common.connect_bus(settings)
    status = collect_status(bus)
    status.processes = stack.describe(settings)
    status.oldest_s = oldest_ages(bus)  # what retention (``[privacy] retention``) bounds
    print(json.dumps(status.to_json()) if args.json else format_status(status))
    if not heartbeats.live(bus):
        print(common.NOTHING_RUNS, file=sys.stderr)
        return 1
    return 0


def _add_status(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "status", parents=[parent], help="per-stage rates, pending/lag, skipped and dead letters"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    p.set_defaults(fn=cmd_status)


def cmd_watch(args: argparse.Namespace) -> int:
    from moodstream.ops.observe import follow

    settings = common.load(args)
    bus = common.connect_bus(settings)
    if not common.reporting(bus, "*"):
        print(f"{common.NOTHING_RUNS}: no events will come", file=sys.stderr)
        return 1
    deadline = time.monotonic() + args.seconds if args.seconds else None
    count = 0
    aggregate = settings.aggregate_cameras()
    for event in follow(bus, camera=args.camera, from_start=args.from_start, aggregate=aggregate):
        if deadline is not None and time.monotonic() >= deadline:
            break
        if event is None:
            continue
        if args.json:
            print(json.dumps(event), flush=True)
        elif event["type"] == "emotion":
            print(
                f"{event['camera']} track {event['track']}: {event['label']} ({event['confidence']:.2f})",
                flush=True,
            )
        elif event["type"] == "alert":
            print(
                f"{event['camera']} ALERT {event['rule']}: {event['emotion']} on track {event['track']} "
                f"for {event['held_s']:.0f} s",
                flush=True,
            )
        else:
            tracks = ", ".join(f"{t['title']} - {t['artist']}" for t in event["tracks"])
            print(f"{event['camera']}: {event['emotion']} -> {event['mood']}: {tracks}", flush=True)
        count += 1
        if args.count and count >= args.count:
            break
    return 0


def _add_watch(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("watch", parents=[parent], help="print emotion, recommendation and alert events")
    p.add_argument(
        "--camera", type=common.camera_id, help="only this camera's events (default: every camera)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per event, as the feed sends it")
    p.add_argument("--count", type=common.count, default=0, help="exit after this many events (0: never)")
    p.add_argument(
        "--seconds", type=common.count_seconds, default=0, help="exit after this many seconds (0: never)"
    )
    p.add_argument("--from-start", action="store_true", help="begin with the events still in the stream")
    p.set_defaults(fn=cmd_watch)


def cmd_dead(args: argparse.Namespace) -> int:
    settings = common.load(args)
    bus = common.connect_bus(settings)
    if args.replay:
        replayed, left = dead_letters.replay(bus, args.count)
        print(f"replayed {replayed} dead letter(s); {left} left (kept in part, or unreadable)")
        return 0
    letters = dead_letters.newest(bus, args.count)
    for letter in letters:
        item = {k: v for k, v in asdict(letter).items() if k != "payload"}
        print(json.dumps({**item, "payload_bytes": len(letter.payload)}))
    if not letters:
        print("moodstream: no dead letters", file=sys.stderr)
    return 0


def _add_dead(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("dead", parents=[parent], help="list dead-lettered messages with their reasons")
    p.add_argument("--count", type=common.positive_int, default=20, help="how many letters to list or replay")
    p.add_argument(
        "--replay",
        action="store_true",
        help="put the oldest letters that were kept whole back on their streams (after fixing the cause)",
    )
    p.set_defaults(fn=cmd_dead)


def register(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    _add_status(sub, parent)
    _add_watch(sub, parent)
    _add_dead(sub, parent)
