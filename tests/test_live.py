"""Live accuracy: realised coverage and width per step, and the degradation rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.live import check_degradation, realised_as_metrics, realised_markdown
from forecasting.store import ForecastStore, realised_metrics

ORIGIN = pd.Timestamp("2024-01-01")


def _forecasts(version: str = "1") -> pd.DataFrame:
    """Two series × two steps; value 10, 80% bounds ±1, 95% bounds ±2 (series b: none)."""
    rows = []
    for sid in ("a", "b"):
        for step in (1, 2):
            bounded = sid == "a"
            rows.append(
                {
                    "series_id": sid,
                    "origin": ORIGIN,
                    "target_timestamp": ORIGIN + pd.Timedelta(hours=step),
                    "step": step,
                    "value": 10.0,
                    "model_name": "demo",
                    "model_version": version,
                    "run_id": "run",
                    "method": "model",
                    "lo_80": 9.0 if bounded else np.nan,
                    "hi_80": 11.0 if bounded else np.nan,
                    "lo_95": 8.0 if bounded else np.nan,
                    "hi_95": 12.0 if bounded else np.nan,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ForecastStore]:
    store = ForecastStore(f"sqlite:///{tmp_path / 'forecasts.db'}")
    yield store
    store.close()


def test_read_scored_joins_the_bounds_and_realised_metrics_counts_coverage(store):
    store.write_forecasts(_forecasts("1"))
    store.write_forecasts(_forecasts("2"))
    # a: step 1 inside 80%, step 2 outside 80% but inside 95%; b has no bounds.
    actuals = pd.DataFrame(
        {
            "series_id": ["a", "a", "b", "b"],
            "timestamp": [ORIGIN + pd.Timedelta(hours=h) for h in (1, 2, 1, 2)],
            "value": [10.5, 11.5, 30.0, 10.0],
        }
    )
    assert store.write_scores(store.unscored(actuals)) == 8
    scored = store.read_scored("demo", "1")
    assert len(scored) == 4 and set(scored["model_version"]) == {"1"}
    a = scored[scored["series_id"] == "a"]
    assert list(a["lo_95"]) == [8.0, 8.0] and list(a["hi_80"]) == [11.0, 11.0]
    assert scored.loc[scored["series_id"] == "b", "lo_80"].isna().all()
    pd.testing.assert_frame_equal(
        scored[store.read_scores("demo").columns],
        store.read_scores("demo").query("model_version == '1'").reset_index(drop=True),
    )

    realised = realised_metrics(scored)
    # Coverage and width count only the rows with bounds (series a): one point per step.
    assert list(realised["coverage_80"]) == [1.0, 0.0]
    assert list(realised["coverage_95"]) == [1.0, 1.0]
    assert list(realised["width_80"]) == [2.0, 2.0] and list(realised["width_95"]) == [4.0, 4.0]
    assert list(realised["n"]) == [2, 2]  # rmse and mae over every row

    metrics = realised_as_metrics(realised)
    assert metrics["realised_coverage_80_step_2"] == 0.0
    assert metrics["realised_width_95_step_1"] == 4.0
    assert "realised_rmse_step_1" in metrics
    table = realised_markdown(realised)
    assert table.splitlines()[0] == (
        "| step | n | realised rmse | realised mae | coverage 80 | width 80 | coverage 95 | "
        "width 95 |"
    )
    assert "| 2 | 2 |" in table and "| 0% | 2 | 100% | 4 |" in table


def test_realised_metrics_without_bounds_keeps_its_columns():
    scores = pd.DataFrame({"step": [1, 1], "error": [1.0, -1.0]})
    assert list(realised_metrics(scores).columns) == ["step", "n", "rmse", "mae"]
    assert set(realised_as_metrics(realised_metrics(scores))) == {
        "realised_rmse_step_1",
        "realised_mae_step_1",
    }


def _scores(points: int, covered: int) -> pd.DataFrame:
    """``points`` scored forecasts of error 0.1; the first ``covered`` inside ±1."""
    inside = np.arange(points) < covered
    return pd.DataFrame(
        {
            "step": 1,
            "error": 0.1,
            "actual": np.where(inside, 0.1, 5.0),
            "lo_95": -1.0,
            "hi_95": 1.0,
        }
    )


def test_degradation_flags_intervals_that_stopped_covering():
    healthy = check_degradation(_scores(40, 38), backtest_rmse=1.0, factor=2.0)
    assert not healthy.degraded and healthy.coverage_95 == pytest.approx(0.95)
    assert healthy.message.endswith("95% intervals cover 95% of 40")
    low = check_degradation(_scores(40, 20), backtest_rmse=1.0, factor=2.0)
    assert low.degraded
    assert low.message.startswith("degraded: the 95% intervals cover 50% of 40 forecast points")
    # Too few points to judge coverage, and the baseline (no evaluation RMSE), never flag it.
    assert not check_degradation(_scores(10, 2), backtest_rmse=1.0, factor=2.0).degraded
    assert not check_degradation(_scores(40, 0), backtest_rmse=None, factor=2.0).degraded
    # The RMSE rule is unchanged and comes first.
    worse = check_degradation(_scores(40, 40), backtest_rmse=0.01, factor=2.0)
    assert worse.degraded and worse.message.startswith("degraded: realised RMSE")
