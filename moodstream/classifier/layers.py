"""The custom layers project-trained models may hold, registered so that saved models load anywhere.

They live with the classifier because inference needs them: the classifier
loads models through ``load_saved`` here and never imports the training
package (which builds models out of these layers). Registered layers mean an
exported model needs no ``safe_mode=False`` (no Python lambdas are serialized).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
from keras import ops


def load_saved(path: str | Path) -> keras.Model:
    """Load a saved model (for inference or as weights to start from). Defined here, beside the layers
    it may hold, so that no caller can load one before they are registered."""
    return keras.saving.load_model(path, compile=False)


@keras.saving.register_keras_serializable(package="moodstream")
class ChannelPool(keras.layers.Layer):
    """Mean or max over channels, keeping the axis: the inputs of CBAM's spatial attention."""

    def __init__(self, mode: str = "mean", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in ("mean", "max"):
            raise ValueError("mode must be mean or max")
        self.mode = mode

    def call(self, x: Any) -> Any:
        return (
            ops.mean(x, axis=-1, keepdims=True) if self.mode == "mean" else ops.max(x, axis=-1, keepdims=True)
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="moodstream")
class ClassBoost(keras.layers.Layer):
    """Spreads a class-specific branch's single logit onto that class's position."""

    def __init__(self, index: int, classes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index, self.classes = index, classes

    def call(self, x: Any) -> Any:
        return x * ops.one_hot(self.index, self.classes, dtype=x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "index": self.index, "classes": self.classes}


@keras.saving.register_keras_serializable(package="moodstream")
class MirrorFaces(keras.layers.Layer):
    """A deterministic left-right flip of (N, H, W, C) faces: the second view of flip-averaged inference.

    Keras' RandomFlip is the identity at inference, so an exported model that
    averages each face with its mirror image needs a flip that always happens.
    """

    def call(self, x: Any) -> Any:
        return ops.flip(x, axis=2)
