"""Every benchmark in one command: a table of figures, each against a reference from the same run.

    .venv/bin/python benchmarks/run.py [--quick] [--json results.json]

Rows (ratio = ours / reference; for seconds lower is better, for windows/s higher is better):

- training: the classic sine experiment (full epochs, build + fit timed) and a large case
  (1M windows, input width 64, two LSTM layers of 128 units, batch 256, a fixed number of
  steps timed after the first few), our Forecaster against a plain ``keras.Sequential`` +
  ``fit`` on the same arrays; test RMSE of each;
- windowing: ``SlidingWindows`` on a 10M-point series against a NumPy copy of its bytes, and
  the windows made contiguous against a NumPy copy of as many bytes;
- latency (see ``latency.py``): a cold scheduled forecast in a new process against
  ``mlflow.pyfunc.load_model`` + TensorFlow + a Keras forecast, and warm runs in a served
  process, for 1 series and for 1,000 series at once;
- growth: the Forecaster's fit time per epoch at 10k, 100k and 1M windows, extrapolated from
  a fixed number of steps (setup and the steps measured, the rest of the epoch at the measured
  time per step), against 10k's time scaled linearly;
- imports: ``import forecasting`` and ``forecast --help`` must not import TensorFlow.

The machine may be shared: every figure is a median over repeats, and both sides of a ratio
are measured in turn in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import latency

from forecasting import Forecaster
from forecasting.metrics import rmse
from forecasting.transformers import SlidingWindows, sliding_windows

SINE_WIDTH, SINE_UNITS, SINE_BATCH = 10, (30, 30), 32
LARGE_WINDOWS, LARGE_WIDTH, LARGE_UNITS, LARGE_BATCH = 1_000_000, 64, (128, 128), 256
GROWTH_BATCH = 256
SKIP_STEPS = 3  # steps left out of steady-state timings: tracing, compilation, warm-up


@dataclass
class Row:
    """One line of the table."""

    figure: str
    ours: float
    reference: float
    reference_name: str
    unit: str
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float:
        """Ours divided by the reference."""
        return self.ours / self.reference if self.reference else math.nan


# ----------------------------------------------------------------------------- training
def _step_timer(limit: int | None, steps_per_epoch: int) -> Any:
    """A Keras callback recording when steps end; stops training after ``limit`` steps in all."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.ends: list[tuple[int, float]] = []  # (steps done so far, time)
            self.before = 0  # steps of the epochs before this one
            self.epoch_ends: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.before = epoch * steps_per_epoch

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.epoch_ends.append(time.perf_counter())

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            # ``batch`` is the index of the last step run in this epoch; Keras calls this once
            # per execution of ``steps_per_execution`` steps, and may overshoot at an epoch end.
            done = self.before + min(batch + 1, steps_per_epoch)
            self.ends.append((done, time.perf_counter()))
            if limit is not None and done >= limit:
                self.model.stop_training = True

        def steady_step_seconds(self) -> float:
            """Seconds per step from the first call at or after ``SKIP_STEPS`` to the last."""
            first = next((e for e in self.ends if e[0] >= SKIP_STEPS), self.ends[-1])
            last = self.ends[-1]
            if last[0] == first[0]:
                raise ValueError(
                    f"too few steps timed ({[e[0] for e in self.ends]}): raise the step limit "
                    "to at least two executions of `steps_per_execution` steps"
                )
            return (last[1] - first[1]) / (last[0] - first[0])

    return StepTimer()


