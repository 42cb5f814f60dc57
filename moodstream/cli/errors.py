"""What the CLI tells a user whose command failed: one line, `moodstream: error: ...`, and exit status 2.

A user's mistake (a bad path, a file of the wrong kind, a bad config, a model or asset that is not
there, a Redis that does not answer, a bad flag) is not a bug, so it gets a sentence that says what is
wrong and how to fix it, never a traceback. An error nobody foresaw gets one line too, exit status 1,
and the hint that `--debug` shows its traceback. Messages pass through `redact`: an exception can quote
a URL with a password in it.
"""

from __future__ import annotations

import argparse
import sys

from moodstream.errors import UserError
from moodstream.runtime.redact import redact

USER_ERROR = 2
BUG = 1


class DefaultsFormatter(argparse.HelpFormatter):
    """Each flag's default after its help, unless the help already says it or there is none to say."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "default" in text
            or action.default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse, with one-line errors and every flag's default in its help."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USER_ERROR, f"moodstream: error: {message} (see `{self.prog} --help`)\n")


def describe(exc: BaseException) -> str | None:
    """The sentence for a user's mistake; None for what looks like a bug."""
    from moodstream.streams.client import CONNECTION_ERRORS, ResponseError
    from moodstream.streams.schemas import SchemaError

    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:  # a path given on the command line
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, CONNECTION_ERRORS):
        return (
            f"Redis does not answer ({exc}): is it running? `moodstream up` starts the stack and its Redis; "
            "[redis] url (or $MOODSTREAM_REDIS_URL) says where it is"
        )
    if isinstance(exc, ResponseError) and str(exc).split(" ", 1)[0] in ("NOAUTH", "WRONGPASS", "NOPERM"):
        return f"Redis refused us ({exc}): set [redis] password or $MOODSTREAM_REDIS_PASSWORD"
    if isinstance(exc, SchemaError):
        return f"unreadable input: {exc}"
    return None


def report(exc: BaseException, debug: bool) -> int:
    """Print the one line for ``exc`` (or re-raise it under ``--debug``); the exit status."""
    if debug:
        raise exc
    line = describe(exc)
    if line is None:
        print(
            f"moodstream: error: unexpected {type(exc).__name__}: {redact(str(exc))} "
            "(run again with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return BUG
    first, *more = line.splitlines() or [""]
    if more:  # e.g. every wrong key of a config: one line all the same
        first = f"{first} {'; '.join(part.strip() for part in more)}"
    print(f"moodstream: error: {redact(first)}", file=sys.stderr)
    return USER_ERROR


class UsageError(UserError):
    """A command's own check of its arguments failed (e.g. `replay` onto a live camera without --force)."""
