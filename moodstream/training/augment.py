"""Training-time augmentation as Keras layers: flip, rotation, shift, zoom, brightness, random erasing.

The block sits in front of the model only while training (``training_model``)
and every layer is a no-op at inference, so evaluation data is never
augmented and the exported model carries none of it. Keras preprocessing
layers run on TensorFlow and JAX alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class AugmentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flip: bool = True
    rotation_deg: float = Field(default=10.0, ge=0, le=45)
    shift: float = Field(default=0.1, ge=0, le=0.5)
    zoom: float = Field(default=0.1, ge=0, le=0.5)
    brightness: float = Field(default=0.2, ge=0, le=1)
    erasing: float = Field(default=0.0, ge=0, le=1)  # probability of erasing a random patch
    # "host": flips and the geometric transforms run in NumPy/OpenCV as batches are made, and only the
    # photometric layers stay in the graph. Keras' affine layers on JAX gather per pixel, which made a
    # GPU train step ~100x slower (577 ms for 128 faces on an H100, docs/training.md).
    where: str = Field(default="model", pattern="^(model|host)$")


def augmentation(cfg: AugmentSettings, seed: int = 0) -> Any:
    import keras
    from keras import layers

    # Each layer gets its own seed: with one shared seed every layer draws the same random stream, so
    # the flip, the angle, the shift and the zoom of a face would all move together.
    steps: list[Any] = []
    if cfg.where == "model":
        steps += _geometric_layers(cfg, seed)
    if cfg.brightness:
        steps.append(layers.RandomBrightness(cfg.brightness, value_range=(0.0, 1.0), seed=seed + 4))
    if cfg.erasing:
        steps.append(
            layers.RandomErasing(factor=cfg.erasing, scale=(0.02, 0.2), value_range=(0.0, 1.0), seed=seed + 5)
        )
    return keras.Sequential(steps, name="augment")


def _geometric_layers(cfg: AugmentSettings, seed: int) -> list[Any]:
    from keras import layers

    steps: list[Any] = []
    if cfg.flip:
        steps.append(layers.RandomFlip("horizontal", seed=seed))
    if cfg.rotation_deg:
        steps.append(layers.RandomRotation(cfg.rotation_deg / 360.0, fill_mode="reflect", seed=seed + 1))
    if cfg.shift:
        steps.append(layers.RandomTranslation(cfg.shift, cfg.shift, fill_mode="reflect", seed=seed + 2))
    if cfg.zoom:
        steps.append(layers.RandomZoom(cfg.zoom, fill_mode="reflect", seed=seed + 3))
    return steps


def host_transform(images: np.ndarray, rng: np.random.Generator, cfg: AugmentSettings) -> np.ndarray:
    """The geometric augmentation of a batch (N, s, s, 1) on the CPU: flip, rotation, shift and zoom."""
    import cv2

    out = np.empty_like(images)
    n, size = images.shape[0], images.shape[1]
    angles = rng.uniform(-cfg.rotation_deg, cfg.rotation_deg, n)
    scales = rng.uniform(1 - cfg.zoom, 1 + cfg.zoom, n)
    shifts = rng.uniform(-cfg.shift, cfg.shift, (n, 2)) * size
    flips = rng.random(n) < 0.5 if cfg.flip else np.zeros(n, bool)
    centre = ((size - 1) / 2, (size - 1) / 2)
    for i in range(n):
        image = images[i, :, :, 0]
        if flips[i]:
            image = image[:, ::-1]
        m = cv2.getRotationMatrix2D(centre, float(angles[i]), float(scales[i]))
        m[:, 2] += shifts[i]
        out[i, :, :, 0] = cv2.warpAffine(
            np.ascontiguousarray(image),
            m,
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
    return out


def training_model(core: Any, cfg: AugmentSettings, seed: int = 0) -> Any:
    """``core`` with the augmentation block in front: what ``fit`` trains; ``core`` is what is exported."""
    import keras

    inputs = keras.Input(shape=core.input_shape[1:], name="image")
    return keras.Model(inputs, core(augmentation(cfg, seed)(inputs)), name=f"{core.name}_training")
