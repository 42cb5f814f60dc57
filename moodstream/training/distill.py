"""Soft targets from teacher models, for training one network on what several know (knowledge distillation).

Why: two different ~0.65 FER models averaged are more accurate than either, but cost the sum of both at
inference. Training one network on their averaged predictions (Hinton et al., 2015) moves much of that gain
into a single model's cost. The targets are computed once per run, on the unaugmented training images averaged
with their mirror images, so the flip augmentation can never disagree with them, and cached in the run folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from moodstream.streams.schemas import EMOTIONS

log = logging.getLogger(__name__)


def soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities at a higher temperature: p^(1/T), renormalised (T > 1 spreads mass to the runners-up)."""
    logits = np.log(np.clip(probs, 1e-7, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def teacher_probs(
    teacher: str, source: str | Path, split: str, cache: Path | None, indices: np.ndarray | None = None
) -> np.ndarray:
    """A model's class probabilities on a split (or the images at ``indices``), averaged over each face and
    its mirror, at its own input size."""
    from moodstream.modelspec import resolve_model_dir
    from moodstream.training.evaluate import model_probs

    probs, _ = model_probs(resolve_model_dir(teacher), source, split, tta=True, cache=cache, indices=indices)
    return probs.astype(np.float32)


def soft_targets(
    teachers: list[str],
    source: str | Path,
    labels: np.ndarray,
    alpha: float,
    temperature: float,
    cache: Path | None,
    cache_file: Path | None = None,
    indices: np.ndarray | None = None,
) -> np.ndarray:
    """alpha · one-hot label + (1 − alpha) · the teachers' mean at ``temperature``, for the train split (or the
    images at ``indices``: a smoke run's subset costs the teachers no more than the subset)."""
    if cache_file is not None and cache_file.exists():
        mean = np.load(cache_file)
    else:
        mean = np.mean([teacher_probs(t, source, "train", cache, indices) for t in teachers], axis=0)
        if cache_file is not None:
            np.save(cache_file, mean)
    if mean.shape != (len(labels), len(EMOTIONS)):
        raise ValueError(f"teacher targets have shape {mean.shape}, the train split {len(labels)} images")
    agree = float((mean.argmax(axis=1) == labels).mean())
    log.info("teachers %s agree with the train labels on %.1f%% of images", teachers, 100 * agree)
    onehot = np.eye(len(EMOTIONS), dtype=np.float32)[labels]
    return alpha * onehot + (1.0 - alpha) * soften(mean, temperature)
