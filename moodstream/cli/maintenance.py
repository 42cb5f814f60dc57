"""Assets, the config, cameras' notices, Spotify playlists and resetting a deployment's keys."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from moodstream.cli import common
from moodstream.config import ConfigError
from moodstream.runtime.redact import redact_log_handlers
from moodstream.streams import suggestions

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

log = logging.getLogger("moodstream")


def cmd_assets(args: argparse.Namespace) -> int:
    from moodstream import assets

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    redact_log_handlers()
    paths = assets.fetch_all()
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _add_assets(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("assets", parents=[parent], help="download and verify the model and sample videos")
    p.add_argument("action", choices=["fetch"], help="fetch: download what is missing and check every file")
    p.set_defaults(fn=cmd_assets)


def cmd_spotify_save(args: argparse.Namespace) -> int:
    from moodstream.ops import stack
    from moodstream.recommender.playlist import save_suggestion, user_client
    from moodstream.streams.schemas import RecommendationEvent

    settings = common.load(args)
    bus = common.connect_bus(settings)
    raw = suggestions.latest(bus, args.camera)
    if raw is None:
        print(f"moodstream: no suggestion yet for camera {args.camera}", file=sys.stderr)
        return 1
    reco = RecommendationEvent.decode(raw)
    sp = user_client(settings.spotify, stack.run_dir(settings) / "spotify-user-token.json")
    playlist_id, added = save_suggestion(sp, reco, args.playlist)
    print(
        f"added {added} of {len(reco.tracks)} tracks to {args.playlist!r} (https://open.spotify.com/playlist/{playlist_id})"
    )
    return 0


def _add_spotify_save(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "spotify-save", parents=[parent], help="save a camera's current suggestion to your Spotify playlist"
    )
    p.add_argument("--camera", type=common.camera_id, required=True, help="whose current suggestion to save")
    p.add_argument("--playlist", default="moodstream suggestions", help="your Spotify playlist's name")
    p.set_defaults(fn=cmd_spotify_save)


def cmd_reset(args: argparse.Namespace) -> int:
    n = common.connect_bus(common.load(args)).delete_all()
    print(f"deleted {n} keys")
    return 0


def _add_reset(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("reset", parents=[parent], help="delete all of this deployment's keys from Redis")
    p.set_defaults(fn=cmd_reset)


def cmd_config(args: argparse.Namespace) -> int:
    if args.reference:
        from moodstream.config.reference import render

        print(render(), end="")
        return 0
    settings = common.load(args, required=False)
    data = settings.model_dump() if args.show_secrets else settings.redacted_dump()
    print(json.dumps(data, indent=2))
    return 0


def _add_config(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("config", parents=[parent], help="validate the config and print it with defaults")
    p.add_argument(
        "--show-secrets",
        action="store_true",
        help="print the token, passwords and camera credentials as they are",
    )
    p.add_argument(
        "--reference",
        action="store_true",
        help="print the configuration reference (docs/configuration.md) made from the settings models",
    )
    p.set_defaults(fn=cmd_config)


def cmd_notice(args: argparse.Namespace) -> int:
    from pathlib import Path

    from moodstream.ops.notice import render_notice

    page = render_notice(common.load(args), args.camera)
    if args.out:
        Path(args.out).write_text(page, encoding="utf-8")
        print(f"notice for camera {args.camera} written to {args.out} (open it in a browser to print, A4)")
    else:
        sys.stdout.write(page)
    return 0


def _add_notice(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "notice", parents=[parent], help="print a camera's A4 notice for the people it films (HTML)"
    )
    p.add_argument("--camera", type=common.camera_id, required=True, help="the camera")
    p.add_argument("--out", help="write the HTML here (default: standard output)")
    p.set_defaults(fn=cmd_notice)


def cmd_redis_acl(args: argparse.Namespace) -> int:
    import hashlib
    import os

    from moodstream.streams.acl import ROLES, acl_line
    from moodstream.streams.keys import Keys

    settings = common.load(args, required=False)
    names = {role: f"MOODSTREAM_REDIS_PASSWORD_{role.upper()}" for role in ROLES}
    missing = [name for name in names.values() if not os.environ.get(name)]
    if missing:
        raise ConfigError(f"set each role's password in the environment first: {', '.join(missing)} missing")
    keys = Keys(settings.redis.prefix, settings.streams.partitions)
    deployment = settings.redis.prefix
    where = f"{keys.partitions} partition(s) of deployment {deployment!r}"
    # An ACL file takes no comments: what this is goes to stderr, the file to stdout.
    print(f"moodstream: ACL users for {where} (an aclfile, or lines of redis.conf)", file=sys.stderr)
    admin = os.environ.get("MOODSTREAM_REDIS_PASSWORD", "")
    # The default user, for the operator and health checks: the configured password.
    digest = hashlib.sha256(admin.encode()).hexdigest()
    lines = [f"user default on #{digest} ~* &* +@all" if admin else "user default off"]
    lines += [acl_line(keys, role, os.environ[name]) for role, name in names.items()]
    if args.out:  # the passwords' SHA-256 only: the Redis container's own user must read it
        Path(args.out).write_text("\n".join(lines) + "\n")
    else:
        print("\n".join(lines))
    return 0


def _add_redis_acl(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "redis-acl",
        parents=[parent],
        help="print the ACL users (one per role) for an external Redis, passwords from MOODSTREAM_REDIS_PASSWORD_<ROLE>",
    )
    p.add_argument("--out", help="write the ACL file here (default: standard output)")
    p.set_defaults(fn=cmd_redis_acl)


def register(sub: Subparsers, parent: argparse.ArgumentParser) -> None:
    _add_assets(sub, parent)
    _add_redis_acl(sub, parent)
    _add_notice(sub, parent)
    _add_spotify_save(sub, parent)
    _add_reset(sub, parent)
    _add_config(sub, parent)
