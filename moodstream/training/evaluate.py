"""Evaluation: the research metrics, per-class report, confusion matrix and training curves.

Metrics are computed with NumPy from labels and probabilities, so they are
the same whatever backend produced the probabilities. Test-time augmentation
(``tta=True``) averages the probabilities of each face and its mirror image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from moodstream.streams.schemas import EMOTIONS


def confusion(y: np.ndarray, pred: np.ndarray, k: int = len(EMOTIONS)) -> np.ndarray:
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def evaluate_probs(y: np.ndarray, probs: np.ndarray, classes: tuple[str, ...] = EMOTIONS) -> dict[str, Any]:
    """Accuracy, macro P/R/F1, balanced accuracy, Cohen's kappa, log loss, per-class report, confusion matrix."""
    y = np.asarray(y, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    k = len(classes)
    pred = probs.argmax(axis=1)
    m = confusion(y, pred, k)
    support = m.sum(axis=1)
    predicted = m.sum(axis=0)
    tp = np.diag(m).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0
    )
    present = support > 0
    n = m.sum()
    po = tp.sum() / n
    pe = float((support * predicted).sum()) / float(n * n)
    kappa = (po - pe) / (1 - pe) if pe < 1 else 0.0
    clipped = np.clip(probs[np.arange(len(y)), y], 1e-15, 1.0)
    return {
        "n": int(n),
        "accuracy": round(float(po), 4),
        "macro_precision": round(float(precision[present].mean()), 4),
        "macro_recall": round(float(recall[present].mean()), 4),
        "macro_f1": round(float(f1[present].mean()), 4),
        "balanced_accuracy": round(float(recall[present].mean()), 4),
        "kappa": round(float(kappa), 4),
        "log_loss": round(float(-np.log(clipped).mean()), 4),
        "per_class": {
            c: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion": m.tolist(),
        "classes": list(classes),
    }


def predict(model: Any, x: np.ndarray, batch: int = 256, tta: bool = False) -> np.ndarray:
    """Class probabilities for float inputs (N, s, s, 1); with ``tta``, averaged with the mirrored faces."""
    outs = []
    for i in range(0, len(x), batch):
        chunk = x[i : i + batch]
        p = np.asarray(model(chunk, training=False), dtype=np.float64)
        if tta:
            p = (p + np.asarray(model(chunk[:, :, ::-1, :], training=False), dtype=np.float64)) / 2
        outs.append(p)
    return np.concatenate(outs)


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"n={r['n']}  accuracy {r['accuracy']:.4f}  macro-F1 {r['macro_f1']:.4f}  balanced accuracy "
        f"{r['balanced_accuracy']:.4f}  kappa {r['kappa']:.4f}  log loss {r['log_loss']:.4f}",
        f"macro precision {r['macro_precision']:.4f}  macro recall {r['macro_recall']:.4f}",
        "",
        f"{'class':<10}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}",
    ]
    for c, s in r["per_class"].items():
        lines.append(f"{c:<10}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>8.3f}{s['support']:>9}")
    return "\n".join(lines)


def plot_confusion(r: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.array(r["confusion"], dtype=np.float64)
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(r["classes"])), r["classes"], rotation=45, ha="right")
    ax.set_yticks(range(len(r["classes"])), r["classes"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(m)):
        for j in range(len(m)):
            ax.text(
                j,
                i,
                f"{int(m[i, j])}",
                ha="center",
                va="center",
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_title(f"accuracy {r['accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f}")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_curves(histories: dict[str, dict[str, list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    merged: dict[str, list[float]] = {}
    for hist in histories.values():
        for key, values in hist.items():
            merged.setdefault(key, []).extend(float(v) for v in values)
    if not merged:
        return
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, (a, b, title) in zip(
        axes,
        (
            ("loss", "val_loss", "loss"),
            ("accuracy", "val_accuracy", "accuracy"),
            ("learning_rate", "weight_decay", ""),
        ),
        strict=True,
    ):
        for key in (a, b):
            if key in merged:
                ax.plot(range(1, len(merged[key]) + 1), merged[key], label=key)
        if not title:
            ax.set_yscale("log")
            title = "learning rate, weight decay"
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(r: dict[str, Any], out: Path, histories: dict[str, Any] | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(r, indent=2))
    (out / "report.txt").write_text(format_report(r) + "\n")
    plot_confusion(r, out / "confusion.png")
    if histories:
        plot_curves(histories, out / "curves.png")


def model_probs(
    folder: str | Path,
    data: str | Path,
    split: str,
    tta: bool = False,
    cache: Path | None = None,
    indices: np.ndarray | None = None,
    runtime: str = "keras",
) -> tuple[np.ndarray, np.ndarray]:
    """An exported model folder's probabilities on a split, fed the way the classifier feeds it (its own
    input size and scaling, and with ``runtime = "tflite"`` its TFLite file, through the classifier's own
    predictor) and in the classifier's class order; with the split's labels."""
    from moodstream.classifier.layers import load_saved
    from moodstream.modelspec import ModelSpec
    from moodstream.training import data as fer

    spec = ModelSpec.load(folder)
    s = fer.load(data, split, spec.size, cache=cache)
    if indices is not None:
        s = fer.Split(s.x[indices], s.y[indices], s.name)
    if runtime != "keras":
        from moodstream.classifier.predictor import Predictor

        predictor = Predictor(spec, max_batch=256, device="cpu", runtime=runtime)
        probs = predictor.predict_crops(s.x).astype(np.float64)
        if tta:
            probs = (probs + predictor.predict_crops(np.ascontiguousarray(s.x[:, :, ::-1]))) / 2
        return probs, s.y
    model = load_saved(spec.path)
    return spec.to_canonical(predict(model, spec.preprocess(s.x), tta=tta)), s.y


def evaluate_model(
    folders: str | Path | list[str | Path],
    data: str | Path,
    split: str = "val",
    tta: bool = False,
    runtime: str = "keras",
) -> dict[str, Any]:
    """Evaluate an exported model folder the way the classifier feeds it; several folders are evaluated
    as an ensemble (the mean of their probabilities, each model at its own input size and scaling)."""
    many = folders if isinstance(folders, list) else [folders]
    runs = [model_probs(folder, data, split, tta=tta, runtime=runtime) for folder in many]
    probs = np.mean([p for p, _ in runs], axis=0)
    return evaluate_probs(runs[0][1], probs)
