"""Training, evaluating and exporting FER models for the classifier (see docs/training.md)."""

import os

# The commands that run TensorFlow for training and evaluation.
TENSORFLOW_COMMANDS = frozenset({"train", "pack-data", "evaluate", "quantize", "export"})


def use_stable_kernels() -> None:
    """Turn TensorFlow's oneDNN kernels off unless the user asked for them (TF_ENABLE_ONEDNN_OPTS=1).

    TensorFlow 2.20's oneDNN kernels corrupt the heap or crash in training steps on this project's AVX-512
    CPU; Eigen's are stable. It takes effect only before TensorFlow is imported, so the CLI calls it first
    for the commands that train or evaluate, and the tests at start-up; importing this package changes
    nothing.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
