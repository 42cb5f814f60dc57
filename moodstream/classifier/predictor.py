"""A compiled, batched forward pass of a Keras 3 model.

``model.predict`` per face costs ~40-110 ms of overhead; one compiled call on a
padded batch costs well under a millisecond per face (a TFLite file, where the
model has one, a fraction of that: runtimes.py). Batches are padded up to a
power of two, so backends that compile per shape (XLA, JAX, TFLite's
interpreters) prepare a handful of programs once and never again.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from moodstream.classifier.runtimes import TFLiteRunner, choose, keras_device
from moodstream.modelspec import ModelError, ModelSpec

log = logging.getLogger(__name__)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def bucket(n: int, max_batch: int) -> int:
    size = 1
    while size < n:
        size *= 2
    return min(size, max(max_batch, n))


class Predictor:
    def __init__(
        self, spec: ModelSpec, max_batch: int = 32, device: str = "auto", runtime: str = "auto"
    ) -> None:
        _quiet_tensorflow()
        self.spec = spec
        self.max_batch = max_batch
        self._model: Any = None
        self.runtime = choose(spec, runtime, device)
        if self.runtime == "tflite":
            assert spec.tflite_path is not None
            self.backend, self.device = "tflite", "cpu"
            self._fn: Any = TFLiteRunner(spec.tflite_path)
        else:
            import keras

            self.backend = keras.backend.backend()
            self.device = keras_device(self.backend, device)
            self._fn = self._compile()
        log.info(
            "model %s loaded (runtime %s, backend %s, device %s)",
            spec.name,
            self.runtime,
            self.backend,
            self.device,
        )

    @property
    def model(self) -> Any:
        """The Keras model (loaded on first use under the TFLite runtime: only the benchmark's per-face
        baseline needs it there)."""
        if self._model is None:
            if self.spec.format not in ("keras", "keras-h5"):
                raise ModelError(f"{self.spec.folder}: unsupported model format {self.spec.format!r}")
            try:
                from moodstream.classifier.layers import (
                    load_saved,  # with the custom layers project-trained models use
                )

                self._model = load_saved(self.spec.path)
            except Exception as exc:
                raise ModelError(f"cannot load {self.spec.path}: {exc}") from exc
        return self._model

    def _compile(self) -> Any:
        model = self.model
        if self.backend == "tensorflow":
            import tensorflow as tf

            shape = [None, self.spec.size, self.spec.size, self.spec.channels]
            return tf.function(
                lambda x: model(x, training=False),
                input_signature=[tf.TensorSpec(shape, tf.float32)],
                reduce_retracing=True,
            )
        if self.backend == "jax":
            import jax

            return jax.jit(lambda x: model(x, training=False))
        return lambda x: model(x, training=False)

    def warmup(self) -> None:
        size = 1
        while size <= self.max_batch:
            self.predict_crops(np.zeros((size, self.spec.size, self.spec.size), np.uint8))
            size *= 2

    def predict_crops(self, crops: np.ndarray) -> np.ndarray:
        """uint8 [N, S, S] -> probabilities [N, 7] in moodstream's class order."""
        n = len(crops)
        if n == 0:
            return np.zeros((0, 7), np.float32)
        out = []
        for start in range(0, n, self.max_batch):
            chunk = self.spec.preprocess(crops[start : start + self.max_batch])
            padded_n = bucket(len(chunk), self.max_batch)
            if padded_n > len(chunk):
                pad = np.zeros((padded_n - len(chunk), *chunk.shape[1:]), np.float32)
                chunk_in = np.concatenate([chunk, pad])
            else:
                chunk_in = chunk
            probs = np.asarray(self._fn(chunk_in))[: len(chunk)]
            out.append(probs)
        return self.spec.to_canonical(np.concatenate(out).astype(np.float32))

    def predict_per_face(self, crops: np.ndarray) -> np.ndarray:
        """The research prototypes' way (one ``model.predict`` per face); kept for the benchmark only."""
        out = [self.model.predict(self.spec.preprocess(c[None]), verbose=0)[0] for c in crops]
        return self.spec.to_canonical(np.asarray(out, np.float32))
