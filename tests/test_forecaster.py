"""Forecaster: alignment, seeds, the classic sine experiment, recursion, save/load and errors."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from forecasting import Forecaster, numpy_rnn
from forecasting.forecaster import default_input_width, min_training_length
from forecasting.metrics import rmse
from forecasting.speed import AUTO_STEPS_PER_EXECUTION
from forecasting.synthetic import generate_series, sin_cos_frame
from forecasting.transformers import sliding_windows

pytest.importorskip("keras")

# Keras 3.15 saving calls np.array on TF variables, which NumPy 2 flags; not our code.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

HOUR = pd.Timedelta(hours=1)
SLOPE = 0.5
RAMP_WIDTH, RAMP_HORIZON = 4, 3


def _frame(
    values: np.ndarray, start: str = "2020-01-01", series_id: str = "series"
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series_id": series_id,
            "timestamp": pd.date_range(start, periods=len(values), freq="h"),
            "value": np.asarray(values, dtype=np.float64),
        }
    )


def _ramp(n: int, level: float = 0.0, start: str = "2020-01-01") -> pd.DataFrame:
    return _frame(level + SLOPE * np.arange(n), start=start)


@pytest.fixture(scope="module")
def ramp_model() -> Forecaster:
    """Trained on a ramp with ``normalize="last"``: every window looks alike, so it can be exact.

    Relative to the last input, the target of step k is exactly ``k * SLOPE``; a model whose
    training targets were shifted by one step would learn ``(k - 1) * SLOPE`` instead.
    Measured: forecasts within 4e-5 of the ramp (direct and recursive) for seeds 0-3.
    """
    return Forecaster(
        horizon=RAMP_HORIZON,
        input_width=RAMP_WIDTH,
        units=(8,),
        scaler="none",
        normalize="last",
        residual="none",
        epochs=30,
        batch_size=16,
        learning_rate=0.02,
        patience=30,
        seed=0,
        verbose=0,
    ).fit(_ramp(120))


@pytest.fixture(scope="module")
def multi_frame() -> pd.DataFrame:
    """Three series with the covariate ``sin`` (value = cos), of different periods."""
    parts = [
        sin_cos_frame(length=160, period=period).assign(series_id=f"s{i}")
        for i, period in enumerate((12.0, 16.0, 24.0))
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def covariate_model(multi_frame: pd.DataFrame) -> Forecaster:
    return Forecaster(horizon=2, input_width=8, units=(6,), epochs=2, seed=0, verbose=0).fit(
        multi_frame
    )


# Alignment: timestamps, the window used, training targets


def test_forecast_steps_are_the_origin_plus_k(ramp_model: Forecaster) -> None:
    history = _ramp(30, level=100.0)
    forecast = ramp_model.predict(history)
    origin = history["timestamp"].iloc[-1]
    assert list(forecast.columns) == ["series_id", "timestamp", "step", "value"]
    assert forecast["step"].tolist() == [1, 2, 3]
    assert forecast["timestamp"].tolist() == [origin + k * HOUR for k in (1, 2, 3)]
    assert (forecast["series_id"] == "series").all()
    assert forecast["timestamp"].dtype == "datetime64[ns]"
    assert forecast["value"].dtype == np.float64


def test_training_targets_are_aligned(ramp_model: Forecaster) -> None:
    """Step k of a ramp's forecast is the ramp at origin + k (an off-by-one is SLOPE away)."""
    history = _ramp(30, level=100.0)
    last = history["value"].iloc[-1]
    forecast = ramp_model.predict(history)["value"].to_numpy()
    expected = last + SLOPE * np.arange(1, RAMP_HORIZON + 1)
    np.testing.assert_allclose(forecast, expected, atol=0.05 * SLOPE)


def test_predict_reads_only_the_last_input_width_points(ramp_model: Forecaster) -> None:
    history = _ramp(30, level=100.0)
    forecast = ramp_model.predict(history)["value"].to_numpy()

    earlier = history.copy()
    earlier.loc[: len(history) - RAMP_WIDTH - 1, "value"] = -1e6
    assert np.array_equal(ramp_model.predict(earlier)["value"].to_numpy(), forecast)
    shorter = history.tail(RAMP_WIDTH)
    assert np.array_equal(ramp_model.predict(shorter)["value"].to_numpy(), forecast)

    oldest_used = history.copy()
    oldest_used.loc[len(history) - RAMP_WIDTH, "value"] -= 5.0
    assert not np.array_equal(ramp_model.predict(oldest_used)["value"].to_numpy(), forecast)
    last_changed = history.copy()
    last_changed.loc[len(history) - 1, "value"] += 5.0
    assert not np.allclose(ramp_model.predict(last_changed)["value"].to_numpy(), forecast)


