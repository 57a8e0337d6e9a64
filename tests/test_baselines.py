"""Baseline prediction intervals: by hand for (seasonal) naive, nested for every method."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.baselines import BASELINES, baseline_forecast


def test_naive_bounds_are_the_conformal_quantiles_of_its_errors_by_hand() -> None:
    # Step 1 errors 1, 2, 3 -> level 50 takes rank ceil(4 * 0.5) = 2: 2.
    # Step 2 errors 3, 5 -> rank ceil(3 * 0.5) = 2: 5.
    values, bounds = baseline_forecast("naive", [0.0, 1.0, 3.0, 6.0], 2, 1, levels=(50,))
    np.testing.assert_array_equal(values, [6.0, 6.0])
    np.testing.assert_array_equal(bounds[50][0], [4.0, 1.0])
    np.testing.assert_array_equal(bounds[50][1], [8.0, 11.0])


def test_seasonal_naive_bounds_by_hand() -> None:
    # Season 2, step 1 from origin t repeats y[t - 1]: errors 2, 3, 1, 1 -> rank 3 of 4: 2.
    history = [1.0, 2.0, 3.0, 5.0, 4.0, 6.0]
    values, bounds = baseline_forecast("seasonal_naive", history, 1, 2, levels=(50,))
    np.testing.assert_array_equal(values, [4.0])
    np.testing.assert_array_equal(bounds[50][0], [2.0])
    np.testing.assert_array_equal(bounds[50][1], [6.0])


@pytest.mark.parametrize("method", BASELINES)
def test_every_baseline_gives_nested_intervals_around_its_point_forecast(method: str) -> None:
    rng = np.random.default_rng(0)
    history = 10 + np.sin(2 * np.pi * np.arange(240) / 12) + rng.normal(0, 0.3, 240)
    values, bounds = baseline_forecast(method, history, 6, 12, levels=(95, 80))
    np.testing.assert_array_equal(values, baseline_forecast(method, history, 6, 12))
    assert sorted(bounds) == [80, 95]
    stacked = np.stack([bounds[95][0], bounds[80][0], values, bounds[80][1], bounds[95][1]])
    assert np.isfinite(stacked).all()
    assert (np.diff(stacked, axis=0) > 0).all()


def test_a_step_without_in_sample_errors_has_no_bounds() -> None:
    _, bounds = baseline_forecast("naive", [1.0, 2.0], 2, 1, levels=(80,))
    assert np.isfinite(bounds[80][0][0]) and np.isnan(bounds[80][0][1])
