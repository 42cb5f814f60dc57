"""``python -m moodstream``: the command line, as the ``moodstream`` script runs it."""

import sys

from moodstream.cli.main import main

sys.exit(main())
