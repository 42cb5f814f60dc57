"""Training-time augmentation as Keras layers: flip, rotation, shift, zoom, brightness, random erasing.

The block sits in front of the model only while training (``training_model``)
and every layer is a no-op at inference, so evaluation data is never
augmented and the exported model carries none of it. Keras preprocessing
layers run on TensorFlow and JAX alike.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AugmentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flip: bool = True
    rotation_deg: float = Field(default=10.0, ge=0, le=45)
    shift: float = Field(default=0.1, ge=0, le=0.5)
    zoom: float = Field(default=0.1, ge=0, le=0.5)
    brightness: float = Field(default=0.2, ge=0, le=1)
    erasing: float = Field(default=0.0, ge=0, le=1)  # probability of erasing a random patch


def augmentation(cfg: AugmentSettings, seed: int = 0) -> Any:
    import keras
    from keras import layers

    # Each layer gets its own seed: with one shared seed every layer draws the same random stream, so
    # the flip, the angle, the shift and the zoom of a face would all move together.
    steps: list[Any] = []
    if cfg.flip:
        steps.append(layers.RandomFlip("horizontal", seed=seed))
    if cfg.rotation_deg:
        steps.append(layers.RandomRotation(cfg.rotation_deg / 360.0, fill_mode="reflect", seed=seed + 1))
    if cfg.shift:
        steps.append(layers.RandomTranslation(cfg.shift, cfg.shift, fill_mode="reflect", seed=seed + 2))
    if cfg.zoom:
        steps.append(layers.RandomZoom(cfg.zoom, fill_mode="reflect", seed=seed + 3))
    if cfg.brightness:
        steps.append(layers.RandomBrightness(cfg.brightness, value_range=(0.0, 1.0), seed=seed + 4))
    if cfg.erasing:
        steps.append(
            layers.RandomErasing(factor=cfg.erasing, scale=(0.02, 0.2), value_range=(0.0, 1.0), seed=seed + 5)
        )
    return keras.Sequential(steps, name="augment")


def training_model(core: Any, cfg: AugmentSettings, seed: int = 0) -> Any:
    """``core`` with the augmentation block in front: what ``fit`` trains; ``core`` is what is exported."""
    import keras

    inputs = keras.Input(shape=core.input_shape[1:], name="image")
    return keras.Model(inputs, core(augmentation(cfg, seed)(inputs)), name=f"{core.name}_training")
