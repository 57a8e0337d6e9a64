"""Tests for forecasting.synthetic: seeded generators that return valid long frames."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from forecasting.data import DEFAULT_SERIES_ID, validate_frame
from forecasting.synthetic import generate_series, sin_cos_frame

KINDS = ["sin", "cos", "noise", "seasonal"]


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_gives_the_same_frame(kind):
    kwargs = {"kind": kind, "n_series": 3, "length": 50, "noise": 0.3, "seed": 7}

    pd.testing.assert_frame_equal(generate_series(**kwargs), generate_series(**kwargs))


@pytest.mark.parametrize("kind", KINDS)
def test_different_seeds_give_different_noise(kind):
    first = generate_series(kind, length=50, noise=0.3, seed=1)
    second = generate_series(kind, length=50, noise=0.3, seed=2)

    assert not np.allclose(first["value"], second["value"])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_series", [1, 12], ids=["one-series", "twelve-series"])
def test_frames_follow_the_long_frame_contract(kind, n_series):
    frame = generate_series(kind, n_series=n_series, length=30, freq="D", noise=0.1, seed=3)

    assert list(frame.columns) == ["series_id", "timestamp", "value"]
    assert frame["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert frame["value"].dtype == np.dtype("float64")
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame.attrs["freq"] == "D"
    assert len(frame) == 30 * n_series
    pd.testing.assert_frame_equal(validate_frame(frame), frame)


@pytest.mark.parametrize(
    ("n_series", "ids"),
    [
        pytest.param(1, [DEFAULT_SERIES_ID], id="one"),
        pytest.param(3, ["series_0", "series_1", "series_2"], id="three"),
    ],
)
def test_series_ids(n_series, ids):
    frame = generate_series(n_series=n_series, length=5)

    assert frame["series_id"].unique().tolist() == ids


@pytest.mark.parametrize(
    ("kind", "wave"),
    [
        pytest.param("sin", np.sin, id="sin"),
        pytest.param("cos", np.cos, id="cos"),
    ],
)
def test_sin_and_cos_values(kind, wave):
    frame = generate_series(kind, length=48, seasonalities=(12,), amplitude=2.0, level=5.0)
    t = np.arange(48)

    np.testing.assert_allclose(frame["value"], 5.0 + 2.0 * wave(2 * np.pi * t / 12), atol=1e-12)


def test_seasonal_is_a_sum_of_sines_plus_trend():
    frame = generate_series("seasonal", length=200, seasonalities=(24, 7.5), trend=0.01)
    t = np.arange(200)
    expected = np.sin(2 * np.pi * t / 24) + np.sin(2 * np.pi * t / 7.5) + 0.01 * t

    np.testing.assert_allclose(frame["value"], expected, atol=1e-12)


def test_series_are_phase_shifted():
    frame = generate_series("sin", n_series=2, length=24)
    first, second = (part["value"].to_numpy() for _, part in frame.groupby("series_id"))

    np.testing.assert_allclose(second, -first, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_noise_kind_has_the_requested_scale(seed):
    frame = generate_series("noise", length=20_000, amplitude=2.0, level=3.0, seed=seed)

    assert abs(frame["value"].mean() - 3.0) < 0.1, f"reproduce with seed={seed}"
    assert abs(frame["value"].std() - 2.0) < 0.1, f"reproduce with seed={seed}"


def test_calendar_frequencies_and_start():
    frame = generate_series(length=3, freq="MS", start="2021-01-01")

    assert frame["timestamp"].dt.strftime("%Y-%m-%d").tolist() == [
        "2021-01-01",
        "2021-02-01",
        "2021-03-01",
    ]
    assert frame.attrs["freq"] == "MS"


def test_sin_cos_frame():
    frame = sin_cos_frame(length=48, freq="h", period=24)
    angle = 2 * np.pi * np.arange(48) / 24

    assert list(frame.columns) == ["series_id", "timestamp", "value", "sin"]
    assert set(frame["series_id"]) == {DEFAULT_SERIES_ID}
    np.testing.assert_allclose(frame["value"], np.cos(angle), atol=1e-12)
    np.testing.assert_allclose(frame["sin"], np.sin(angle), atol=1e-12)
    assert frame["sin"].dtype == np.dtype("float64")
    pd.testing.assert_frame_equal(validate_frame(frame), frame)


def test_sin_cos_frame_noise_is_seeded():
    first = sin_cos_frame(length=100, noise=0.2, seed=5)

    pd.testing.assert_frame_equal(first, sin_cos_frame(length=100, noise=0.2, seed=5))
    assert not np.allclose(first["value"], sin_cos_frame(length=100, noise=0.2, seed=6)["value"])


@pytest.mark.parametrize(
    ("kwargs", "error", "msg"),
    [
        pytest.param(
            {"kind": "square"},
            ValueError,
            "`kind` must be one of 'sin', 'cos', 'noise', 'seasonal', got 'square'",
            id="unknown-kind",
        ),
        pytest.param(
            {"n_series": 0}, ValueError, "`n_series` must be at least 1, got 0", id="no-series"
        ),
        pytest.param(
            {"length": 10.5}, TypeError, "`length` must be an integer, got float", id="float-length"
        ),
        pytest.param(
            {"noise": -1.0},
            ValueError,
            "`noise` must be a non-negative standard deviation, got -1.0",
            id="negative-noise",
        ),
        pytest.param(
            {"seasonalities": ()},
            ValueError,
            "`seasonalities` must be a non-empty sequence of positive periods in steps, got ()",
            id="no-seasonalities",
        ),
        pytest.param(
            {"freq": "fortnight"},
            ValueError,
            "`freq` must be a pandas frequency alias such as 'h', 'D' or 'MS', got 'fortnight'",
            id="unknown-freq",
        ),
        pytest.param(
            {"freq": "MS", "start": "2020-01-15"},
            ValueError,
            "`start` '2020-01-15 00:00:00' is not on the 'MS' grid; use e.g. '2020-02-01 00:00:00'",
            id="start-off-grid",
        ),
    ],
)
def test_generate_series_errors(kwargs, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        generate_series(**kwargs)


def test_sin_cos_frame_refuses_bad_period():
    msg = "`period` must be a positive number of steps, got 0"
    with pytest.raises(ValueError, match=re.escape(msg)):
        sin_cos_frame(period=0)
