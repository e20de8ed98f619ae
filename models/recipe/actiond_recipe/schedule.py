"""A cosine learning-rate decay that ends with the run, whichever ends it first: the
epochs or the time budget (`--max-minutes`). A step-count cosine cut short by the
budget stops at a high learning rate and never anneals."""

from __future__ import annotations

import math
import time


def progress(step: int, total_steps: int, elapsed_s: float, budget_s: float | None) -> float:
    """How far the run is, 0…1: the larger of the step fraction and the time fraction."""
    p = step / max(1, total_steps)
    if budget_s:
        p = max(p, elapsed_s / budget_s)
    return min(1.0, max(0.0, p))


def cosine(base: float, p: float, floor: float = 0.02) -> float:
    """Cosine decay from `base` at p = 0 to `floor`·base at p = 1."""
    return base * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * p)))


def callback(base: float, total_steps: int, max_minutes: float | None, floor: float = 0.02):
    """A Keras callback setting the optimizer's learning rate before every batch and
    stopping the run, mid-epoch if need be, when the time budget is spent."""
    import keras

    class BudgetCosine(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.step, self.t0 = 0, None

        def on_train_batch_begin(self, batch, logs=None):
            if self.t0 is None:
                self.t0 = time.time()
            p = progress(self.step, total_steps, time.time() - self.t0, 60 * max_minutes if max_minutes else None)
            self.model.optimizer.learning_rate.assign(cosine(base, p, floor))
            self.step += 1

        def on_train_batch_end(self, batch, logs=None):
            # At the budget, stop mid-epoch: the epoch still ends (validation, keep-best).
            if max_minutes and time.time() - self.t0 >= 60 * max_minutes:
                self.model.stop_training = True

    return BudgetCosine()
