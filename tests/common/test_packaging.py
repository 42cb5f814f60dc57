"""The built wheel: one import namespace, every module and model in it, and a CLI that runs from it."""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from moodstream.dashboard import vendoring

ROOT = Path(__file__).resolve().parents[2]
# The repository's folders and the package each installs as (pyproject's package-dir).
FOLDERS = {"moodstream": "moodstream", "services": "moodstream/services", "dashboard": "moodstream/dashboard"}
FOLDERS["training"] = "moodstream/training"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # pip builds in the checkout's build/ and *.egg-info/ folders: what an older build left there (a file
    # no longer listed) would ship again.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    shutil.rmtree(ROOT / "moodstream.egg-info", ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(out)],
        check=True,
        cwd=out,
        timeout=300,
    )
    (built,) = out.glob("moodstream-*.whl")
    return built


def test_the_wheel_claims_only_the_moodstream_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith((".dist-info", ".data"))} == {"moodstream"}


def test_every_module_and_shipped_model_is_in_the_wheel(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in FOLDERS.items():
        for module in (ROOT / folder).rglob("*.py"):
            if "node_modules" in module.parts:
                continue
            rel = module.relative_to(ROOT / folder).as_posix()
            assert f"{package}/{rel}" in names, f"{folder}/{rel} missing: list its package in pyproject"
    shipped = [p.relative_to(ROOT).as_posix() for p in (ROOT / "models").rglob("*") if p.is_file()]
    assert shipped, "models/ is empty"
    for rel in shipped:
        assert any(n.endswith(f"/data/share/moodstream/{rel}") for n in names), (
            f"{rel} missing from the wheel"
        )
    assert "moodstream/services/recommender/data/data_moods.csv" in names
    assert "moodstream/dashboard/templates/index.html" in names
    # The page's Socket.IO client and chart, copied in by the build (setup.py), and node_modules not at all.
    for name in vendoring.FILES:
        assert f"moodstream/dashboard/static/vendor/{name}" in names
    assert not [n for n in names if "node_modules" in n]


def test_pyproject_lists_every_package() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join([*package.split("/"), *rel]))
    assert listed == found


def test_the_cli_runs_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    """Installed on its own (not the checkout's editable install), away from the checkout."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    where = subprocess.run(
        [sys.executable, "-c", "import moodstream.services.cli as m; print(m.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.strip().startswith(str(target)), where.stdout + where.stderr
    script = target / "bin" / "moodstream"
    result = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "worker" in result.stdout and "status" in result.stdout
