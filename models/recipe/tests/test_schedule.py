"""The learning-rate schedule that ends with the run: by steps or by the time budget."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe import schedule  # noqa: E402


def test_progress_is_the_larger_of_steps_and_time():
    assert schedule.progress(0, 100, 0.0, 60.0) == 0.0
    assert schedule.progress(50, 100, 6.0, 60.0) == pytest.approx(0.5)
    # The budget runs out first: the schedule follows the clock.
    assert schedule.progress(10, 100, 45.0, 60.0) == pytest.approx(0.75)
    assert schedule.progress(10, 100, 120.0, 60.0) == 1.0
    # No budget: steps alone.
    assert schedule.progress(25, 100, 1e6, None) == pytest.approx(0.25)


def test_cosine_starts_at_base_halves_midway_and_ends_at_the_floor():
    assert schedule.cosine(2e-3, 0.0) == pytest.approx(2e-3)
    assert schedule.cosine(2e-3, 0.5) == pytest.approx(2e-3 * (0.02 + 0.98 * 0.5))
    assert schedule.cosine(2e-3, 1.0) == pytest.approx(2e-3 * 0.02)
    values = [schedule.cosine(1.0, p / 10) for p in range(11)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_the_callback_sets_the_rate_and_stops_at_the_budget():
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="mse")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate.numpy()))

    x, y = np.zeros((40, 2), np.float32), np.zeros((40, 1), np.float32)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[schedule.callback(1e-3, 20, None), Record()])
    assert len(seen) == 20 and seen[0] == pytest.approx(1e-3) and seen[-1] < 0.05e-3
    seen.clear()
    # A budget of zero minutes' worth: one batch, then the run stops.
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[schedule.callback(1e-3, 20, 1e-9), Record()])
    assert len(seen) == 1
