"""The sin→cos sequence regression: forecast a cosine with the sine as a covariate.

`forecasting.synthetic.sin_cos_frame` gives one hourly series whose ``value`` is a cosine and
whose covariate ``sin`` is the sine of the same angle. A stacked LSTM reads windows of both
and forecasts the next cosine value. The first part of the series trains, the rest tests;
the script prints the RMSE of the one-step forecasts from every test window next to the
naive forecast's (the previous value). Run::

    .venv/bin/python examples/sin_to_cos.py [--cell gru] [--epochs 10] [--period 24]
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
from forecasting.synthetic import sin_cos_frame
from forecasting.transformers import sliding_windows

INPUT_WIDTH = 10


def rolling_one_step(forecaster: Forecaster, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """One-step forecasts of ``value`` from every window of ``test``, in one batch, and targets.

    Each forecast equals ``forecaster.predict`` on the history ending at that window; the
    windows go through the forecaster's batched forward pass at once rather than one
    ``predict`` call per origin.
    """
    values = test[["value", *forecaster.covariates_]].to_numpy(np.float32)
    windows, targets = sliding_windows(values, forecaster.input_width_, 1)
    return forecaster.predict_windows(windows)[:, 0], targets[:, 0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--period", type=float, default=24.0, help="period of both waves, in steps")
    parser.add_argument("--length", type=int, default=3000, help="points; the last 500 test")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    frame = sin_cos_frame(length=args.length, period=args.period)
    train, test = frame.iloc[:-500], frame.iloc[-500:]
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
        normalize="last",
        seed=args.seed,
        fast_training=True,  # the speed rules measured on a 2-core CPU (forecasting.speed)
    )
    start = time.perf_counter()
    forecaster.fit(train)
    seconds = time.perf_counter() - start

    forecasts, targets = rolling_one_step(forecaster, test)
    naive = test["value"].to_numpy()[INPUT_WIDTH - 1 : -1]  # the previous value
    model_rmse, naive_rmse = rmse(targets, forecasts), rmse(targets, naive)
    epochs_run = len(forecaster.history_["loss"])
    print(
        f"cos from sin: {args.cell.upper()} (30, 30), covariates {forecaster.covariates_}, "
        f"{epochs_run} epochs in {seconds:.1f} s"
    )
    print(f"test RMSE  {model_rmse:.5f}")
    print(f"naive RMSE {naive_rmse:.5f}  (model / naive = {model_rmse / naive_rmse:.3f})")


if __name__ == "__main__":
    main()
