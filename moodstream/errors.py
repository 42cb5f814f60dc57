"""The one base of every error that means a person's input or setup is wrong, not a bug in moodstream.

The CLI prints such an error as one sentence and exits 2 (moodstream/cli/errors.py); anything else is a bug
and says so. A module raising a user's mistake subclasses ``UserError``, and its message says what is
wrong and how to fix it.
"""

from __future__ import annotations


class UserError(Exception):
    """A bad path, config, model, recording, data layout or command: the message is for the user."""
