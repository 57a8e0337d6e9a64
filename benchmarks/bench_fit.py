"""Time `Forecaster.fit` against a plain `keras.Sequential` + `model.fit` on the same windows.

Both train the same network (two stacked LSTM layers of 30 units and ``Dense(1)``, Adam, mean
squared error) on the same arrays: the windows of the classic sine experiment, train
``np.sin(np.linspace(0, 100, 10000))``, test ``np.sin(np.linspace(100, 110, 1000))``, input
width 10, horizon 1, batch 32, both from the same initial weights (the Forecaster's seeded
initialisers, copied into the plain model). The Forecaster runs with its default
training-speed options (``jit_compile``, ``unroll`` and ``steps_per_execution`` all
``"auto"``) and with ``scaler="none"``, ``clipnorm=None`` and ``validation_fraction=0``, so it
trains on the same windows for exactly ``--epochs`` epochs, like the plain model; its
``normalize`` is ``"last"`` as in the classic test (``--normalize none`` feeds it the raw
windows, like the plain model). Its last batch of each epoch is topped up to 32 windows with
windows drawn at random (same number of steps as the plain model; one graph shape for XLA).

Each run is timed from before the model is built to the end of every epoch, so the first
epoch includes building, graph tracing and XLA compilation; the later epochs are steady-state
training. Reported per row: seconds in all, seconds per epoch with the first epoch counted
(total / epochs) and without it (median of the later epochs), windows per second (steady
state), the process's CPU seconds (all threads; less disturbed by other jobs on a shared
machine) and the test RMSE of one-step forecasts from every test window. A process warm-up
(one tiny fit of each) runs first and is excluded. The rows run in turn, their order rotated
on each repeat, and each figure keeps its best repeat::

    .venv/bin/python benchmarks/bench_fit.py [--epochs 10] [--cell lstm|gru] [--repeats 3]
        [--normalize last|none] [--seed 0] [--before]

`measure_fit` returns the same figures as a dict for other scripts.
"""

from __future__ import annotations

import argparse
import functools
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

__all__ = ["measure_fit", "sine_arrays"]

INPUT_WIDTH, UNITS, BATCH_SIZE = 10, (30, 30), 32
PLAIN, OURS = "plain", "ours"
# The Forecaster with the training-speed options off (its setup before they existed).
BEFORE = {"jit_compile": False, "unroll": False, "steps_per_execution": 1}


def sine_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The training series and the train/test windows of the classic sine experiment."""
    train = np.sin(np.linspace(0, 100, 10000))
    test = np.sin(np.linspace(100, 110, 1000))
    x, y = sliding_windows(train.astype(np.float32), INPUT_WIDTH, 1)
    x_test, y_test = sliding_windows(test.astype(np.float32), INPUT_WIDTH, 1)
    return train, np.ascontiguousarray(x), np.ascontiguousarray(y), x_test, y_test


def _epoch_clock() -> Any:
    """A Keras callback that records wall-clock and CPU time at the end of every epoch."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.wall: list[float] = []
            self.cpu: list[float] = []

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.wall.append(time.perf_counter())
            self.cpu.append(time.process_time())

    return EpochClock()


def initial_weights(cell: str, seed: int) -> list[np.ndarray]:
    """The Forecaster's initial weights for this cell and seed (``build_network``'s)."""
    from forecasting.nn.networks import build_network

    model = build_network(INPUT_WIDTH, 1, 1, cell=cell, units=UNITS, seed=seed)
    return [np.asarray(w) for w in model.get_weights()]


def fit_plain(
    x: np.ndarray,
    y: np.ndarray,
    cell: str,
    epochs: int,
    seed: int,
    clock: Any,
    weights: list[np.ndarray] | None = None,
) -> Any:
    """Build, compile and fit the plain Keras model (from ``weights`` if given); return it."""
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
    if weights is not None:
        model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, verbose=0, callbacks=[clock])
    return model


