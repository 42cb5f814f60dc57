"""What ``analyze`` reads: a video file, a ``.msrec`` recording, one image, or a folder of images.

Each comes as numbered frames with a time in seconds. A recording yields its frames' JPEG bytes, which
are decoded exactly as the detector decodes them, so ``analyze`` on a recording sees the pixels the
live pipeline saw when the same recording was replayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from moodstream.detector.finder import Image
from moodstream.detector.methods import decode_image, image_of
from moodstream.errors import UserError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass
class InputFrame:
    index: int
    t: float  # seconds from the input's start (0 for images)
    image: Image
    name: str  # the image's file name, or the input's


class InputError(UserError):
    pass


def kind_of(path: Path) -> str:
    """``folder``, ``image``, ``recording`` or ``video``, or an InputError saying why not."""
    if path.is_dir():
        if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir()):
            raise InputError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return "folder"
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return "recording" if suffix == ".msrec" else "video"


def frames(path: Path, color: bool) -> Iterator[InputFrame]:
    kind = kind_of(path)
    if kind == "folder":
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        for index, file in enumerate(files):
            yield InputFrame(index, 0.0, _read_image(file), file.name)
    elif kind == "image":
        yield InputFrame(0, 0.0, _read_image(path), path.name)
    elif kind == "recording":
        yield from _recording(path, color)
    else:
        yield from _video(path)


def _read_image(path: Path) -> Image:
    bgr = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path}: not an image OpenCV can read")
    return image_of(bgr)


def _recording(path: Path, color: bool) -> Iterator[InputFrame]:
    from moodstream.capture.recording import RecordingError, RecordingReader

    try:
        reader = RecordingReader(path)
        for index, rec in enumerate(reader.frames()):
            image = decode_image(rec.jpeg, color)
            if image is None:
                raise InputError(f"{path}: frame {index} does not decode")
            yield InputFrame(index, rec.offset, image, path.name)
    except RecordingError as exc:
        raise InputError(str(exc)) from exc


def _video(path: Path) -> Iterator[InputFrame]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(f"{path}: not a video OpenCV can open")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    index = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield InputFrame(index, round(index / fps, 4), image_of(bgr), path.name)
            index += 1
    finally:
        cap.release()
    if index == 0:
        raise InputError(f"{path}: no frames could be read")


def frame_count(path: Path) -> int | None:
    """How many frames there will be, when that is cheap to know (for the progress bar)."""
    kind = kind_of(path)
    if kind == "folder":
        return sum(1 for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if kind == "image":
        return 1
    if kind == "video":
        cap = cv2.VideoCapture(str(path))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        cap.release()
        return n or None
    return None


def fps_of(path: Path) -> float:
    """The input's frame rate, for an annotated video (1 for pictures)."""
    kind = kind_of(path)
    if kind == "video":
        cap = cv2.VideoCapture(str(path))
        fps = cap.get(cv2.CAP_PROP_FPS)
        cap.release()
        return fps or 25.0
    if kind == "recording":
        from moodstream.capture.recording import RecordingReader

        return RecordingReader(path).fps or 25.0
    return 1.0
