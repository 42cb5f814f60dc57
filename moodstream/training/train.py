"""Training runs: a config, a run directory, and the research schedule.

A run directory holds everything about one run — ``config.json``,
``history.csv``, ``checkpoints/best.keras`` and ``last.keras``, Keras'
backup for resuming mid-run, the evaluation and its plots — so that
``moodstream train --run-dir DIR`` resumes a run that stopped, and
``moodstream export DIR`` needs nothing else.

Transfer models train in phases: the head on a frozen backbone, then more
and more of the backbone unfrozen (BatchNorm always frozen) at a lower
learning rate; the hybrid unfreezes progressively in three steps.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodstream.training.recipe import TrainConfig, default_phases
from moodstream.training.rundir import RunState, best_so_far, read_histories

log = logging.getLogger(__name__)


def device_info() -> dict[str, Any]:
    import keras

    info: dict[str, Any] = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpus": [],
    }
    try:
        if info["backend"] == "tensorflow":
            import tensorflow as tf

            info["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
        elif info["backend"] == "jax":
            import jax

            info["gpus"] = [f"{d.device_kind} ({d})" for d in jax.devices() if d.platform == "gpu"]
    except Exception:  # noqa: BLE001 - device listing is informational
        pass
    return info


def load_initial_weights(core: Any, source: str | Path) -> None:
    """Copy the weights of an exported model (its core, if the export wraps one) into ``core``."""
    import keras

    from moodstream.classifier.layers import load_saved
    from moodstream.modelspec import ModelSpec, resolve_model_dir

    path = Path(source)
    if not path.is_file():  # a model folder, or a name under models/
        path = ModelSpec.load(resolve_model_dir(str(source))).path
    donor = load_saved(path)
    nested = [layer for layer in donor.layers if isinstance(layer, keras.Model)]
    if nested:  # e.g. a mirror-averaged export: the trained network is inside
        donor = nested[0]
    try:
        core.set_weights(donor.get_weights())
    except ValueError as exc:
        raise ValueError(f"{source}: its weights do not fit this model ({exc})") from exc


def _compile(model: Any, cfg: TrainConfig, lr: float) -> None:
    import keras

    from moodstream.training.callbacks import DynamicAdamW

    if cfg.teachers:  # targets are probability vectors (validation: one-hot)
        loss = keras.losses.CategoricalCrossentropy()
        accuracy: Any = keras.metrics.CategoricalAccuracy(name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        accuracy = "accuracy"
    model.compile(
        optimizer=DynamicAdamW(learning_rate=lr, weight_decay=cfg.weight_decay),
        loss=loss,
        metrics=[accuracy],
    )


def _callbacks(run_dir: Path, cfg: TrainConfig, tag: str, limit: Any) -> list[Any]:
    import keras

    from moodstream.training.callbacks import WeightDecayOnLRDrop

    ckpt = run_dir / "checkpoints"
    ckpt.mkdir(parents=True, exist_ok=True)
    return [
        # Kept when the time limit stops a phase (the next invocation resumes from it); removed once it ends.
        keras.callbacks.BackupAndRestore(str(run_dir / "backup" / tag), delete_checkpoint=False),
        limit,
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=cfg.lr_factor, patience=cfg.lr_patience, min_lr=cfg.min_lr, verbose=1
        ),
        WeightDecayOnLRDrop(alpha=cfg.wd_alpha, max_decay=cfg.wd_max, verbose=1),
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=cfg.early_stop_patience, restore_best_weights=True, verbose=1
        ),
        keras.callbacks.ModelCheckpoint(
            str(ckpt / "best.keras"),
            monitor="val_accuracy",
            save_best_only=True,
            initial_value_threshold=best_so_far(run_dir),  # a resumed run never overwrites a better epoch
        ),
        keras.callbacks.CSVLogger(str(run_dir / f"history-{tag}.csv"), append=True),
    ]


@dataclass
class TrainData:
    train: Any  # data.Split
    val: Any
    targets: Any  # soft targets for distillation, or None
    weights: dict[int, float] | None  # class weights, or None


def train(
    cfg: TrainConfig,
    run_dir: str | Path,
    verbose: int = 2,
    data_cache: Path | None = None,
    time_limit: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Train (or resume) a run; returns the run's summary, also written to ``summary.json``.

    With ``time_limit`` (seconds) training stops at the last epoch end that fits; the summary then says
    ``finished: false`` and the same call resumes where it stopped.
    """
    import keras

    from moodstream.training.callbacks import TimeLimit

    run = _prepare_run(cfg, Path(run_dir))
    keras.utils.set_random_seed(cfg.seed)
    info = device_info()
    precision = cfg.precision
    if precision == "auto":
        precision = "mixed_float16" if info["gpus"] else "float32"
    keras.mixed_precision.set_global_policy(precision)
    data = load_data(cfg, run, data_cache)
    state = RunState.load(run)
    core, model = _build_models(cfg, state)
    started = time.time()
    limit = TimeLimit(clock() + time_limit if time_limit else float("inf"), clock)
    finished = _fit_schedule(cfg, run, core, model, data, state, verbose, limit)
    state.seconds += time.time() - started
    state.save()
    _load_best(run, model)
    summary = _finish(cfg, run, core, data, state.seconds, info, precision)
    summary["finished"] = finished
    (run / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _load_best(run: Path, model: Any) -> None:
    """The best epoch of the whole run (EarlyStopping restores only the best of this invocation)."""
    best = run / "checkpoints" / "best.keras"
    if best.exists():
        model.load_weights(best)


def _float32_copy(cfg: TrainConfig, core: Any) -> Any:
    """The network with float32 layers: a mixed-precision run's layers would compute in float16/bfloat16
    wherever it is loaded, which CPUs do slowly; its variables are float32 already."""
    import keras

    from moodstream.training.models import build

    if keras.mixed_precision.global_policy().name == "float32":
        return core
    keras.mixed_precision.set_global_policy("float32")
    copy = build(cfg.model, input_size=cfg.input_size, **cfg.model_options)
    copy.set_weights(core.get_weights())
    return copy


def _prepare_run(cfg: TrainConfig, run: Path) -> Path:
    """The run folder, holding this config; a folder with another run's config is refused."""
    run.mkdir(parents=True, exist_ok=True)
    saved = run / "config.json"
    if saved.exists():
        previous = TrainConfig.model_validate_json(saved.read_text())
        if previous.model_dump() != cfg.model_dump():
            raise ValueError(
                f"{run} holds a different run's config; use a new --run-dir or the same settings"
            )
    saved.write_text(cfg.model_dump_json(indent=2))
    return run


def load_data(cfg: TrainConfig, run: Path, data_cache: Path | None = None) -> TrainData:
    """The splits at the run's input size, distillation targets and class weights."""
    from moodstream.training import data as fer

    cache = (
        data_cache
        or Path(os.environ.get("MOODSTREAM_CACHE", Path.home() / ".cache" / "moodstream")) / "datasets"
    )
    train_split = fer.load(cfg.data, "train", cfg.input_size, cache=cache)
    val_split = fer.load(cfg.data, "val", cfg.input_size, cache=cache)
    keep = fer.subset_indices(len(train_split), cfg.max_train, cfg.seed)
    if cfg.max_train:
        train_split = fer.Split(train_split.x[keep], train_split.y[keep], train_split.name)
    targets = None
    if cfg.teachers:
        from moodstream.training.distill import soft_targets

        targets = soft_targets(
            cfg.teachers,
            cfg.data,
            train_split.y,
            cfg.distill_alpha,
            cfg.distill_temperature,
            cache=cache,
            cache_file=run / "teacher-train.npy",
            indices=keep,
        )
    if cfg.max_val:
        val_split = fer.subset(val_split, cfg.max_val, cfg.seed)
    weights = None
    if cfg.class_weights:
        weights = {k: v**cfg.class_weights_power for k, v in fer.class_weights(train_split.y).items()}
    log.info("train %s, val %s, class weights %s", train_split.counts(), val_split.counts(), weights)
    return TrainData(train_split, val_split, targets, weights)


def _build_models(cfg: TrainConfig, state: RunState) -> tuple[Any, Any]:
    """The network to export (core), and the same wrapped with augmentation for fitting."""
    from moodstream.training.augment import training_model
    from moodstream.training.models import build, freeze_batchnorm

    core = build(cfg.model, input_size=cfg.input_size, **cfg.model_options)
    if cfg.init_from and not state.done:
        load_initial_weights(core, cfg.init_from)
        log.info("initial weights from %s", cfg.init_from)
    if cfg.freeze_batchnorm:
        log.info("%d BatchNorm layers frozen", freeze_batchnorm(core))
    return core, training_model(core, cfg.augment, seed=cfg.seed)


def _host_transform(cfg: TrainConfig) -> Any:
    if cfg.augment.where != "host":
        return None
    from functools import partial

    from moodstream.training.augment import host_transform

    return partial(host_transform, cfg=cfg.augment)


def _datasets(cfg: TrainConfig, data: TrainData) -> tuple[Any, Any]:
    """What ``fit`` reads: shuffled, weighted training batches (soft targets when distilling), and val."""
    import numpy as np

    from moodstream.training import data as fer

    train_ds = fer.batches(
        fer.Split(data.train.x, data.train.y, "train"),
        cfg.batch_size,
        shuffle=True,
        seed=cfg.seed,
        with_weights=data.weights,
        targets=data.targets,
        transform=_host_transform(cfg),
    )
    val_targets = None if data.targets is None else np.eye(len(data.targets[0]), dtype=np.float32)[data.val.y]
    return train_ds, fer.batches(data.val, cfg.batch_size, shuffle=False, targets=val_targets)


def _fit_schedule(
    cfg: TrainConfig,
    run: Path,
    core: Any,
    model: Any,
    data: TrainData,
    state: RunState,
    verbose: int,
    limit: Any,
) -> bool:
    """Each phase in turn (one for most models; head, then more and more backbone for transfer).

    Returns whether all phases are done (False: the time limit stopped one; its backup resumes it).
    """
    import shutil

    from moodstream.training.models import unfreeze

    train_ds, val_ds = _datasets(cfg, data)
    phases = default_phases(cfg)
    schedule = [("head" if phases else "main", 0.0, cfg.epochs, cfg.lr)]
    schedule += [(f"phase{i + 2}", p.unfreeze, p.epochs, p.lr) for i, p in enumerate(phases)]
    for tag, fraction, epochs, lr in schedule:
        if fraction:
            n = unfreeze(core, fraction)
            log.info("%s: %d backbone layers trainable (BatchNorm frozen), lr %.1e", tag, n, lr)
        phase_weights = run / "checkpoints" / f"{tag}.weights.h5"
        if tag in state.done and phase_weights.exists():
            core.load_weights(phase_weights)  # finished in an earlier invocation: resume after it
            log.info("%s: already done; weights loaded", tag)
            continue
        if limit.clock() >= limit.deadline:
            return False
        _compile(model, cfg, lr)
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=epochs,
            callbacks=_callbacks(run, cfg, tag, limit),
            verbose=verbose,
        )
        if limit.expired:
            return False
        core.save_weights(phase_weights)
        shutil.rmtree(run / "backup" / tag, ignore_errors=True)
        state.done.append(tag)
        state.save()
    return True