def fit_ours(
    train: np.ndarray,
    cell: str,
    epochs: int,
    seed: int,
    clock: Any,
    normalize: str = "last",
    **speed: Any,
) -> Forecaster:
    """Fit the Forecaster on the training series, configured to train on the same windows.

    ``speed`` overrides ``jit_compile``, ``unroll`` or ``steps_per_execution`` (all
    ``"auto"`` by default).
    """
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
        normalize=normalize,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        learning_rate=1e-3,
        patience=epochs + 1,
        max_steps_per_epoch=None,  # whole passes, as plain Keras' epochs
        fast_training=True,  # the opt-in speed rules (forecasting.speed)
        validation_fraction=0.0,
        clipnorm=None,
        seed=seed,
        verbose=0,
        **speed,
    )
    return forecaster.fit(frame, callbacks=[clock])


def _fit_variant(
    train: np.ndarray,
    cell: str,
    epochs: int,
    seed: int,
    normalize: str,
    speed: dict[str, Any],
    clock: Any,
) -> Forecaster:
    return fit_ours(train, cell, epochs, seed, clock, normalize, **speed)


def _timed(run: Callable[[Any], Any], epochs: int) -> tuple[Any, dict[str, float]]:
    """``run(clock)`` and its timings: in all, first epoch, median later epoch (wall and CPU)."""
    clock = _epoch_clock()
    start, cpu = time.perf_counter(), time.process_time()
    result = run(clock)
    wall = np.diff([start, *clock.wall])
    cpu_times = np.diff([cpu, *clock.cpu])
    later = slice(1, None) if epochs > 1 else slice(None)
    return result, {
        "seconds": float(wall.sum()),
        "cpu_seconds": float(cpu_times.sum()),
        "first_epoch_seconds": float(wall[0]),
        "epoch_seconds": float(np.median(wall[later])),
        "cpu_epoch_seconds": float(np.median(cpu_times[later])),
    }


