"""The optimizer and callbacks of the research recipe.

AdamW with ReduceLROnPlateau, plus the research callback that raises weight
decay whenever the learning rate drops: λ ← min(λ·α, λ_max). Keras 3 bakes a
plain-float weight decay into the compiled train step, so the decay lives in
an optimizer variable (``DynamicAdamW``), which the callback assigns between
epochs; that works under TensorFlow and JAX alike.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="moodstream")
class DynamicAdamW(keras.optimizers.AdamW):
    """AdamW whose weight decay is a variable, so it can change during training."""

    def build(self, var_list: list[Any]) -> None:
        if self.built:
            return
        super().build(var_list)
        self.decay = self.add_variable(
            shape=(), initializer=keras.initializers.Constant(float(self.weight_decay or 0.0)), name="decay"
        )

    def _apply_weight_decay(self, variables: list[Any]) -> None:
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = ops.cast(self.learning_rate, variable.dtype)
                wd = ops.cast(self.decay, variable.dtype)
                variable.assign(variable - variable * wd * lr)


class WeightDecayOnLRDrop(keras.callbacks.Callback):
    """λ ← min(λ·α, λ_max) at the end of every epoch in which the learning rate went down."""

    def __init__(self, alpha: float = 2.0, max_decay: float = 1e-2, verbose: int = 0) -> None:
        super().__init__()
        if alpha < 1.0:
            raise ValueError("alpha must be at least 1 (the decay only grows)")
        self.alpha = alpha
        self.max_decay = max_decay
        self.verbose = verbose
        self._last_lr: float | None = None
        self.changes: list[tuple[int, float, float]] = []  # (epoch, lr, new decay)

    def _optimizer(self) -> Any:
        """The optimizer itself: under mixed float16 Keras wraps it in a LossScaleOptimizer."""
        opt = self.model.optimizer
        return getattr(opt, "inner_optimizer", opt)

    def _lr(self) -> float:
        return float(ops.convert_to_numpy(self._optimizer().learning_rate))

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._last_lr = self._lr()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        lr = self._lr()
        opt = self._optimizer()
        decay_var = getattr(opt, "decay", None)
        current = (
            float(ops.convert_to_numpy(decay_var)) if decay_var is not None else float(opt.weight_decay or 0)
        )
        if self._last_lr is not None and lr < self._last_lr * (1 - 1e-6):
            new = min(current * self.alpha, self.max_decay)
            if not math.isclose(new, current, rel_tol=1e-5):
                if decay_var is not None:
                    decay_var.assign(new)
                opt.weight_decay = new
                self.changes.append((epoch, lr, new))
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: learning rate {lr:.2e}; weight decay -> {new:.2e}")
        self._last_lr = lr
        if logs is not None:
            # The value this epoch trained with, as ReduceLROnPlateau logs `learning_rate`: a change
            # made here shows from the next epoch's row on, in step with the lower learning rate.
            logs["weight_decay"] = current


class TimeLimit(keras.callbacks.Callback):
    """Ends fitting at an epoch's end when one more epoch (as long as the longest so far) would pass ``deadline``.

    Why: a GPU machine lent for ten-minute commands kills what overruns; stopping between epochs instead
    leaves a backup that the next command resumes from (``moodstream train`` run again), and an evaluated,
    exportable run folder in the meantime.
    """

    def __init__(self, deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.deadline = deadline
        self.clock = clock
        self.expired = False
        self._began = 0.0
        self._longest = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._began = self.clock()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        now = self.clock()
        self._longest = max(self._longest, now - self._began)
        last = epoch + 1 >= int(self.params.get("epochs", 0) or 0)
        if now + self._longest > self.deadline and not last:
            self.expired = True
            self.model.stop_training = True
            print(f"\nEpoch {epoch + 1}: time limit reached; run the same command again to resume")
