"""Network ensembles: the median of their members, fitted together or apart, saved and loaded."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.ensemble import combine_members, fit_member, member_forecaster
from forecasting.nn.persistence import load_for_prediction, load_predictor
from forecasting.synthetic import generate_series

pytest.importorskip("keras")

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

MEMBERS = 3


def _template(**params: object) -> Forecaster:
    settings: dict[str, object] = {
        "horizon": 3,
        "input_width": 12,
        "units": (6,),
        "epochs": 4,
        "learning_rate": 0.02,
        "seed": 5,
        "verbose": 0,
        "members": MEMBERS,
    }
    return Forecaster(**(settings | params))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_series(
        "seasonal", length=160, n_series=2, seasonalities=(12,), noise=0.4, seed=2
    )


@pytest.fixture(scope="module")
def ensemble(frame: pd.DataFrame) -> Forecaster:
    return _template().fit(frame)


@pytest.fixture(scope="module")
def members(frame: pd.DataFrame) -> list[Forecaster]:
    return [fit_member(_template(), frame, k) for k in range(MEMBERS)]


def test_each_member_is_a_one_network_forecaster_with_the_next_seed() -> None:
    member = member_forecaster(_template(), 2)
    assert (member.members, member.seed) == (1, 7)
    with pytest.raises(ValueError, match=r"`member` must be from 0 to 2"):
        member_forecaster(_template(), 3)


def test_the_forecast_is_the_median_of_the_members(
    ensemble: Forecaster, members: list[Forecaster], frame: pd.DataFrame
) -> None:
    assert len(ensemble.models_) == MEMBERS
    forecasts = np.stack([m.predict(frame)["value"].to_numpy() for m in members])
    # The members differ (other seeds), so the median is a real choice among them.
    assert np.ptp(forecasts, axis=0).min() > 0
    np.testing.assert_allclose(
        ensemble.predict(frame)["value"].to_numpy(), np.median(forecasts, axis=0), rtol=1e-5
    )
    # The reference is the members' own: the ensemble only changes the network's part.
    pd.testing.assert_frame_equal(
        ensemble.predict_reference(frame), members[0].predict_reference(frame)
    )


def test_the_keras_and_numpy_paths_take_the_same_median(
    ensemble: Forecaster, frame: pd.DataFrame
) -> None:
    windows = np.random.default_rng(0).normal(size=(7, 12, 1)).astype(np.float32)
    np.testing.assert_allclose(
        ensemble.keras_forward(windows), ensemble.predictor_.numpy_forward(windows), atol=1e-5
    )


def test_members_fitted_apart_and_copied_join_into_the_same_fit(
    ensemble: Forecaster, members: list[Forecaster], frame: pd.DataFrame
) -> None:
    # Copied as a task runner's workers send them back: without their Keras networks.
    copied = [pickle.loads(pickle.dumps(m)) for m in members]
    assert all(m.models_ == [None] for m in copied)
    joined = combine_members(_template(), frame, copied)
    levels = (80, 95)
    pd.testing.assert_frame_equal(
        joined.predict(frame, levels=levels), ensemble.predict(frame, levels=levels)
    )
    np.testing.assert_array_equal(joined.conformal_, ensemble.conformal_)
    assert joined.members_fell_back_ == ensemble.members_fell_back_
    assert joined.fell_back_ == ensemble.fell_back_


def test_combine_refuses_members_of_another_ensemble(
    members: list[Forecaster], frame: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match=r"holds 2 fitted forecaster\(s\), but the ensemble has 3"):
        combine_members(_template(), frame, members[:2])
    with pytest.raises(ValueError, match=r"`members\[0\]` is not member 0 of this ensemble"):
        combine_members(_template(), frame, [members[1], members[0], members[2]])


def test_an_ensemble_falls_back_when_most_members_did(
    members: list[Forecaster], frame: pd.DataFrame
) -> None:
    from forecasting.nn.fitting import FittedNetwork

    def joined(fell_back: list[bool]) -> Forecaster:
        template = _template()
        data = template.prepare(frame)
        networks = [
            FittedNetwork(m.models_[0], m.history_, m.fit_options_, f)
            for m, f in zip(members, fell_back, strict=True)
        ]
        return template.finish(data, networks)

    one = joined([True, False, False])
    assert (one.members_fell_back_, one.fell_back_) == ([True, False, False], False)
    two = joined([True, True, False])
    assert (two.members_fell_back_, two.fell_back_) == ([True, True, False], True)


def test_save_and_load_keep_every_member(
    ensemble: Forecaster, frame: pd.DataFrame, tmp_path: Path
) -> None:
    folder = ensemble.save(tmp_path / "model")
    assert sorted(p.name for p in folder.glob("*.keras")) == [
        "model-1.keras",
        "model-2.keras",
        "model.keras",
    ]
    expected = ensemble.predict(frame, levels=(80,))
    predictor = load_predictor(folder)
    assert predictor.weights is not None and len(predictor.weights) == MEMBERS
    pd.testing.assert_frame_equal(predictor.predict(frame, levels=(80,)), expected)
    assert load_for_prediction(folder) is not None
    loaded = Forecaster.load(folder)
    assert loaded.members == MEMBERS
    windows = np.random.default_rng(1).normal(size=(4, 12, 1)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.keras_forward(windows), ensemble.keras_forward(windows), atol=1e-6
    )
