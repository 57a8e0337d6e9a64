"""The classic experiment: a stacked LSTM (or GRU) forecasts a sine one step ahead.

Train on ``np.sin(np.linspace(0, 100, 10000))``, test on ``np.sin(np.linspace(100, 110, 1000))``
with input width 10, two stacked recurrent layers of 30 units, batch 32 and 10 epochs; print
the test RMSE of the one-step forecasts from every window of the test series next to the RMSE
of the naive forecast (the previous value). Run::

    .venv/bin/python examples/sine.py [--cell gru] [--epochs 10] [--normalize none]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from forecasting import Forecaster
from forecasting.metrics import rmse
from forecasting.transformers import sliding_windows

INPUT_WIDTH = 10


def rolling_one_step(forecaster: Forecaster, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-step forecasts from every window of ``values``, in one batch, and their targets.

    Each forecast equals ``forecaster.predict`` on the history ending at that window; the
    windows go through the forecaster's batched forward pass at once rather than one
    ``predict`` call per origin.
    """
    windows, targets = sliding_windows(values.astype(np.float32), forecaster.input_width_, 1)
    return forecaster.predict_windows(windows)[:, 0], targets[:, 0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--normalize",
        choices=("last", "none"),
        default="last",
        help="'last' learns changes from each window's last value (about 10x lower RMSE here)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    train = np.sin(np.linspace(0, 100, 10000))
    test = np.sin(np.linspace(100, 110, 1000))
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
        cell=args.cell,
        units=(30, 30),
        batch_size=32,
        epochs=args.epochs,
        learning_rate=1e-3,  # the classic experiment: whole passes, Keras' default rate
        patience=5,
        max_steps_per_epoch=None,
        scaler="none",
        normalize=args.normalize,
        seed=args.seed,
        fast_training=True,  # the speed rules measured on a 2-core CPU (forecasting.speed)
    )
    start = time.perf_counter()
    forecaster.fit(frame)
    seconds = time.perf_counter() - start

    forecasts, targets = rolling_one_step(forecaster, test)
    naive = test[INPUT_WIDTH - 1 : -1]  # the previous value
    model_rmse, naive_rmse = rmse(targets, forecasts), rmse(targets, naive)
    epochs_run = len(forecaster.history_["loss"])
    print(
        f"{args.cell.upper()} (30, 30), normalize={args.normalize!r}: {epochs_run} epochs "
        f"in {seconds:.1f} s"
    )
    print(f"test RMSE  {model_rmse:.5f}")
    print(f"naive RMSE {naive_rmse:.5f}  (model / naive = {model_rmse / naive_rmse:.3f})")


if __name__ == "__main__":
    main()
