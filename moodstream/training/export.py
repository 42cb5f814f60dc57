"""Export a trained model for the classifier: ``.keras`` + ``model.json``, optional TFLite, a model card.

The folder it writes is what ``[classifier] model`` points at; the sidecar
tells the classifier the input (48x48 gray, scaled to [0, 1]) and the class
order, and records provenance and validation metrics.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from moodstream.classifier.layers import MirrorFaces, load_saved
from moodstream.modelspec import record_sums
from moodstream.streams.schemas import EMOTIONS

METRIC_KEYS = ("accuracy", "macro_f1", "balanced_accuracy", "kappa", "log_loss")


def export(
    run_dir: str | Path,
    out: str | Path,
    name: str | None = None,
    tflite: str = "",
    representative: np.ndarray | None = None,
    mirror_average: bool = False,
) -> Path:
    """With ``mirror_average`` the exported graph averages each face with its mirror image (the
    evaluation's ``--tta``): about +2 points of FER2013 accuracy for twice the inference cost."""
    run = Path(run_dir)
    core_path = run / "checkpoints" / "core.keras"
    if not core_path.exists():
        raise FileNotFoundError(
            f"{core_path} missing: the run has not finished (`moodstream train` resumes it)"
        )
    config = json.loads((run / "config.json").read_text())
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").exists() else {}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if mirror_average:
        with_mirror_average(load_saved(core_path)).save(out / "model.keras")
    else:
        shutil.copyfile(core_path, out / "model.keras")
    card = _sidecar(name or out.name, config, summary, _run_metrics(run), mirror_average)
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    record_sums(out)
    if mirror_average and card["metrics"] and Path(config.get("data", "")).exists():
        from moodstream.training.evaluate import evaluate_model

        # The exported graph's own figures, beside the run's single-view ones.
        report = evaluate_model(out, config["data"], "val")
        card["metrics"] = {"val": {k: report[k] for k in METRIC_KEYS}, **card["metrics"]}
        (out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
        record_sums(out)
    (out / "MODEL_CARD.md").write_text(model_card(card, summary, config))
    if tflite:  # after the card: add_tflite names the file in model.json and adds its section to the card
        data = config.get("data") or ""
        add_tflite(out, tflite, data if data and Path(data).exists() else None, representative)
    return out


def _run_metrics(run: Path) -> dict[str, Any]:
    if not (run / "eval-val" / "metrics.json").exists():
        return {}
    full = json.loads((run / "eval-val" / "metrics.json").read_text())
    return {"val": {k: full[k] for k in METRIC_KEYS}}


def _sidecar(
    name: str, config: dict[str, Any], summary: dict[str, Any], metrics: dict[str, Any], mirror: bool
) -> dict[str, Any]:
    """model.json: how to feed and read the model, where it came from, how well it scored."""
    return {
        "name": name,
        "file": "model.keras",
        "format": "keras",
        "input": {"size": int(config.get("input_size", 48)), "channels": 1, "scaling": "zero_1"},
        "classes": list(EMOTIONS),
        "provenance": {
            "trained_by": "moodstream train",
            "architecture": config.get("model"),
            "data": "FER2013 Training (train), PublicTest (val)",
            "exported": time.strftime("%Y-%m-%d"),
            "train_seconds": summary.get("train_seconds"),
            "device": summary.get("device"),
            "params": summary.get("params"),
            "mirror_average": mirror,
            **_lineage(config),
        },
        # The run's figures are for single views: never label them as a mirror-averaged graph's.
        "metrics": {"val_single_view": metrics["val"]} if mirror and metrics else metrics,
    }


def with_mirror_average(core: keras.Model) -> keras.Model:
    """The model's probabilities averaged over each face and its mirror image (test-time augmentation
    baked into the exported graph, so the classifier gets it at twice the per-face cost and no code)."""
    inputs = keras.Input(shape=core.input_shape[1:], name="face")
    direct = core(inputs)
    mirrored = core(MirrorFaces(name="mirror")(inputs))
    outputs = keras.layers.Average(name="mirror_average")([direct, mirrored])
    return keras.Model(inputs, outputs, name=f"{core.name}_mirror_average")


def _lineage(config: dict[str, Any]) -> dict[str, Any]:
    """Where the weights came from: a run that started from, or learnt from, another model inherits its
    terms, which the card must repeat."""
    out: dict[str, Any] = {}
    licences = ["weights trained by the moodstream project; FER2013 is research data"]
    for key in ("init_from", "teachers"):
        value = config.get(key)
        if not value:
            continue
        out[key] = value
        for source in [value] if isinstance(value, str) else value:
            terms = _licence_of(source)
            if terms:
                licences.append(f"{'starts from' if key == 'init_from' else 'taught by'} {source}: {terms}")
    out["licence"] = "; ".join(licences)
    return out


def _licence_of(model: str) -> str:
    from moodstream.modelspec import ModelError, resolve_model_dir

    try:
        card = json.loads((resolve_model_dir(model) / "model.json").read_text())
    except (ModelError, OSError, ValueError):
        return ""
    prov = card.get("provenance", {})
    terms = prov.get("license") or prov.get("licence") or ""
    source = prov.get("source")
    return f"{terms} ({source})" if terms and source else terms


TFLITE_MODES = ("dynamic", "float16", "int8")


def to_tflite(model: Any, mode: str, representative: np.ndarray | None = None) -> bytes:
    """``dynamic``: int8 weights, float activations (no data needed; what the classifier runs on the CPU);
    ``float16`` weights; or full ``int8`` with representative data. TensorFlow only.

    Through a SavedModel: converting a Keras 3 model's concrete function leaves its weights out."""
    import tempfile

    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("TFLite export needs the TensorFlow backend")
    if mode not in TFLITE_MODES:
        raise ValueError(f"tflite must be one of {', '.join(TFLITE_MODES)}, not {mode!r}")
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False)
        conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            conv.target_spec.supported_types = [tf.float16]
        elif mode == "int8":
            if representative is None or not len(representative):
                raise ValueError("int8 TFLite needs representative data")

            def gen() -> Any:
                for i in range(min(200, len(representative))):
                    yield [representative[i : i + 1].astype(np.float32)]

            conv.representative_dataset = gen
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return conv.convert()


def add_tflite(
    folder: str | Path,
    mode: str = "dynamic",
    data: str | Path | None = None,
    representative: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write the model folder's TFLite file and name it in model.json, so the classifier can run it; with
    ``data``, the file's own PublicTest figures go into the sidecar beside the Keras model's."""
    folder = Path(folder)
    card_path = folder / "model.json"
    card = json.loads(card_path.read_text())
    name = f"model-{mode}.tflite"
    (folder / name).write_bytes(to_tflite(load_saved(folder / card["file"]), mode, representative))
    entry: dict[str, Any] = {"file": name, "quantization": mode, "converted": time.strftime("%Y-%m-%d")}
    card["tflite"] = entry
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    record_sums(folder)
    if data is not None:
        from moodstream.training.evaluate import evaluate_model

        report = evaluate_model(folder, data, "val", runtime="tflite")
        entry["metrics"] = {"val": {k: report[k] for k in METRIC_KEYS}}
        card_path.write_text(json.dumps(card, indent=2) + "\n")
        record_sums(folder)
    _card_tflite_section(folder / "MODEL_CARD.md", entry)
    return entry


TFLITE_HEADING = "## On the CPU: TFLite"
QUANTIZATION = {
    "dynamic": "int8 weights with activations quantized on the fly (dynamic range)",
    "float16": "float16 weights",
    "int8": "int8 weights and activations (calibrated on training faces)",
}


def _card_tflite_section(path: Path, entry: dict[str, Any]) -> None:
    """The model card says what the classifier runs on a CPU, and how it scored (replacing an older
    section, so re-quantizing keeps one)."""
    if not path.exists():
        return
    text = path.read_text().split(TFLITE_HEADING)[0].rstrip() + "\n"
    lines = [
        "",
        TFLITE_HEADING,
        "",
        f"`{entry['file']}` holds the same weights as {QUANTIZATION[entry['quantization']]}, for"
        ' LiteRT/XNNPACK; the classifier runs it on a CPU (`[classifier] runtime = "auto"`).',
    ]
    val = entry.get("metrics", {}).get("val")
    if val:
        lines += ["", "| metric (PublicTest) | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in val.items()]
    path.write_text(text + "\n".join(lines) + "\n")


def model_card(card: dict[str, Any], summary: dict[str, Any], config: dict[str, Any]) -> str:
    val = card["metrics"].get("val", {})
    dev = summary.get("device") or {}
    lines = [
        f"# {card['name']}",
        "",
        f"A {config.get('model')} FER model trained by `moodstream train` for the classifier stage.",
        "",
        "- **Input**: "
        f"{card['input']['size']}x{card['input']['size']} grayscale face crop, scaled to [0, 1].",
        f"- **Output**: probabilities for {', '.join(card['classes'])} (FER2013 order).",
        "- **Data**: FER2013 Training (28,709 faces) for training; PublicTest (3,589) for validation and model"
        " selection. PrivateTest was not used.",
        f"- **Training**: {summary.get('train_seconds', '?')} s on {dev.get('cpu_count', '?')} CPU core(s)"
        f" / GPUs {dev.get('gpus', [])}, Keras {dev.get('keras', '?')} ({dev.get('backend', '?')}),"
        f" {summary.get('params', '?')} parameters; epochs {summary.get('epochs_run', '?')}.",
        f"- **Recipe**: AdamW (lr {config.get('lr')}, weight decay {config.get('weight_decay')} raised x"
        f"{config.get('wd_alpha')} up to {config.get('wd_max')} when the LR drops), ReduceLROnPlateau, early"
        f" stopping on val accuracy, balanced class weights: {config.get('class_weights')}, augmentation"
        f" {config.get('augment')}."
        + (f" Started from the weights of `{config['init_from']}`." if config.get("init_from") else "")
        + (
            f" Distilled from {', '.join(f'`{t}`' for t in config['teachers'])} (soft-target weight"
            f" {1 - config.get('distill_alpha', 0.5):.2f}, temperature {config.get('distill_temperature')})."
            if config.get("teachers")
            else ""
        ),
        f"- **Licence**: {card['provenance']['licence']}.",
        "- **Inference**: "
        + (
            "each face is averaged with its mirror image inside the graph (two passes per face)."
            if card["provenance"].get("mirror_average")
            else "one pass per face."
        ),
        "",
        "## Validation (PublicTest)",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in val.items()]
    if "val_single_view" in card["metrics"]:
        lines += [
            "",
            "Without the mirror average (the run's own evaluation):",
            "",
            "| metric | value |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in card["metrics"]["val_single_view"].items()]
    lines += [
        "",
        "Limitations: FER2013 faces are 48x48, mostly frontal, with noisy labels; disgust is rare.",
        "",
    ]
    return "\n".join(lines)
