"""What pyproject.toml cannot say: a wheel carries the page's front-end files (moodstream/dashboard/vendoring.py).

Everything else about the build is in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py


def _load_vendoring() -> ModuleType:
    """moodstream/dashboard/vendoring.py (standard library only), loaded from its file: the package is
    being built, so it cannot be imported yet."""
    path = Path(__file__).resolve().parent / "moodstream" / "dashboard" / "vendoring.py"
    spec = importlib.util.spec_from_file_location("_moodstream_vendoring", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


vendoring = _load_vendoring()


class BuildPyWithFrontEnd(build_py):
    """Copies the page's front-end files (socket.io-client, uPlot: the lockfile's versions) into
    moodstream/dashboard/static/vendor/."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install serves moodstream/dashboard/node_modules itself
            target = Path(self.build_lib) / "moodstream" / "dashboard" / "static" / "vendor"
            for path in vendoring.copy_into(target):
                print(f"front-end file {path.name} -> {path}")


setup(cmdclass={"build_py": BuildPyWithFrontEnd})
