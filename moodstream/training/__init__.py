"""Training, evaluating and exporting FER models for the classifier (see docs/training.md)."""

import os

# TensorFlow 2.20's oneDNN kernels corrupt the heap or crash in training steps on this project's AVX-512
# CPU; Eigen's are stable. This only takes effect when the package is imported before TensorFlow
# (`moodstream train` and the tests make sure of it); set TF_ENABLE_ONEDNN_OPTS=1 to try them.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
