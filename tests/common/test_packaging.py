"""A wheel install carries the project's trained models (pyproject's data-files), not only checkouts."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_every_shipped_model_file(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp_path)],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("moodstream-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [p.relative_to(ROOT).as_posix() for p in (ROOT / "models").rglob("*") if p.is_file()]
    assert shipped, "models/ is empty"
    for rel in shipped:
        assert any(n.endswith(f"/data/share/moodstream/{rel}") for n in names), (
            f"{rel} missing from the wheel"
        )
    assert any(n.startswith("services/") for n in names) and any(n.startswith("training/") for n in names)
