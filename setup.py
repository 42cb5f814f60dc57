"""What pyproject.toml cannot say: a wheel carries the page's front-end files (dashboard/vendoring.py).

Everything else about the build is in pyproject.toml.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, str(Path(__file__).resolve().parent / "dashboard"))
import vendoring  # noqa: E402 - dashboard/vendoring.py, standard library only


class BuildPyWithFrontEnd(build_py):
    """Copies the page's front-end files (socket.io-client, uPlot: the lockfile's versions) into
    moodstream/dashboard/static/vendor/."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install serves dashboard/node_modules itself
            target = Path(self.build_lib) / "moodstream" / "dashboard" / "static" / "vendor"
            for path in vendoring.copy_into(target):
                print(f"front-end file {path.name} -> {path}")


setup(cmdclass={"build_py": BuildPyWithFrontEnd})