def plain_keras(
    x: np.ndarray,
    y: np.ndarray,
    units: tuple[int, int],
    batch: int,
    epochs: int,
    seed: int,
    callbacks: list[Any],
) -> Any:
    """Build, compile and fit a plain stacked-LSTM ``keras.Sequential``; return it."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=x.shape[1:]),
            keras.layers.LSTM(units[0], return_sequences=True),
            keras.layers.LSTM(units[1]),
            keras.layers.Dense(y.shape[1]),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=callbacks)
    return model


def our_forecaster(
    values: np.ndarray,
    width: int,
    units: tuple[int, int],
    batch: int,
    epochs: int,
    seed: int,
    callbacks: list[Any],
) -> Forecaster:
    """Fit the Forecaster so that it trains on exactly the windows of ``values``."""
    frame = pd.DataFrame(
        {
            "series_id": "series",
            "timestamp": pd.date_range("1900-01-01", periods=len(values), freq="h"),
            "value": values.astype(np.float64),
        }
    )
    forecaster = Forecaster(
        horizon=1,
        input_width=width,
        units=units,
        scaler="none",
        normalize="none",
        residual="none",  # the network alone forecasts, as plain Keras' does
        clipnorm=None,
        validation_fraction=0.0,
        epochs=epochs,
        learning_rate=1e-3,  # plain Keras' Adam rate
        patience=epochs + 1,
        max_steps_per_epoch=None,  # whole passes, as plain Keras' epochs
        fast_training=True,  # the opt-in speed rules (forecasting.speed)
        batch_size=batch,
        seed=seed,
        verbose=0,
    )
    return forecaster.fit(frame, callbacks=callbacks)


def _test_rmse(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    return rmse(y[:, 0], np.asarray(model.predict(x, batch_size=4096, verbose=0))[:, 0])


def sine_rows(epochs: int, repeats: int, seed: int) -> list[Row]:
    """The classic sine experiment: full epochs, build + fit timed, best of ``repeats``."""
    train = np.sin(np.linspace(0, 100, 10000)).astype(np.float32)
    test = np.sin(np.linspace(100, 110, 1000)).astype(np.float32)
    x, y = (np.ascontiguousarray(a) for a in sliding_windows(train, SINE_WIDTH, 1))
    x_test, y_test = sliding_windows(test, SINE_WIDTH, 1)
    sides: dict[str, Callable[[], Any]] = {
        "ours": lambda: our_forecaster(train, SINE_WIDTH, SINE_UNITS, SINE_BATCH, epochs, seed, []),
        "plain": lambda: plain_keras(x, y, SINE_UNITS, SINE_BATCH, epochs, seed, []),
    }
    our_forecaster(train[:400], SINE_WIDTH, SINE_UNITS, SINE_BATCH, 1, seed, [])  # warm-up
    plain_keras(x[:256], y[:256], SINE_UNITS, SINE_BATCH, 1, seed, [])
    seconds: dict[str, list[float]] = {"ours": [], "plain": []}
    errors: dict[str, float] = {}
    for repeat in range(repeats):
        for side in ("ours", "plain") if repeat % 2 == 0 else ("plain", "ours"):
            start = time.perf_counter()
            fitted = sides[side]()
            seconds[side].append(time.perf_counter() - start)
            model = fitted.keras_model() if side == "ours" else fitted
            errors[side] = _test_rmse(model, x_test, y_test)
    speed = {side: len(x) * epochs / min(found) for side, found in seconds.items()}
    name = f"sine, {len(x):,} windows x {epochs} epochs"
    return [
        Row(f"{name}: training windows/s", speed["ours"], speed["plain"], "plain Keras", "/s"),
        Row(f"{name}: test RMSE", errors["ours"], errors["plain"], "plain Keras", ""),
    ]


def large_series(n_windows: int, width: int, extra: int, seed: int) -> np.ndarray:
    """Two seasonal cycles and noise: ``n_windows + width + extra`` float32 points."""
    t = np.arange(n_windows + width + extra, dtype=np.float64)
    noise = np.random.default_rng(seed).normal(0.0, 0.1, len(t))
    return (np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168) + noise).astype(
        np.float32
    )


def large_rows(steps: int, seed: int) -> list[Row]:
    """1M windows of width 64, two LSTM layers of 128 units: ``steps`` steps of batch 256."""
    test_windows = 5_000
    series = large_series(LARGE_WINDOWS, LARGE_WIDTH, test_windows + LARGE_WIDTH, seed)
    train = series[: LARGE_WINDOWS + LARGE_WIDTH]
    x_test, y_test = sliding_windows(series[LARGE_WINDOWS + LARGE_WIDTH :], LARGE_WIDTH, 1)
    x, y = (np.ascontiguousarray(a) for a in sliding_windows(train, LARGE_WIDTH, 1))
    speed, errors = {}, {}
    for side in ("ours", "plain"):
        timer = _step_timer(steps, math.ceil(len(x) / LARGE_BATCH))
        if side == "ours":
            fitted = our_forecaster(train, LARGE_WIDTH, LARGE_UNITS, LARGE_BATCH, 1, seed, [timer])
            model = fitted.keras_model()
        else:
            model = plain_keras(x, y, LARGE_UNITS, LARGE_BATCH, 1, seed, [timer])
        speed[side] = LARGE_BATCH / timer.steady_step_seconds()
        errors[side] = _test_rmse(model, x_test, y_test)
    name = f"large, {len(x):,} windows, width {LARGE_WIDTH}, 2x{LARGE_UNITS[0]} LSTM, {steps} steps"
    return [
        Row(f"{name}: training windows/s", speed["ours"], speed["plain"], "plain Keras", "/s"),
        Row(f"{name}: test RMSE", errors["ours"], errors["plain"], "plain Keras", ""),
    ]


def growth_rows(extrapolate_from: int | None, seed: int) -> tuple[list[Row], dict[str, Any]]:
    """The Forecaster's first epoch at 10k, 100k and 1M windows (batch 256), against linear.

    An epoch is timed from the call to ``fit`` (validation, scaling, windowing, the data
    pipeline and tracing included) to its end. With ``extrapolate_from``, the 1M-window epoch
    stops after that many steps and the rest is added at the steady time per step, measured
    from the end of the first call into the graph to the last step.
    """
    epochs: dict[int, float] = {}
    raw: dict[str, Any] = {}
    warm_up = large_series(2 * GROWTH_BATCH, SINE_WIDTH, 0, seed)  # process start-up, untimed
    our_forecaster(warm_up, SINE_WIDTH, SINE_UNITS, GROWTH_BATCH, 1, seed, [])
    for n in (10_000, 100_000, 1_000_000):
        values = large_series(n, SINE_WIDTH, 0, seed)
        per_epoch = math.ceil(n / GROWTH_BATCH)
        limit = extrapolate_from if n == 1_000_000 else None
        timer = _step_timer(limit, per_epoch)
        start = time.perf_counter()
        our_forecaster(values, SINE_WIDTH, SINE_UNITS, GROWTH_BATCH, 1, seed, [timer])
        step = timer.steady_step_seconds()
        done, last = timer.ends[-1]
        epochs[n] = last - start + (per_epoch - done) * step
        raw[str(n)] = {
            "steps_per_epoch": per_epoch,
            "steps_timed": done,
            "extrapolated": done < per_epoch,
            "seconds_to_first_call": timer.ends[0][1] - start,
            "steady_step_seconds": step,
            "steady_seconds_per_window": step / GROWTH_BATCH,
            "epoch_seconds": epochs[n],
        }
    rows = []
    for n, before in ((100_000, 10_000), (1_000_000, 100_000)):
        how = (
            f"extrapolated from {raw[str(n)]['steps_timed']} steps"
            if raw[str(n)]["extrapolated"]
            else "measured"
        )
        rows.append(
            Row(
                f"growth: fit's first epoch at {n:,} windows ({how}; {before:,}: "
                f"{epochs[before]:.2f} s)",
                epochs[n],
                epochs[before] * n / before,
                f"{n // before} x the {before:,}-window epoch",
                "s",
                "<= 1 (linear)",
                epochs[n] <= 1.1 * epochs[before] * n / before,
            )
        )
    return rows, raw


# ---------------------------------------------------------------------------- windowing
def _paired_medians(
    first: Callable[[], Any], second: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """Median seconds of two runs, timed in turn ``repeats`` times each."""
    found: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for run, times in ((first, found[0]), (second, found[1])):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    return statistics.median(found[0]), statistics.median(found[1])


def windowing_rows(repeats: int) -> list[Row]:
    """SlidingWindows on a 10M-point series against NumPy copies of the same bytes.

    The windows are read-only views of the series; for code that needs them contiguous, a
    second row times copying them out against a plain copy of as many bytes (informative).
    """
    series = np.random.default_rng(0).normal(size=(10_000_000, 1)).astype(np.float32)
    windows = SlidingWindows(input_width=24, horizon=1)

    def cut() -> Any:
        return windows.fit(series).transform_xy(series)

    x, _ = cut()
    made = np.zeros(x.shape, dtype=x.dtype)  # zeros: pages touched before any timing
    flat = np.zeros(made.size, dtype=x.dtype)  # as many bytes as the contiguous windows
    ours, copy = _paired_medians(cut, lambda: series.copy(), repeats)
    ours_made, copy_made = _paired_medians(
        lambda: np.copyto(made, x), lambda: np.copyto(flat, made.reshape(-1)), repeats
    )
    return [
        Row(
            "windowing: SlidingWindows fit + transform_xy, 10M points (views)",
            ours,
            copy,
            "NumPy copy of the series",
            "s",
            "<= 2",
            ours <= 2 * copy,
        ),
        Row(
            f"  the {len(x):,} x 24 windows copied out contiguous",
            ours_made,
            copy_made,
            "NumPy copy of as many bytes",
            "s",
        ),
    ]


# ----------------------------------------------------------------------------- latency
def latency_rows(
    cold_repeats: int, warm_repeats: int, big: int, warm_up: bool
) -> tuple[list[Row], dict[str, Any]]:
    """Cold and warm scheduled forecasts for 1 and ``big`` series (see ``latency.py``)."""
    with tempfile.TemporaryDirectory(prefix="latency-") as tmp:
        champion = latency.setup_champion(Path(tmp), n_series=big)
        cold = {
            n: latency.measure_cold(champion, n, cold_repeats, warm_up=warm_up) for n in (1, big)
        }
        warm = latency.measure_warm(champion, warm_repeats)
    raw = {"cold": cold, "warm": warm}
    ref_name = "mlflow.pyfunc.load_model + TensorFlow + Keras"
    rows = []
    for n in (1, big):
        ours, ref = cold[n]["ours"], cold[n]["reference"]
        clean = not ours["heavy"]
        rows.append(
            Row(
                f"cold forecast, {n:,} series: whole new process",
                ours["wall"],
                ref["wall"],
                ref_name,
                "s",
                "<= 1/3" if n == 1 else "",
                ours["wall"] * 3 <= ref["wall"] and clean if n == 1 else None,
            )
        )
        rows.append(
            Row(
                "  same, CPU seconds (less disturbed by other jobs)",
                ours["cpu"],
                ref["cpu"],
                ref_name,
                "s",
            )
        )
    for n, bound in ((1, 0.020), (big, 2.0)):
        ours_w, ref_w = warm["ours"][str(n)], warm["reference"][str(n)]
        rows.append(
            Row(
                f"warm forecast, {n:,} series: one scheduled run",
                ours_w["wall"],
                ref_w["wall"],
                "the same served with the Keras network",
                "s",
                f"ours <= {bound:g} s",
                ours_w["wall"] <= bound,
            )
        )
        rows.append(
            Row(
                "  same, CPU seconds",
                ours_w["cpu"],
                ref_w["cpu"],
                "the same served with the Keras network",
                "s",
            )
        )
    return rows, raw


# ----------------------------------------------------------------------------- imports
def _import_check(code: str) -> tuple[float, list[str]]:
    """Seconds ``code`` takes in a new process, and whether it imported TensorFlow or Keras."""
    program = "\n".join(
        [
            "import sys, time",
            "start = time.perf_counter()",
            code,
            "seconds = time.perf_counter() - start",
            "print(seconds, [m for m in ('tensorflow', 'keras') if m in sys.modules])",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    seconds, _, loaded = done.stdout.strip().splitlines()[-1].partition(" ")
    return float(seconds), json.loads(loaded.replace("'", '"'))


def import_rows(repeats: int) -> list[Row]:
    """``import forecasting`` and ``forecast --help`` without TensorFlow, against importing it."""
    help_code = (
        "from forecasting_app.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    reference = statistics.median(_import_check("import tensorflow")[0] for _ in range(repeats))
    rows = []
    for name, code in (
        ("import forecasting", "import forecasting"),
        ("forecast --help", help_code),
    ):
        checks = [_import_check(code) for _ in range(repeats)]
        loaded = sorted({m for _, found in checks for m in found})
        rows.append(
            Row(
                f"{name} (TensorFlow imported: {'yes' if loaded else 'no'})",
                statistics.median(c[0] for c in checks),
                reference,
                "import tensorflow",
                "s",
                "no TensorFlow",
                not loaded,
            )
        )
    return rows


# ------------------------------------------------------------------------------- table
def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| figure | ours | reference | ours / reference | target | met |",
        "| --- | ---: | --- | ---: | --- | :---: |",
    ]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.figure} | {_fmt(row.ours, row.unit)} | {row.reference_name}: "
            f"{_fmt(row.reference, row.unit)} | {row.ratio:.2f} | {row.target} | {met} |"
        )
    return "\n".join(lines)


def _fmt(value: float, unit: str) -> str:
    if unit == "/s":
        return f"{value:,.0f} windows/s"
    if unit == "s" and value < 1e-3:
        return f"{value * 1e6:.1f} µs"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.5f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps (~2 min)")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    quick = args.quick
    started = time.perf_counter()
    sections: list[tuple[str, Callable[[], Any]]] = [
        ("latency", lambda: latency_rows(1 if quick else 4, 5 if quick else 20, 1000, not quick)),
        ("imports", lambda: import_rows(1 if quick else 3)),
        ("windowing", lambda: windowing_rows(3 if quick else 7)),
        ("sine", lambda: sine_rows(1 if quick else 5, 1 if quick else 2, args.seed)),
        ("large", lambda: large_rows(64, args.seed)),
        ("growth", lambda: growth_rows(96 if quick else None, args.seed)),
    ]
    rows: list[Row] = []
    raw: dict[str, Any] = {}
    for name, section in sections:
        start = time.perf_counter()
        found = section()
        if isinstance(found, tuple):
            found, raw[name] = found
        rows += found
        print(f"[{name}: {time.perf_counter() - start:.0f} s]", file=sys.stderr, flush=True)
    print(table(rows))
    print(f"\n{'quick' if quick else 'full'} run, {time.perf_counter() - started:.0f} s")
    if args.json:
        payload = {"rows": [asdict(r) | {"ratio": r.ratio} for r in rows], "raw": raw}
        args.json.write_text(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    main()
