"""The ``moodstream`` command line: ``main`` parses, dispatches and turns any failure into one line.

Each command group is a module beside this one, with each command's arguments next to its handler.
"""

from __future__ import annotations

import argparse
import os
import sys

from moodstream.cli import analysis, bench, maintenance, observing, recording, stack, training
from moodstream.cli.errors import Parser, report
from moodstream.config.pipeline import MAX_FRAME_PIXELS
from moodstream.runtime.limits import cap_image_decoding
from moodstream.training import TENSORFLOW_COMMANDS, use_stable_kernels

# In the order `moodstream --help` lists them.
GROUPS = (stack, observing, recording, analysis, bench, training, maintenance)


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        help="config file (default: ./moodstream.toml, or $MOODSTREAM_CONFIG)",
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of a failure"
    )
    parser = Parser(prog="moodstream", description="The ``moodstream`` command line.", parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub, common)
    return parser


def _command(argv: list[str]) -> str | None:
    """The subcommand, found before parsing (``--config X`` may precede it)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--config":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notes are not ours to print
    # OpenCV's pixel ceiling, before anything loads it: the default max_frame_pixels; the config's own
    # value replaces it when the command loads its settings first (cli/common.py).
    cap_image_decoding(MAX_FRAME_PIXELS)
    # FFmpeg's own log lines quote the addresses it tries (with the query of a camera's URL): they are
    # not printed; capture says what failed, with credentials masked. Set it to 16 or more to debug.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    if _command(argv) in TENSORFLOW_COMMANDS:
        use_stable_kernels()
    if _command(argv) == "dashboard":
        # gevent must patch the standard library before redis, flask or socket are imported.
        from gevent import monkey

        monkey.patch_all()
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if args.command != "watch":
            raise
        sys.stderr.close()  # `moodstream watch | head`
        return 0
    except Exception as exc:  # noqa: BLE001 - one line for every failure; --debug shows the traceback
        return report(exc, debug=getattr(args, "debug", False))


if __name__ == "__main__":
    sys.exit(main())
