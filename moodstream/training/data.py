"""FER2013 in any of its three layouts (CSV, image folders, a packed ``.npz``), as arrays, and input
pipelines over them.

The loaders return uint8 images (N, size, size) and int labels in the
classifier's class order (EMOTIONS: the FER2013 CSV order), so a model
trained here reads the same way as every other model the classifier loads.

Augmentation is not here: it is a block of Keras layers in front of the
model during training (moodstream/training/augment.py), which runs on every backend
and can never touch evaluation data.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodstream.errors import UserError
from moodstream.streams.schemas import EMOTIONS

CSV_SPLITS = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
FOLDER_SPLITS = {
    "train": ("train", "Training"),
    "val": ("val", "PublicTest", "validation"),
    "test": ("test",),
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


class DataError(UserError):
    pass


@dataclass
class Split:
    x: np.ndarray  # uint8 (N, size, size)
    y: np.ndarray  # int32 (N,), index into EMOTIONS
    name: str

    def __len__(self) -> int:
        return len(self.y)

    def counts(self) -> dict[str, int]:
        return {e: int((self.y == i).sum()) for i, e in enumerate(EMOTIONS)}


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[1] == size:
        return images
    import cv2

    return np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in images])


def load_csv(path: str | Path, split: str, size: int = 48) -> Split:
    """FER2013's original ``emotion,pixels,Usage`` CSV (labels already in EMOTIONS order)."""
    usage = CSV_SPLITS.get(split, split)
    xs: list[np.ndarray] = []
    ys: list[int] = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"emotion", "pixels"} <= set(reader.fieldnames):
            raise DataError(f"{path}: expected columns emotion,pixels[,Usage], got {reader.fieldnames}")
        for n, row in enumerate(reader, start=2):
            if "Usage" in row and row["Usage"] != usage:
                continue
            try:
                label = int(row["emotion"])
                pixels = np.array(row["pixels"].split(), dtype=np.uint8)
            except ValueError as exc:
                raise DataError(f"{path}:{n}: {exc}") from exc
            side = int(round(len(pixels) ** 0.5))
            if side * side != len(pixels) or not 0 <= label < len(EMOTIONS):
                raise DataError(
                    f"{path}:{n}: {len(pixels)} pixels / label {label} is not a square image / class"
                )
            xs.append(pixels.reshape(side, side))
            ys.append(label)
    if not xs:
        raise DataError(f"{path}: no rows with Usage={usage}")
    return Split(_resize(np.stack(xs), size), np.array(ys, dtype=np.int32), split)


def _split_dir(root: Path, split: str) -> Path:
    for name in FOLDER_SPLITS.get(split, (split,)):
        if (root / name).is_dir():
            return root / name
    raise DataError(
        f"{root}: no folder for split {split!r} (looked for {FOLDER_SPLITS.get(split, (split,))})"
    )


def _folder_files(root: str | Path, split: str) -> list[tuple[Path, int]]:
    """The image files of a split and their labels; class folders are matched to EMOTIONS by name."""
    base = _split_dir(Path(root), split)
    files: list[tuple[Path, int]] = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        name = folder.name.lower()
        if name not in EMOTIONS:
            raise DataError(f"{folder}: unknown class folder (expected one of {', '.join(EMOTIONS)})")
        label = EMOTIONS.index(name)
        files += [(f, label) for f in sorted(folder.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError(f"{base}: no images")
    return files


def _decode(data: bytes | np.ndarray, size: int, where: object) -> np.ndarray:
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DataError(f"{where}: not a readable image")
    if image.shape != (size, size):
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return image


def load_folder(root: str | Path, split: str, size: int = 48) -> Split:
    """``<root>/<split>/<class>/*.jpg|png``."""
    files = _folder_files(root, split)
    xs = [_decode(path.read_bytes(), size, path) for path, _ in files]
    return Split(np.stack(xs), np.array([label for _, label in files], dtype=np.int32), split)


def _encoded(source: Path, split: str) -> tuple[list[bytes], list[int]]:
    """A split as compressed images: an image folder's own files as they are, a CSV's rows as PNG."""
    import cv2

    if source.is_dir():
        files = _folder_files(source, split)
        return [path.read_bytes() for path, _ in files], [label for _, label in files]
    data = load_csv(source, split, size=48)
    return [cv2.imencode(".png", im)[1].tobytes() for im in data.x], data.y.tolist()


PACKED_SUFFIX = ".npz"


def pack(source: str | Path, out: str | Path, splits: tuple[str, ...] = ("train", "val")) -> Path:
    """All ``splits`` of a dataset in one uint8 file of compressed images (FER2013 train + val: ~40 MB).

    Why: thousands of small JPEGs travel badly and raw pixels are twice as large, so the images are kept
    as they came (a CSV's rows as PNG), concatenated, with offsets; ``load`` decodes the file in seconds.
    """
    target = Path(out)
    if target.suffix != PACKED_SUFFIX:
        raise DataError(f"{target}: a packed dataset is written as {PACKED_SUFFIX}")
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    arrays: dict[str, np.ndarray] = {}
    for split in splits:
        images, labels = _encoded(source, split)
        arrays[f"{split}_bytes"] = np.frombuffer(b"".join(images), np.uint8)
        arrays[f"{split}_offsets"] = np.cumsum([0] + [len(b) for b in images], dtype=np.int64)
        arrays[f"{split}_y"] = np.array(labels, dtype=np.int32)
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(target, **arrays)  # the images' identical JPEG headers compress away
    return target


def load_packed(path: str | Path, split: str, size: int = 48) -> Split:
    """One split of a file written by ``pack``, at the run's input size."""
    with np.load(path) as z:
        if f"{split}_bytes" not in z:
            have = sorted(k.removesuffix("_bytes") for k in z.files if k.endswith("_bytes"))
            raise DataError(f"{path}: no split {split!r} packed (it holds {', '.join(have) or 'none'})")
        data, offsets, y = z[f"{split}_bytes"], z[f"{split}_offsets"], z[f"{split}_y"]
    xs = [
        _decode(data[a:b], size, f"{path}: {split} image {i}")
        for i, (a, b) in enumerate(zip(offsets[:-1], offsets[1:], strict=True))
    ]
    return Split(np.stack(xs), y.astype(np.int32), split)


def load(source: str | Path, split: str, size: int = 48, cache: Path | None = None) -> Split:
    """Any of the three layouts, by what ``source`` is; decoded arrays are cached as .npz (JPEG decoding is slow)."""
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix == PACKED_SUFFIX:
        return load_packed(path, split, size)
    if cache is not None:
        key = hashlib.sha1(f"{path.resolve()}|{split}|{size}|{path.stat().st_mtime_ns}".encode()).hexdigest()[
            :16
        ]
        cached = cache / f"{split}-{size}-{key}.npz"
        if cached.exists():
            with np.load(cached) as z:
                return Split(z["x"], z["y"], split)
    data = load_csv(path, split, size) if path.is_file() else load_folder(path, split, size)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(cached, x=data.x, y=data.y)
    return data


def subset_indices(total: int, n: int, seed: int = 0) -> np.ndarray:
    """A sorted random sample of ``n`` of ``total`` indices (files are sorted by class, so the first ``n``
    would be one or two classes); all of them when ``n`` is 0 or at least ``total``."""
    if not n or n >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))


