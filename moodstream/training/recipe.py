"""A training run's recipe: the model, the data, the schedule and its phases, as one validated config.

``moodstream train --config FILE`` reads it from TOML (training/configs/ holds the shipped models'
recipes); ``config.json`` in the run directory keeps it so that a resumed run trains the same way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from moodstream.training.augment import AugmentSettings


class Phase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(ge=1)
    unfreeze: float = Field(default=0.0, ge=0, le=1)  # fraction of the backbone made trainable
    lr: float = Field(gt=0)


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = "mini_xception"
    model_options: dict[str, Any] = {}
    data: str = "../shared/data/fer2013"
    input_size: int = Field(default=48, ge=32, le=256)
    batch_size: int = Field(default=64, ge=1, le=4096)
    epochs: int = Field(default=60, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    wd_alpha: float = Field(default=2.0, ge=1)
    wd_max: float = Field(default=1e-3, ge=0)
    lr_factor: float = Field(default=0.5, gt=0, lt=1)
    lr_patience: int = Field(default=4, ge=1)
    min_lr: float = Field(default=1e-6, ge=0)
    early_stop_patience: int = Field(default=12, ge=1)
    class_weights: bool = True
    # Balanced weights raised to this power: 1 is fully balanced, 0.5 a softer push towards rare classes.
    class_weights_power: float = Field(default=1.0, ge=0, le=1)
    augment: AugmentSettings = AugmentSettings()
    # Transfer models: phases after the first (head only, frozen backbone, `epochs` at `lr`).
    phases: list[Phase] = []
    # "auto": mixed float16 on a GPU, float32 on a CPU.
    precision: str = Field(default="auto", pattern="^(auto|float32|mixed_float16|mixed_bfloat16)$")
    seed: int = 0
    max_train: int = Field(default=0, ge=0)  # use only this many training images (smoke tests)
    max_val: int = Field(default=0, ge=0)
    # Start from an exported model's weights (a model folder or .keras file of the same architecture):
    # CPU-bound training can go on over several sittings, each a warm restart of the schedule.
    init_from: str = ""
    # Fine-tuning a trained network: BatchNorm layers keep their statistics and run in inference mode.
    freeze_batchnorm: bool = False
    # Knowledge distillation: exported models (names or folders) whose mirror-averaged predictions on the
    # training images become soft targets, mixed with the true label at weight `distill_alpha`.
    teachers: list[str] = []
    distill_alpha: float = Field(default=0.5, ge=0, le=1)
    distill_temperature: float = Field(default=2.0, gt=0)


def default_phases(cfg: TrainConfig) -> list[Phase]:
    from moodstream.training.models import TRANSFER

    if cfg.phases or cfg.model not in TRANSFER:
        return cfg.phases
    if cfg.model == "hybrid":  # progressive unfreezing
        return [
            Phase(epochs=max(1, cfg.epochs // 2), unfreeze=0.15, lr=cfg.lr / 10),
            Phase(epochs=max(1, cfg.epochs // 2), unfreeze=0.35, lr=cfg.lr / 30),
            Phase(epochs=max(1, cfg.epochs // 2), unfreeze=0.6, lr=cfg.lr / 100),
        ]
    return [Phase(epochs=cfg.epochs, unfreeze=0.3, lr=cfg.lr / 10)]
