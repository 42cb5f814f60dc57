"""The built wheel: one import namespace, every module and model in it, and a CLI that runs from it."""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from moodstream.dashboard import vendoring

ROOT = Path(__file__).resolve().parents[1]


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
    for module in (ROOT / "moodstream").rglob("*.py"):
        if "node_modules" in module.parts:
            continue
        rel = module.relative_to(ROOT).as_posix()
        assert rel in names, f"{rel} missing from the wheel: does its folder have an __init__.py?"
    shipped = [p.relative_to(ROOT).as_posix() for p in (ROOT / "models").rglob("*") if p.is_file()]
    assert shipped, "models/ is empty"
    for rel in shipped:
        assert any(n.endswith(f"/data/share/moodstream/{rel}") for n in names), (
            f"{rel} missing from the wheel"
        )
    assert "moodstream/recommender/data/data_moods.csv" in names
    assert "moodstream/dashboard/templates/index.html" in names
    # The page's Socket.IO client and chart, copied in by the build (setup.py), and node_modules not at all.
    for name in vendoring.FILES:
        assert f"moodstream/dashboard/static/vendor/{name}" in names
    assert not [n for n in names if "node_modules" in n]


def test_packages_are_found_not_mapped() -> None:
    """A module's folder path is its import path: pyproject finds the packages and maps no folder."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "package-dir" not in setuptools
    assert setuptools["packages"] == {"find": {"include": ["moodstream*"], "namespaces": False}}
    for folder in (ROOT / "moodstream").rglob("*"):
        if folder.is_dir() and any(folder.glob("*.py")) and "node_modules" not in folder.parts:
            assert (folder / "__init__.py").exists(), (
                f"{folder.relative_to(ROOT)} has modules but no __init__.py"
            )


def test_every_module_imports_by_its_path_from_a_checkout() -> None:
    """What an editor or a static tool does: resolve moodstream.<folders> in the checkout itself."""
    code = "import moodstream.streams.keys as k, moodstream.dashboard.app as a; print(k.__file__); print(a.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == [
        str(ROOT / "moodstream" / "streams" / "keys.py"),
        str(ROOT / "moodstream" / "dashboard" / "app.py"),
    ]


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
        [sys.executable, "-c", "import moodstream.cli.main as m; print(m.__file__)"],
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