def test_calendar_steps_follow_the_frequency() -> None:
    frame = generate_series("sin", length=40, freq="MS", seasonalities=(12,))
    forecaster = Forecaster(horizon=3, input_width=6, units=(2,), epochs=1, verbose=0).fit(frame)
    assert frame["timestamp"].iloc[-1] == pd.Timestamp("2023-04-01")
    months = ["2023-05-01", "2023-06-01", "2023-07-01", "2023-08-01", "2023-09-01"]
    forecast = forecaster.predict(frame, horizon=5)
    assert forecast["timestamp"].tolist() == [pd.Timestamp(m) for m in months]


def test_shifting_the_history_in_time_shifts_the_forecast(ramp_model: Forecaster) -> None:
    history = _ramp(30, level=100.0)
    later = history.assign(timestamp=history["timestamp"] + 5 * HOUR)
    before, after = ramp_model.predict(history), ramp_model.predict(later)
    assert (after["timestamp"] - before["timestamp"] == 5 * HOUR).all()
    assert np.array_equal(after["value"].to_numpy(), before["value"].to_numpy())


def test_recursive_forecast_continues_the_ramp(ramp_model: Forecaster) -> None:
    history = _ramp(30, level=100.0)
    origin, last = history["timestamp"].iloc[-1], history["value"].iloc[-1]
    forecast = ramp_model.predict(history, horizon=7)
    assert forecast["step"].tolist() == list(range(1, 8))
    assert forecast["timestamp"].tolist() == [origin + k * HOUR for k in range(1, 8)]
    # The first `horizon` steps are the direct forecast; the rest are fed back in.
    direct = ramp_model.predict(history)["value"].to_numpy()
    assert np.array_equal(forecast["value"].to_numpy()[:RAMP_HORIZON], direct)
    expected = last + SLOPE * np.arange(1, 8)
    np.testing.assert_allclose(forecast["value"], expected, atol=0.05 * SLOPE)


# Reproducibility and output


def test_one_seed_gives_identical_fits(capsys: pytest.CaptureFixture[str]) -> None:
    frame = generate_series("sin", length=160, seasonalities=(12,), noise=0.1, seed=3)

    def fit(seed: int) -> np.ndarray:
        forecaster = Forecaster(horizon=2, input_width=8, units=(4,), epochs=2, seed=seed)
        return forecaster.fit(frame).predict(frame)["value"].to_numpy()

    first, second, other = fit(0), fit(0), fit(1)
    assert np.array_equal(first, second)
    assert not np.allclose(first, other)
    # verbose="auto" is quiet when stdout is not a terminal (as under pytest).
    assert capsys.readouterr().out == ""


def test_one_seed_gives_identical_fits_with_xla() -> None:
    frame = generate_series("sin", length=160, seasonalities=(12,), noise=0.1, seed=3)

    def fit() -> Forecaster:
        return Forecaster(
            horizon=2, input_width=8, cell="gru", units=(4,), epochs=2, jit_compile=True, verbose=0
        ).fit(frame)

    first, second = fit(), fit()
    assert first.fit_options_["jit_compile"] is True
    assert first.history_ == second.history_
    np.testing.assert_array_equal(
        first.predict(frame)["value"].to_numpy(), second.predict(frame)["value"].to_numpy()
    )


def _tiny(**params: Any) -> Forecaster:
    """A small, fast-learning Forecaster for tests of the training loop."""
    settings: dict[str, Any] = {
        "horizon": 2,
        "input_width": 8,
        "units": (8,),
        "learning_rate": 0.05,
        "seed": 0,
        "verbose": 0,
    }
    return Forecaster(**(settings | params))


