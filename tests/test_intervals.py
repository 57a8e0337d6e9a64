"""Split-conformal prediction intervals: the quantiles, calibration, nesting, both paths."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.forecaster import Forecaster
from forecasting.inference import Predictor
from forecasting.intervals import check_levels, conformal_quantiles, interval_columns
from forecasting.nn.persistence import load_for_prediction
from forecasting.transformers import sliding_windows

_FAST = {"units": (4,), "epochs": 2, "verbose": 0, "jit_compile": False, "unroll": False}


def _hourly(values: np.ndarray, series_id: str = "s") -> pd.DataFrame:
    stamps = pd.date_range("2020-01-01", periods=len(values), freq="h")
    return pd.DataFrame({"series_id": series_id, "timestamp": stamps, "value": values})


def test_conformal_quantiles_take_the_corrected_rank() -> None:
    residuals = np.arange(1.0, 10.0)[:, None] * np.array([[1.0, -2.0]])  # n = 9, two steps
    q = conformal_quantiles(residuals)
    # level 80: rank ceil(10 * 0.8) = 8; level 50: rank 5; level 95: rank 10, capped at 9.
    np.testing.assert_array_equal(q[79], [8.0, 16.0])
    np.testing.assert_array_equal(q[49], [5.0, 10.0])
    np.testing.assert_array_equal(q[94], [9.0, 18.0])
    assert q.shape == (99, 2) and (np.diff(q, axis=0) >= 0).all()


@pytest.mark.parametrize(
    ("levels", "error", "msg"),
    [
        ((80, 100), ValueError, "`levels` must be whole percentages from 1 to 99"),
        ((80.5,), ValueError, "`levels` must be whole percentages from 1 to 99"),
        ((), ValueError, "`levels` is empty; pass at least one level, such as (80, 95)"),
        ("80", TypeError, "`levels` must be a sequence of integers such as (80, 95); got '80'"),
        ((True,), TypeError, "`levels` must hold integers such as 80 or 95; got True"),
    ],
    ids=["above-99", "fraction", "empty", "string", "bool"],
)
def test_bad_levels_are_explained(levels: object, error: type, msg: str) -> None:
    with pytest.raises(error, match=re.escape(msg)):
        check_levels(levels)  # type: ignore[arg-type]


def test_interval_columns_pair_each_level_in_order() -> None:
    assert interval_columns((95, 80)) == ["lo_80", "hi_80", "lo_95", "hi_95"]


@pytest.fixture(scope="module")
def gaussian() -> tuple[Forecaster, np.ndarray]:
    """A long seasonal series with Gaussian noise: the first 4000 hours train."""
    rng = np.random.default_rng(1)
    values = np.sin(2 * np.pi * np.arange(6000) / 24) + rng.normal(0.0, 0.3, 6000)
    model = Forecaster(horizon=4, input_width=24, validation_fraction=0.25, **_FAST)
    return model.fit(_hourly(values[:4000])), values


def test_coverage_on_a_long_gaussian_series_is_nominal(
    gaussian: tuple[Forecaster, np.ndarray],
) -> None:
    model, values = gaussian
    assert model.n_calibration_ > 900
    x, y = sliding_windows(values[4000:, None].astype(np.float32), 24, 4)
    errors = np.abs(y - model.predict_windows(x))
    widths = model.predictor_.interval_widths(x, levels=(80, 95))
    for level in (80, 95):
        covered = 100 * np.mean(errors <= widths[level])
        assert abs(covered - level) <= 3, f"{level}% interval covered {covered:.1f}%"


def test_intervals_nest_and_survive_save_and_load(
    gaussian: tuple[Forecaster, np.ndarray], tmp_path: Path
) -> None:
    model, values = gaussian
    history = _hourly(values[:4100])
    forecast = model.predict(history, levels=(80, 95))
    assert list(forecast.columns[-4:]) == ["lo_80", "hi_80", "lo_95", "hi_95"]
    assert (forecast["lo_95"] < forecast["lo_80"]).all()
    assert (forecast["lo_80"] < forecast["value"]).all()
    assert (forecast["value"] < forecast["hi_80"]).all()
    assert (forecast["hi_80"] < forecast["hi_95"]).all()
    pd.testing.assert_frame_equal(model.predict(history), forecast[forecast.columns[:4]])
    loaded = load_for_prediction(model.save(tmp_path))
    assert isinstance(loaded, Predictor)
    pd.testing.assert_frame_equal(loaded.predict(history, levels=(80, 95)), forecast)


def test_numpy_path_equals_keras_path(gaussian: tuple[Forecaster, np.ndarray]) -> None:
    model, values = gaussian
    history = _hourly(values[:4100])
    numpy_path = model.predictor_.predict(history, levels=(80, 95))
    keras_path = model.predictor_.predict(history, levels=(80, 95), forward=model.keras_forward)
    np.testing.assert_allclose(
        keras_path.iloc[:, 3:].to_numpy(float), numpy_path.iloc[:, 3:].to_numpy(float), atol=1e-5
    )
    # The calibration itself: Keras' errors on the held-out windows give the same quantiles.
    held_out = model._windows(_hourly(values[:4000]))
    assert len(held_out.val_x) == model.n_calibration_
    keras_errors = held_out.val_y - model.keras_forward(held_out.val_x)
    np.testing.assert_allclose(conformal_quantiles(keras_errors), model.conformal_, atol=1e-4)


def test_recursive_steps_have_no_interval(gaussian: tuple[Forecaster, np.ndarray]) -> None:
    model, values = gaussian
    forecast = model.predict(_hourly(values[:200]), horizon=6, levels=(80,))
    assert forecast["lo_80"].iloc[:4].notna().all()
    assert forecast[["lo_80", "hi_80"]].iloc[4:].isna().all().all()


def test_intervals_widen_with_the_step_on_a_random_walk() -> None:
    rng = np.random.default_rng(2)
    walk = np.cumsum(rng.normal(0.0, 1.0, 2000)) + 100.0
    model = Forecaster(horizon=6, input_width=16, validation_fraction=0.3, **_FAST)
    model.fit(_hourly(walk))
    q = model.conformal_[[79, 94]]
    # A random walk's error grows like the square root of the step: sqrt(6) ~ 2.4 times.
    assert (q[:, 5] > 1.8 * q[:, 0]).all()
    assert (q[:, 0] < q[:, 2]).all() and (q[:, 2] < q[:, 5]).all()
    widths = model.predictor_.interval_widths(walk[-16:, None][None], levels=(80, 95))
    assert (np.diff(widths[95][0, [0, 2, 5]]) > 0).all()


def test_a_model_without_validation_windows_gives_nan_intervals() -> None:
    values = np.sin(np.arange(200) / 3.0)
    model = Forecaster(horizon=2, input_width=8, validation_fraction=0.0, **_FAST)
    forecast = model.fit(_hourly(values)).predict(_hourly(values), levels=(95,))
    assert model.conformal_ is None
    assert forecast[["lo_95", "hi_95"]].isna().all().all()
    assert forecast["value"].notna().all()
