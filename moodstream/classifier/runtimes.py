"""The two ways the classifier runs a model: Keras (any backend, GPU-capable) or a TFLite file on the CPU.

Why TFLite: the default model's batched Keras call costs ~0.6 ms a face on the 2-core CPU; the same
weights quantized to int8 (dynamic range) and run by XNNPACK cost ~0.15 ms, with the same accuracy on
FER2013 PublicTest (both figures are in the model's sidecar and docs/benchmarks.md). A model folder
offers a TFLite file by naming it in ``model.json``; ``[classifier] runtime`` chooses.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from moodstream.modelspec import ModelError, ModelSpec

RUNTIMES = ("auto", "keras", "tflite")


def cpu_threads() -> int:
    """The cores this process may use (a container's CPU set, not the host's)."""
    with contextlib.suppress(AttributeError):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def keras_device(backend: str, device: str) -> str:
    """Where the Keras backend will run: 'gpu' when it sees one (unless told 'cpu'), else 'cpu'."""
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if device == "gpu" and not gpus:
            raise ModelError("device = 'gpu' but TensorFlow sees no GPU")
        if device == "cpu" or not gpus:
            if gpus:
                tf.config.set_visible_devices([], "GPU")
            return "cpu"
        for gpu in gpus:
            with contextlib.suppress(RuntimeError):
                tf.config.experimental.set_memory_growth(gpu, True)
        return "gpu"
    if backend == "jax":
        import jax

        kinds = {d.platform for d in jax.devices()}
        if device == "gpu" and "gpu" not in kinds:
            raise ModelError("device = 'gpu' but JAX sees no GPU")
        return "gpu" if "gpu" in kinds and device != "cpu" else "cpu"
    if device == "gpu":
        raise ModelError(f"device = 'gpu' is not supported on the {backend} backend")
    return "cpu"


def choose(spec: ModelSpec, runtime: str, device: str) -> str:
    """'keras' or 'tflite'. ``auto`` takes the model's TFLite file when the model would run on the CPU
    anyway; a GPU (asked for, or seen by the Keras backend) runs the Keras model."""
    if runtime not in RUNTIMES:
        raise ModelError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if runtime == "keras":
        return "keras"
    if spec.tflite is None:
        if runtime == "tflite":
            raise ModelError(f"{spec.folder}: runtime = 'tflite' but model.json names no TFLite file")
        return "keras"
    if device == "gpu":
        if runtime == "tflite":
            raise ModelError("runtime = 'tflite' runs on the CPU; it cannot be combined with device = 'gpu'")
        return "keras"
    if runtime == "tflite" or device == "cpu":
        return "tflite"
    import keras

    return "keras" if keras_device(keras.backend.backend(), "auto") == "gpu" else "tflite"


def _interpreter_class() -> Any:
    """LiteRT's interpreter (the maintained one); TensorFlow's deprecated copy where LiteRT is missing."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806 - a class
    return Interpreter


class TFLiteRunner:
    """Calls a TFLite model on float32 batches; one interpreter per batch size (sizes are padded to powers
    of two by the caller, so there are a handful)."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        try:
            self._blob = path.read_bytes()
            self._cls = _interpreter_class()
            self._threads = threads or cpu_threads()
            self._by_size: dict[int, tuple[Any, dict[str, Any], list[dict[str, Any]]]] = {}
            self._interpreter(1)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load {path}: {exc}") from exc

    def _interpreter(self, n: int) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
        if n not in self._by_size:
            it = self._cls(model_content=self._blob, num_threads=self._threads)
            inp = it.get_input_details()[0]
            it.resize_tensor_input(inp["index"], [n, *inp["shape"][1:]])
            it.allocate_tensors()
            self._by_size[n] = (it, it.get_input_details()[0], it.get_output_details())
        return self._by_size[n]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The model's (first) output for the batch ``x``."""
        return self.run_all(x)[0]

    def run_all(self, x: np.ndarray) -> list[np.ndarray]:
        """Every output of the model for the batch ``x``, in the model's order."""
        it, inp, outs = self._interpreter(len(x))
        it.set_tensor(inp["index"], _quantize(x, inp))
        it.invoke()
        return [_dequantize(it.get_tensor(out["index"]), out) for out in outs]


def _quantize(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Float input into a fully quantized model's integer input (a no-op for float inputs)."""
    dtype = detail["dtype"]
    if dtype == np.float32:
        return x.astype(np.float32, copy=False)
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def _dequantize(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if y.dtype == np.float32:
        return y.copy()
    scale, zero = detail["quantization"]
    return ((y.astype(np.float32) - zero) * scale).astype(np.float32)