def test_steps_per_execution_changes_speed_not_results() -> None:
    """Batches per call into the graph: the same updates in the same order, early stopping too."""
    frame = generate_series("noise", length=200, seed=1)

    def fit(steps: int | str) -> Forecaster:
        return _tiny(epochs=40, patience=2, steps_per_execution=steps).fit(frame)

    one, four = fit(1), fit(4)  # 6 training batches per epoch: 6 calls, or 2 (4 + 2)
    assert [f.fit_options_["steps_per_execution"] for f in (one, four)] == [1, 4]
    assert len(one.history_["loss"]) < 40  # stopped early
    assert one.history_ == four.history_
    np.testing.assert_array_equal(
        four.predict(frame)["value"].to_numpy(), one.predict(frame)["value"].to_numpy()
    )


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("horizon", [1, 12, 48])
@pytest.mark.parametrize("season_length", [1, 7, 12, 24, 52, 168])
def test_default_input_width_covers_a_season_and_fits_the_data(
    season_length: int, horizon: int, fraction: float
) -> None:
    ample = default_input_width(season_length, horizon, 100_000, fraction)
    assert ample >= season_length and ample >= 2 * horizon  # with data to spare
    widths = []
    for shortest in range(min_training_length(2, horizon, fraction), 1_000, 7):
        width = default_input_width(season_length, horizon, shortest, fraction)
        assert 2 <= width <= ample
        assert min_training_length(width, horizon, fraction) <= shortest  # it still trains
        widths.append(width)
    assert widths == sorted(widths)  # more data never shortens the window