def _finish(
    cfg: TrainConfig,
    run: Path,
    core: Any,
    data: TrainData,
    seconds: float,
    info: dict[str, Any],
    precision: str,
) -> dict[str, Any]:
    """Save the final networks, evaluate on val, write the report and the summary."""
    import numpy as np

    from moodstream.training import data as fer
    from moodstream.training.evaluate import evaluate_probs, write_report

    ckpt = run / "checkpoints"
    core = _float32_copy(cfg, core)
    core.save(ckpt / "last.keras")
    # The run's best weights (_load_best); the core (no augmentation) is what gets exported.
    core.save(ckpt / "core.keras")
    probs = np.concatenate([np.asarray(core(x, training=False)) for x in fer.iterate(data.val, 256)])
    report = evaluate_probs(data.val.y, probs)
    histories = read_histories(run)
    write_report(report, run / "eval-val", histories)
    summary = {
        "model": cfg.model,
        "params": int(core.count_params()),
        "train_seconds": round(seconds, 1),
        "epochs_run": {k: len(v.get("loss", [])) for k, v in histories.items()},
        "device": info,
        "precision": precision,
        "init_from": cfg.init_from or None,
        "teachers": cfg.teachers or None,
        "val": {k: report[k] for k in ("accuracy", "macro_f1", "balanced_accuracy", "kappa", "log_loss")},
        "data": {"source": str(cfg.data), "train": data.train.counts(), "val": data.val.counts()},
    }
    (run / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
