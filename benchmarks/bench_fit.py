"""Time `Forecaster.fit` against a plain `keras.Sequential` + `model.fit` on the same windows.

Both train the same network (two stacked LSTM layers of 30 units and ``Dense(1)``, Adam, mean
squared error) on the same arrays: the windows of the classic sine experiment, train
``np.sin(np.linspace(0, 100, 10000))``, test ``np.sin(np.linspace(100, 110, 1000))``, input
width 10, horizon 1, batch 32. The Forecaster runs with ``scaler="none"``, ``normalize="none"``,
``clipnorm=None`` and ``validation_fraction=0`` so that it fits exactly ``X, Y`` for exactly
``--epochs`` epochs, like the plain model.

Each timing covers building the model and the whole ``fit`` call, so graph tracing (and XLA
compilation) of the first epoch is included for both: a new Forecaster always builds a new
model, so that warm-up cannot be excluded for it alone. What is excluded, for both, is the
process warm-up (TensorFlow's start-up, thread pools): one tiny fit of each runs before the
timings. The rows run in turn, their order rotated on each repeat, and the best time is kept.
Besides wall-clock time the script reports the process's CPU time (every thread), which
other jobs on a shared machine disturb less::

    .venv/bin/python benchmarks/bench_fit.py [--epochs 10] [--cell lstm] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from forecasting import Forecaster
from forecasting.metrics import rmse
from forecasting.transformers import sliding_windows

INPUT_WIDTH, UNITS, BATCH_SIZE = 10, (30, 30), 32


def sine_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The training series and the train/test windows of the classic sine experiment."""
    train = np.sin(np.linspace(0, 100, 10000))
    test = np.sin(np.linspace(100, 110, 1000))
    x, y = sliding_windows(train.astype(np.float32), INPUT_WIDTH, 1)
    x_test, y_test = sliding_windows(test.astype(np.float32), INPUT_WIDTH, 1)
    return train, np.ascontiguousarray(x), np.ascontiguousarray(y), x_test, y_test


def fit_plain(x: np.ndarray, y: np.ndarray, cell: str, epochs: int, seed: int) -> Any:
    """Build, compile and fit the plain Keras model; return it."""
    import keras

    keras.utils.set_random_seed(seed)
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    model = keras.Sequential(
        [
            keras.Input(shape=(INPUT_WIDTH, 1)),
            layer(UNITS[0], return_sequences=True),
            layer(UNITS[1]),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, verbose=0)
    return model


def fit_ours(
    train: np.ndarray, cell: str, epochs: int, seed: int, jit_compile: bool | str
) -> Forecaster:
    """Fit the Forecaster on the training series, configured to see exactly the same windows."""
    frame = pd.DataFrame(
        {
            "series_id": "series",
            "timestamp": pd.date_range("2020-01-01", periods=len(train), freq="h"),
            "value": train,
        }
    )
    forecaster = Forecaster(
        horizon=1,
        input_width=INPUT_WIDTH,
        cell=cell,
        units=UNITS,
        scaler="none",
        normalize="none",
        epochs=epochs,
        batch_size=BATCH_SIZE,
        learning_rate=1e-3,
        patience=epochs + 1,
        validation_fraction=0.0,
        clipnorm=None,
        seed=seed,
        jit_compile=jit_compile,
        verbose=0,
    )
    return forecaster.fit(frame)


def timed(run: Callable[[], Any]) -> tuple[Any, float, float]:
    """``run()``, its wall-clock seconds and the CPU seconds of this process (all threads)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - start, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--repeats", type=int, default=2, help="timings per row; the best is kept")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    train, x, y, x_test, y_test = sine_arrays()
    n_windows = len(x)
    naive = rmse(y_test[:, 0], x_test[:, -1, 0])

    def plain() -> Any:
        return fit_plain(x, y, args.cell, args.epochs, args.seed)

    def ours(jit_compile: bool | str) -> Callable[[], Any]:
        return lambda: fit_ours(train, args.cell, args.epochs, args.seed, jit_compile)

    runs: dict[str, Callable[[], Any]] = {
        "plain keras": plain,
        "Forecaster (jit_compile='auto')": ours("auto"),
        "Forecaster (jit_compile=True)": ours(True),
        "Forecaster (jit_compile=False)": ours(False),
    }
    # Process warm-up, excluded from the timings: one epoch of each on a few windows.
    fit_plain(x[:256], y[:256], args.cell, 1, args.seed)
    fit_ours(train[:300], args.cell, 1, args.seed, "auto")

    names = list(runs)
    best = dict.fromkeys(names, np.inf)
    best_cpu = dict.fromkeys(names, np.inf)
    errors: dict[str, float] = {}
    for repeat in range(args.repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            fitted, seconds, cpu_seconds = timed(runs[name])
            best[name] = min(best[name], seconds)
            best_cpu[name] = min(best_cpu[name], cpu_seconds)
            model = fitted if name == "plain keras" else fitted.keras_model()
            pred = np.asarray(model(x_test, training=False))
            errors[name] = rmse(y_test, pred)  # identical on every repeat (seeded)

    print(
        f"{args.cell.upper()} {UNITS}, {n_windows} windows x {args.epochs} epochs, "
        f"batch {BATCH_SIZE}, best of {args.repeats}; naive test RMSE {naive:.5f}"
    )
    print(
        f"{'':34s} {'seconds':>8s} {'windows/s':>10s} {'vs plain':>9s} "
        f"{'CPU s':>7s} {'vs plain':>9s} {'test RMSE':>10s}"
    )
    for name in names:
        seconds, cpu = best[name], best_cpu[name]
        speed = n_windows * args.epochs / seconds
        ratio, cpu_ratio = seconds / best["plain keras"], cpu / best_cpu["plain keras"]
        print(
            f"{name:34s} {seconds:8.1f} {speed:10.0f} {ratio:8.2f}x "
            f"{cpu:7.1f} {cpu_ratio:8.2f}x {errors[name]:10.5f}"
        )


if __name__ == "__main__":
    main()