def test_max_steps_per_epoch_caps_every_epoch_and_max_steps_the_training() -> None:
    """An epoch stops after the cap, counted in whole calls into the graph; ``max_steps``
    bounds the batches over all epochs."""
    import keras

    frame = generate_series("noise", length=300, seed=2)  # 291 windows: 261 train, 29 validate
    steps: list[int] = []

    class LastStep(keras.callbacks.Callback):
        """Steps run per epoch: a call reports the index of its last batch."""

        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            steps.append(0)

        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            steps[-1] = batch + 1

    def fit(cap: int | None, per_call: int | str = 1, budget: int | None = None) -> Forecaster:
        steps.clear()
        return _tiny(
            units=(4,),
            epochs=3,
            batch_size=16,
            patience=5,
            max_steps_per_epoch=cap,
            max_steps=budget,
            steps_per_execution=per_call,
            fast_training=True,
        ).fit(frame, callbacks=[LastStep()])

    capped = fit(5)
    assert steps == [5, 5, 5]
    assert len(capped.history_["val_loss"]) == 3
    fit(None)
    assert steps == [17, 17, 17]  # 261 training windows in batches of 16, the last topped up
    fit(100)  # a cap above a whole pass changes nothing
    assert steps == [17, 17, 17]
    fit(7, per_call=3)  # rounded down to whole calls of 3
    assert steps == [6, 6, 6]
    small = fit(5, per_call="auto")  # 32 per call would overrun the cap: a call is 5 steps
    assert steps == [5, 5, 5]
    assert small.fit_options_["steps_per_execution"] == 5
    # The budget over all epochs: whole epochs within it, at least one.
    fit(5, budget=11)
    assert steps == [5, 5]
    fit(None, budget=40)
    assert steps == [17, 17]
    fit(5, budget=3)
    assert steps == [5]
    fit(5, budget=1000)  # a budget above every epoch changes nothing
    assert steps == [5, 5, 5]


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_is_scoped_to_fit(precision: str, tmp_path: Path) -> None:
    """The network trains under the policy; weights stay float32, the global policy returns."""
    import keras

    frame = generate_series("seasonal", length=200, seed=3)
    model = Forecaster(
        horizon=3, input_width=12, units=(8,), epochs=2, precision=precision, verbose=0
    ).fit(frame)
    assert keras.config.dtype_policy().name == "float32"
    network = model.keras_model()
    recurrent = [layer for layer in network.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.dtype_policy.name for layer in recurrent] == [precision]
    scaled = isinstance(network.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (precision == "mixed_float16")  # float16 needs loss scaling
    assert all(w.dtype == "float32" for w in network.weights)
    assert network.output.dtype == "float32"
    values = frame["value"].to_numpy(np.float32)[:, None]
    windows = np.ascontiguousarray(sliding_windows(values, 12, 3)[0][:16])
    keras_out = np.asarray(network.predict_on_batch(windows))
    assert model.predictor_.weights is not None  # forecasts run the NumPy forward pass
    numpy_out = numpy_rnn.forward(model.predictor_.weights[0], windows)
    np.testing.assert_allclose(numpy_out, keras_out, atol=0.05)  # half-precision activations
    reloaded = Forecaster.load(model.save(tmp_path / "model")).keras_model()
    reloaded_recurrent = [
        layer.dtype_policy.name for layer in reloaded.layers if isinstance(layer, keras.layers.LSTM)
    ]
    assert reloaded_recurrent == [precision]
    np.testing.assert_allclose(np.asarray(reloaded.predict_on_batch(windows)), keras_out, rtol=1e-6)
    reloaded_forecaster = Forecaster.load(tmp_path / "model")
    np.testing.assert_allclose(
        reloaded_forecaster.predict(frame)["value"], model.predict(frame)["value"]
    )


def test_lr_patience_halves_the_rate_on_a_plateau() -> None:
    """Pure noise gives no lasting improvement: the rate halves after each plateau."""
    frame = generate_series("noise", length=200, seed=4)

    def fit(lr_patience: int | None) -> Forecaster:
        return _tiny(units=(4,), epochs=8, patience=8, lr_patience=lr_patience).fit(frame)

    rates = fit(1).history_["learning_rate"]
    assert rates[0] == pytest.approx(0.05)
    assert rates[-1] < 0.05
    assert all(b in (a, pytest.approx(a / 2)) for a, b in itertools.pairwise(rates))
    constant = fit(None).keras_model()
    assert float(constant.optimizer.learning_rate) == pytest.approx(0.05)


def test_training_speed_options_are_keras_defaults_unless_fast_training() -> None:
    frame = _ramp(40)
    small = {"horizon": 1, "input_width": 4, "units": (2,), "epochs": 1, "verbose": 0}
    default = Forecaster(**small).fit(frame)
    assert default.fit_options_["unroll"] is False
    assert default.fit_options_["steps_per_execution"] == 1
    assert default.keras_model().steps_per_execution == 1
    assert default.get_params()["unroll"] == "auto"
    fast = Forecaster(**small, fast_training=True).fit(frame)
    assert fast.fit_options_["steps_per_execution"] == AUTO_STEPS_PER_EXECUTION
    assert fast.keras_model().steps_per_execution == AUTO_STEPS_PER_EXECUTION
    explicit = Forecaster(**small, fast_training=True, unroll=False, steps_per_execution=1)
    assert explicit.fit(frame).fit_options_ == {
        "jit_compile": explicit.keras_model().jit_compile,
        "unroll": False,
        "steps_per_execution": 1,
    }
    msg = "`steps_per_execution`: must be a positive integer or 'auto'; got int 0."
    with pytest.raises(ValueError, match=re.escape(msg)):
        Forecaster(**small, steps_per_execution=0).fit(frame)


# The classic experiment (Keras sine tutorial)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_classic_sine_beats_naive(cell: str) -> None:
    """Train on sin(linspace(0, 100, 10000)), forecast sin(linspace(100, 110, 1000)) one step."""
    train = _frame(np.sin(np.linspace(0, 100, 10000)))
    test = np.sin(np.linspace(100, 110, 1000))
    forecaster = Forecaster(
        horizon=1,
        input_width=10,
        cell=cell,
        units=(30, 30),
        batch_size=32,
        epochs=10,
        learning_rate=1e-3,  # the classic experiment's settings, not the package defaults
        patience=5,
        max_steps_per_epoch=None,
        scaler="none",
        normalize="last",
        seed=0,
        verbose=0,
    ).fit(train)

    windows, targets = sliding_windows(test.astype(np.float32), 10, 1)
    forecast = forecaster.predict_windows(windows)
    for i in (0, len(windows) - 1):  # the same as `predict` on that origin's history
        history = _frame(test[i : i + 10], start="2021-02-21")
        assert forecaster.predict(history)["value"].iloc[0] == pytest.approx(forecast[i, 0])

    model_rmse = rmse(targets, forecast)
    naive_rmse = rmse(targets[:, 0], windows[:, -1, 0])
    # Measured: 0.023-0.037 x naive over seeds 0-3 for both cells.
    assert model_rmse < 0.1 * naive_rmse, (
        f"{cell}, seed=0: RMSE {model_rmse:.5f}, naive {naive_rmse:.5f}"
    )


# Several series with a covariate


def test_several_series_with_a_covariate(
    covariate_model: Forecaster, multi_frame: pd.DataFrame
) -> None:
    assert covariate_model.covariates_ == ["sin"]
    assert covariate_model.series_ids_ == ["s0", "s1", "s2"]
    forecast = covariate_model.predict(multi_frame)
    assert len(forecast) == 3 * 2
    assert forecast["series_id"].tolist() == ["s0", "s0", "s1", "s1", "s2", "s2"]
    ends = multi_frame.groupby("series_id")["timestamp"].max()
    for sid, part in forecast.groupby("series_id"):
        assert part["timestamp"].tolist() == [ends[sid] + HOUR, ends[sid] + 2 * HOUR]
    # Batched across series: the same as forecasting each series alone.
    for sid, part in forecast.groupby("series_id"):
        alone = covariate_model.predict(multi_frame[multi_frame["series_id"] == sid])
        np.testing.assert_allclose(alone["value"], part["value"], rtol=1e-6, atol=1e-7)


def test_recursion_with_covariates_is_refused(
    covariate_model: Forecaster, multi_frame: pd.DataFrame
) -> None:
    msg = (
        "`horizon`=5 exceeds the trained horizon 2, and recursive forecasting needs the future "
        "of the covariates ['sin']; retrain with `horizon=5`"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        covariate_model.predict(multi_frame, horizon=5)


# Save / load


def test_save_load_round_trip(
    covariate_model: Forecaster, multi_frame: pd.DataFrame, tmp_path: Path
) -> None:
    folder = covariate_model.save(tmp_path / "model")
    assert (folder / "model.keras").is_file()
    loaded = Forecaster.load(folder)
    expected = covariate_model.predict(multi_frame)
    pd.testing.assert_frame_equal(loaded.predict(multi_frame), expected)
    assert loaded.get_params() == covariate_model.get_params()
    # The `.keras` file itself holds the same network.
    windows = np.random.default_rng(0).normal(size=(5, 8, 2)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.keras_model().predict_on_batch(windows),
        covariate_model.keras_model().predict_on_batch(windows),
        rtol=1e-6,
        atol=1e-6,
    )


def test_load_and_predict_without_tensorflow(ramp_model: Forecaster, tmp_path: Path) -> None:
    folder = ramp_model.save(tmp_path / "model")
    history = _ramp(30, level=100.0)
    history.to_pickle(tmp_path / "history.pkl")
    expected = ramp_model.predict(history)["value"].to_numpy()
    script = textwrap.dedent(
        f"""
        import json
        import sys
        import pandas as pd
        from forecasting import Forecaster

        forecaster = Forecaster.load({str(folder)!r})
        forecast = forecaster.predict(pd.read_pickle({str(tmp_path / "history.pkl")!r}))
        print(json.dumps(forecast["value"].tolist()))
        print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    values, imported = done.stdout.strip().splitlines()
    assert imported == "[]"
    np.testing.assert_array_equal(np.array(json.loads(values)), expected)


def test_load_explains_a_wrong_folder(tmp_path: Path) -> None:
    msg = (
        f"{tmp_path}: no saved forecaster here (expected forecaster.joblib and model.keras); "
        "pass the folder given to Forecaster.save"
    )
    with pytest.raises(FileNotFoundError, match=re.escape(msg)):
        Forecaster.load(tmp_path)


# Constant series, early stopping


def test_constant_series_gives_a_constant_forecast() -> None:
    frame = _frame(np.full(80, 5.0))
    forecaster = Forecaster(horizon=3, input_width=6, units=(4,), epochs=2, verbose=0)
    forecast = forecaster.fit(frame).predict(frame)["value"].to_numpy()
    np.testing.assert_allclose(forecast, 5.0, atol=1e-3)


def test_early_stopping_restores_the_best_weights() -> None:
    frame = generate_series("noise", length=200, seed=1)
    forecaster = Forecaster(
        horizon=2,
        input_width=8,
        units=(8,),
        epochs=40,
        learning_rate=0.05,
        patience=2,
        seed=0,
        verbose=0,
    ).fit(frame)
    history = forecaster.history_
    assert set(history) == {"loss", "val_loss"}
    assert len(history["loss"]) == len(history["val_loss"]) < 40
    # The restored weights score the best validation loss seen, not the last one.
    held_out = forecaster._windows(frame)
    val_x, val_y = held_out.val_x, held_out.val_y
    restored = forecaster.keras_model().evaluate(val_x, val_y, verbose=0)
    assert restored == pytest.approx(min(history["val_loss"]), rel=1e-4)
    assert min(history["val_loss"]) < history["val_loss"][-1]


# Errors


def test_predict_before_fit() -> None:
    with pytest.raises(NotFittedError):
        Forecaster().predict(_ramp(30))


def test_predict_explains_a_short_history(ramp_model: Forecaster) -> None:
    msg = (
        "`history` for series 'series' has 3 points; the model needs the last 4 (its "
        "`input_width`) to forecast; pass a longer history"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        ramp_model.predict(_ramp(3))


def test_predict_forecasts_a_series_it_was_not_trained_on(ramp_model: Forecaster) -> None:
    history = pd.concat([_ramp(10), _ramp(10).assign(series_id="other")], ignore_index=True)
    forecast = ramp_model.predict(history)
    assert sorted(forecast["series_id"].unique()) == ["other", "series"]
    both = forecast.groupby("series_id")["value"].apply(list)
    np.testing.assert_allclose(both["other"], both["series"], rtol=1e-5)


def test_predict_explains_missing_columns(
    covariate_model: Forecaster, multi_frame: pd.DataFrame
) -> None:
    msg = (
        "`history` lacks the columns ['sin']; it needs ['series_id', 'timestamp', 'value'] "
        "and the covariates the model was trained with ['sin']"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        covariate_model.predict(multi_frame.drop(columns="sin"))


def test_predict_explains_a_bad_horizon(ramp_model: Forecaster) -> None:
    msg = "`horizon` must be a positive integer, got 0"
    with pytest.raises(ValueError, match=re.escape(msg)):
        ramp_model.predict(_ramp(30), horizon=0)


@pytest.mark.parametrize(
    ("params", "error", "msg"),
    [
        pytest.param(
            {"horizon": 0},
            ValueError,
            "`horizon`: Input should be greater than or equal to 1; got int 0.",
            id="horizon",
        ),
        pytest.param(
            {"epochs": 2.5},
            TypeError,
            "`epochs`: Input should be a valid integer; got float 2.5.",
            id="epochs",
        ),
        pytest.param(
            {"horizon": True},
            TypeError,
            "`horizon`: Input should be a valid integer; got bool True.",
            id="bool",
        ),
        pytest.param(
            {"batch_size": -1},
            ValueError,
            "`batch_size`: Input should be greater than or equal to 1; got int -1.",
            id="batch",
        ),
        pytest.param(
            {"input_width": 0},
            ValueError,
            "`input_width`: Input should be greater than or equal to 1; got int 0.",
            id="width",
        ),
        pytest.param(
            {"precision": "float16"},
            ValueError,
            "`precision`: Input should be 'float32', 'mixed_float16' or 'mixed_bfloat16'; "
            "got str 'float16'.",
            id="precision",
        ),
        pytest.param(
            {"lr_patience": "3"},
            TypeError,
            "`lr_patience`: Input should be a valid integer; got str '3'.",
            id="lr",
        ),
        pytest.param(
            {"max_steps_per_epoch": 0},
            ValueError,
            "`max_steps_per_epoch`: Input should be greater than or equal to 1; got int 0.",
            id="max_steps_per_epoch",
        ),
        pytest.param(
            {"normalize": "diff"},
            ValueError,
            "`normalize`: Input should be 'window', 'last' or 'none'; got str 'diff'.",
            id="normalize",
        ),
        pytest.param(
            {"cell": "LSTM"},
            ValueError,
            "`cell`: Input should be 'lstm', 'gru' or 'rnn'; got str 'LSTM'.",
            id="cell",
        ),
        pytest.param(
            {"scaler": "bogus"},
            ValueError,
            "`scaler`: Input should be 'standard', 'minmax', 'robust' or 'none'; got str 'bogus'.",
            id="scaler",
        ),
        pytest.param(
            {"validation_fraction": 1.0},
            ValueError,
            "`validation_fraction`: Input should be less than 1; got float 1.0.",
            id="validation_fraction",
        ),
    ],
)
def test_fit_explains_bad_params(params: dict[str, object], error: type, msg: str) -> None:
    with pytest.raises(error, match=re.escape(msg)):
        Forecaster(**params).fit(_ramp(40))


@pytest.mark.parametrize(
    ("length", "horizon", "msg"),
    [
        pytest.param(
            10,
            3,
            "series 'series' has 10 points; training needs at least 11 (input_width 8 + horizon "
            "3); pass a longer series, a smaller `input_width` or `horizon`, or "
            "`validation_fraction=0`",
            id="no-window",
        ),
        pytest.param(
            16,
            5,
            "series 'series' has 16 points; training needs at least 18 (input_width 8 + horizon "
            "5 + a validation tail of 5); pass a longer series, a smaller `input_width` or "
            "`horizon`, or `validation_fraction=0`",
            id="no-room-for-validation",
        ),
    ],
)
def test_fit_explains_a_short_series(length: int, horizon: int, msg: str) -> None:
    with pytest.raises(ValueError, match=re.escape(msg)):
        Forecaster(horizon=horizon, input_width=8).fit(_ramp(length))
