"""The light forward path: equal to the Forecaster, and loadable without TensorFlow or sklearn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.forecaster import Forecaster
from forecasting.inference import Predictor
from forecasting.nn.persistence import load_for_prediction, load_predictor
from forecasting.synthetic import generate_series, sin_cos_frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Forecaster, pd.DataFrame, Path]:
    frame = generate_series(kind="seasonal", n_series=3, length=200, noise=0.05, trend=0.01)
    model = Forecaster(horizon=3, input_width=12, units=(6,), epochs=2, scaler="minmax").fit(frame)
    folder = model.save(tmp_path_factory.mktemp("model"))
    return model, frame, folder


def test_predictor_round_trip_equals_the_forecaster(
    fitted: tuple[Forecaster, pd.DataFrame, Path],
) -> None:
    model, frame, folder = fitted
    expected = model.predict(frame)
    loaded = load_for_prediction(folder)
    assert isinstance(loaded, Predictor)
    pd.testing.assert_frame_equal(loaded.predict(frame), expected)
    keras_path = model.predictor_.predict(frame, forward=model.keras_forward)
    np.testing.assert_allclose(keras_path["value"], expected["value"], rtol=1e-5, atol=1e-5)
    assert loaded.series_ids == model.series_ids == ["series_0", "series_1", "series_2"]


def test_loading_and_forecasting_import_neither_tensorflow_nor_sklearn(
    fitted: tuple[Forecaster, pd.DataFrame, Path], tmp_path: Path
) -> None:
    _, frame, folder = fitted
    frame.to_csv(tmp_path / "history.csv", index=False)
    code = (
        "import sys, pandas as pd\n"
        "from forecasting.nn.persistence import load_for_prediction, load_predictor\n"
        f"history = pd.read_csv({str(tmp_path / 'history.csv')!r}, parse_dates=['timestamp'])\n"
        f"print(len(load_for_prediction({str(folder)!r}).predict(history)))\n"
        "print([m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["9", "[]"]


def test_covariates_and_scaling_survive_the_affine_form(tmp_path: Path) -> None:
    frame = sin_cos_frame(length=300, noise=0.01)
    frame["value"] = frame["value"] * 50 + 400  # a level and scale far from the unit
    model = Forecaster(horizon=2, input_width=8, units=(4,), epochs=1, scaler="robust").fit(frame)
    folder = model.save(tmp_path / "m")
    np.testing.assert_allclose(
        load_predictor(folder).predict(frame)["value"], model.predict(frame)["value"], rtol=1e-6
    )