def subset(split: Split, n: int, seed: int = 0) -> Split:
    idx = subset_indices(len(split), n, seed)
    return Split(split.x[idx], split.y[idx], split.name)


def class_weights(y: np.ndarray, n_classes: int = len(EMOTIONS)) -> dict[int, float]:
    """Balanced weights, n / (k * count): a disgust face counts as much in total as a happy one."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    total = counts.sum()
    return {i: float(total / (n_classes * c)) if c else 0.0 for i, c in enumerate(counts)}


def as_inputs(x: np.ndarray) -> np.ndarray:
    """uint8 (N, s, s) -> float32 (N, s, s, 1) in [0, 1]: the models' input (model.json scaling zero_1)."""
    return (x.astype(np.float32) / 255.0)[..., None]


def batches(
    split: Split,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    with_weights: dict[int, float] | None = None,
    targets: np.ndarray | None = None,
    transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
):
    """A tf.data pipeline (cache, shuffle, batch, prefetch) under TensorFlow; a Keras PyDataset elsewhere (JAX).

    ``targets`` (N, classes) replaces the integer labels as what the model learns (soft targets); class
    weights still follow the integer labels.
    """
    import keras

    x, y = as_inputs(split.x), (split.y if targets is None else targets)
    w = np.array([with_weights[int(c)] for c in split.y], dtype=np.float32) if with_weights else None
    if keras.backend.backend() == "tensorflow" and transform is None:
        import tensorflow as tf

        parts = (x, y) if w is None else (x, y, w)
        ds = tf.data.Dataset.from_tensor_slices(parts).cache()
        if shuffle:
            ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return _ArrayBatches(x, y, w, batch_size, shuffle, seed, transform)


def _array_batches_class():  # defined lazily so that importing this module does not import Keras
    import keras

    class ArrayBatches(keras.utils.PyDataset):
        def __init__(self, x, y, w, batch_size, shuffle, seed, transform) -> None:
            super().__init__()
            self.x, self.y, self.w = x, y, w
            self.transform = transform
            self.batch_size = batch_size
            self.shuffle = shuffle
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(len(y))
            if shuffle:
                self.rng.shuffle(self.order)

        def __len__(self) -> int:
            return (len(self.y) + self.batch_size - 1) // self.batch_size

        def __getitem__(self, i: int):
            idx = self.order[i * self.batch_size : (i + 1) * self.batch_size]
            x = self.x[idx] if self.transform is None else self.transform(self.x[idx], self.rng)
            if self.w is None:
                return x, self.y[idx]
            return x, self.y[idx], self.w[idx]

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self.rng.shuffle(self.order)

    return ArrayBatches


def _ArrayBatches(*args):  # noqa: N802 - a class factory used like a class
    return _array_batches_class()(*args)


def iterate(split: Split, batch_size: int) -> Iterator[np.ndarray]:
    x = as_inputs(split.x)
    for i in range(0, len(x), batch_size):
        yield x[i : i + batch_size]