def measure_fit(
    epochs: int = 10,
    cell: str = "lstm",
    seed: int = 0,
    repeats: int = 1,
    normalize: str = "last",
    variants: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Time plain Keras and the default Forecaster on the classic sine experiment.

    Both start from the same initial weights (the Forecaster's, copied into the plain model)
    and train on the same windows for the same epochs; only the shuffling order differs.

    Parameters
    ----------
    epochs : int
        Epochs for both (at least 2, so that steady-state epochs exist).
    cell : {"lstm", "gru"}
        Recurrent cell of both networks.
    seed : int
        Seeds both fits and the shared initial weights.
    repeats : int
        Timings per row, rows rotated between repeats; each figure keeps its best repeat.
    normalize : {"last", "none"}
        The Forecaster's window normalisation (``"last"``: the classic test's setting; it
        changes the values the network sees, not the work per epoch).
    variants : dict, optional
        Extra Forecaster rows: name -> overrides of ``jit_compile``, ``unroll``,
        ``steps_per_execution``.

    Returns
    -------
    dict
        ``cell``, ``epochs``, ``normalize``, ``windows`` (training windows per epoch),
        ``naive_rmse``, and per row (``"plain"``, ``"ours"``, then each variant) a dict of
        ``seconds`` (in all), ``seconds_per_epoch`` (in all / epochs),
        ``first_epoch_seconds``, ``epoch_seconds`` (median epoch after the first),
        ``windows_per_second`` (from ``epoch_seconds``), ``cpu_seconds``,
        ``cpu_epoch_seconds``, ``rmse`` (test) and, for Forecaster rows, ``options`` (the
        speed options used). ``ratio`` holds plain / ours for ``seconds`` (first epoch
        included), ``epoch_seconds`` (excluded) and the same two on CPU time.
    """
    if epochs < 2:
        raise ValueError(f"`epochs` must be at least 2 to time steady-state epochs; got {epochs}")
    train, x, y, x_test, y_test = sine_arrays()
    weights = initial_weights(cell, seed)
    rows: dict[str, Callable[[Any], Any]] = {
        PLAIN: lambda clock: fit_plain(x, y, cell, epochs, seed, clock, weights),
        OURS: lambda clock: fit_ours(train, cell, epochs, seed, clock, normalize),
    }
    for name, speed in (variants or {}).items():
        rows[name] = functools.partial(_fit_variant, train, cell, epochs, seed, normalize, speed)

    # Process warm-up (TensorFlow start-up, thread pools), excluded from the timings.
    fit_plain(x[:256], y[:256], cell, 1, seed, _epoch_clock())
    fit_ours(train[:300], cell, 1, seed, _epoch_clock())

    names = list(rows)
    best: dict[str, dict[str, Any]] = {}
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            fitted, times = _timed(rows[name], epochs)
            row = best.setdefault(name, dict(times))
            for key, value in times.items():
                row[key] = min(row[key], value)
            if name == PLAIN:
                pred = np.asarray(fitted.predict_on_batch(x_test))
            else:
                pred = fitted.predict_windows(x_test)
                row["options"] = dict(fitted.fit_options_)
            row["rmse"] = rmse(y_test, pred)  # the same on every repeat on a CPU (seeded)
    for row in best.values():
        row["seconds_per_epoch"] = row["seconds"] / epochs
        row["windows_per_second"] = len(x) / row["epoch_seconds"]
    plain, ours = best[PLAIN], best[OURS]
    return {
        "cell": cell,
        "epochs": epochs,
        "normalize": normalize,
        "windows": len(x),
        "naive_rmse": rmse(y_test[:, 0], x_test[:, -1, 0]),
        **best,
        "ratio": {
            key: plain[key] / ours[key]
            for key in ("seconds", "epoch_seconds", "cpu_seconds", "cpu_epoch_seconds")
        },
    }


def _label(name: str, row: dict[str, Any]) -> str:
    if name == PLAIN:
        return "plain Keras"
    options = row["options"]
    xla = "XLA" if options["jit_compile"] is True else "no XLA"
    unrolled = "unrolled" if options["unroll"] else "loop"
    what = {OURS: "Forecaster", "before": "Forecaster, options off"}.get(name, name)
    return f"{what} ({xla}, {unrolled}, {options['steps_per_execution']}/call)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--repeats", type=int, default=3, help="timings per row; best is kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--normalize", choices=("last", "none"), default="last")
    parser.add_argument(
        "--before", action="store_true", help="add a row with the speed options off"
    )
    args = parser.parse_args(argv)

    variants = {"before": BEFORE} if args.before else None
    result = measure_fit(args.epochs, args.cell, args.seed, args.repeats, args.normalize, variants)
    plain = result[PLAIN]
    print(
        f"{args.cell.upper()} {UNITS}, {result['windows']} windows x {args.epochs} epochs, "
        f"batch {BATCH_SIZE}, normalize={args.normalize!r}, best of {args.repeats}; "
        f"naive test RMSE {result['naive_rmse']:.5f}"
    )
    columns = (
        "s total",
        "s/ep incl",
        "s/ep excl",
        "win/s excl",
        "x incl",
        "x excl",
        "CPU x incl",
        "CPU x excl",
        "test RMSE",
    )
    print(f"{'':48s}" + "".join(f"{c:>11s}" for c in columns))
    for name in [PLAIN, OURS, *(variants or {})]:
        row = result[name]
        figures = (
            f"{row['seconds']:.1f}",
            f"{row['seconds_per_epoch']:.2f}",
            f"{row['epoch_seconds']:.2f}",
            f"{row['windows_per_second']:.0f}",
            f"{plain['seconds'] / row['seconds']:.2f}x",
            f"{plain['epoch_seconds'] / row['epoch_seconds']:.2f}x",
            f"{plain['cpu_seconds'] / row['cpu_seconds']:.2f}x",
            f"{plain['cpu_epoch_seconds'] / row['cpu_epoch_seconds']:.2f}x",
            f"{row['rmse']:.5f}",
        )
        print(f"{_label(name, row):48s}" + "".join(f"{f:>11s}" for f in figures))
    print(
        "incl / excl: with / without the first epoch (building, tracing, compiling); "
        "x: plain Keras' time / this row's (wall-clock, then process CPU time)"
    )


if __name__ == "__main__":
    main()
