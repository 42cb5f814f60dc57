"""Every command the README and docs/ show works as written, as far as it can be checked without a
cluster, a GPU or hours: each ``moodstream`` line parses with the CLI's own parser, the models it names
are found, the repository files it names exist, and each ``make`` target exists. What the commands do is
tested where the commands are (tests/test_cli_errors.py, the stack and dashboard tests...)."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodstream.cli.main import build_parser
from moodstream.modelspec import resolve_model_dir

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
REPO_PATHS = ("moodstream/", "deploy/", "examples/")


def shell_commands() -> Iterator[tuple[str, list[str]]]:
    """(where, argv) for each simple command in the docs' sh blocks, comments and env assignments dropped."""
    for doc in DOCS:
        for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", doc.read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                for command in line.split(" && "):
                    argv = shlex.split(command, comments=True)
                    while argv and re.fullmatch(r"[A-Z_]+=.*", argv[0]):
                        argv = argv[1:]
                    if argv:
                        yield f"{doc.name}: {command.strip()}", argv


COMMANDS = list(shell_commands())
MOODSTREAM = [(where, argv) for where, argv in COMMANDS if Path(argv[0]).name == "moodstream"]


def test_the_docs_show_commands() -> None:
    assert len(MOODSTREAM) >= 20
    assert {argv[1] for _, argv in COMMANDS if argv[0] == "make"} >= {"demo", "test", "bench"}


@pytest.mark.parametrize(("where", "argv"), MOODSTREAM, ids=[w for w, _ in MOODSTREAM])
def test_each_moodstream_command_parses_and_names_what_exists(where: str, argv: list[str]) -> None:
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(f"{where}: the CLI refuses it (exit {exc.code})")
    if getattr(args, "fn", None).__name__ == "cmd_evaluate":
        for model in args.model:
            assert resolve_model_dir(model).is_dir(), where
    for token in argv:
        if token.startswith(REPO_PATHS):
            assert (ROOT / token).exists(), f"{where}: {token} does not exist"


def test_make_targets_and_repository_paths_exist() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    for where, argv in COMMANDS:
        if argv[0] == "make":
            assert set(argv[1:]) <= targets, where
        for token in argv:
            if token.startswith(REPO_PATHS):
                assert (ROOT / token).exists(), f"{where}: {token} does not exist"


def subcommand_options() -> dict[str, set[str]]:
    """Each subcommand's option strings (argparse keeps them on its sub-parsers)."""
    parser = build_parser()
    choices = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    top = set(parser._option_string_actions)
    return {name: top | set(sub._option_string_actions) for name, sub in choices.items()}


def test_every_command_the_prose_names_takes_the_flags_it_shows() -> None:
    """Synopses like `moodstream watch [--camera ID] [--json]` and mentions like `moodstream dead --replay`:
    the subcommand exists and has each flag shown."""
    options = subcommand_options()
    seen = 0
    for doc in DOCS:
        for span in re.findall(r"`(moodstream [^`]+)`", doc.read_text()):
            words = span.split()
            assert words[1] in options, f"{doc.name}: `{span}`: no subcommand {words[1]!r}"
            for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", span):
                assert flag in options[words[1]], f"{doc.name}: `{span}`: {words[1]} has no {flag}"
            seen += 1
    assert seen >= 30
