"""Figures and run reports: closed figures, plotted data equal to the inputs, escaped HTML."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from forecasting.figures import (
    figure_to_png,
    plot_backtest,
    plot_backtest_forecasts,
    plot_forecast,
    plot_forecast_history,
    plot_training_curves,
)
from forecasting.reports import (
    metrics_table_markdown,
    render_html_report,
    render_markdown_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HORIZON = 6


def _long(series_id: str, start: str, values: np.ndarray) -> pd.DataFrame:
    timestamps = pd.date_range(start, periods=len(values), freq="h")
    return pd.DataFrame({"series_id": series_id, "timestamp": timestamps, "value": values})


def _forecast(series_id: str, start: str, values: np.ndarray) -> pd.DataFrame:
    frame = _long(series_id, start, values)
    frame.insert(2, "step", np.arange(1, len(values) + 1))
    return frame


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    """Two hourly series of 48 points, then a 6-step forecast, actuals and a baseline."""
    rng = np.random.default_rng(0)
    history = pd.concat(
        [
            _long("a", "2024-01-01", rng.normal(size=48)),
            _long("b", "2024-01-01", rng.normal(size=48)),
        ],
        ignore_index=True,
    )
    start = "2024-01-03"  # first hour after the history
    forecast = pd.concat(
        [
            _forecast("a", start, rng.normal(size=HORIZON)),
            _forecast("b", start, rng.normal(size=HORIZON)),
        ],
        ignore_index=True,
    )
    actuals = _long("a", "2024-01-02 20:00", rng.normal(size=HORIZON + 8))  # overlaps both sides
    naive = forecast.assign(value=1.0)
    return {"history": history, "forecast": forecast, "actuals": actuals, "naive": naive}


def _lines(fig: Figure) -> dict[str, object]:
    return {line.get_label(): line for line in fig.axes[0].get_lines()}


def _assert_closed_figure(fig: object, fignums_before: list[int]) -> None:
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == fignums_before
    assert figure_to_png(fig).startswith(PNG_SIGNATURE)


def test_plot_forecast_draws_the_inputs(frames):
    before = plt.get_fignums()
    fig = plot_forecast(
        frames["history"],
        frames["forecast"],
        actuals=frames["actuals"],
        baselines={"naive": frames["naive"]},
    )
    _assert_closed_figure(fig, before)
    lines = _lines(fig)
    assert list(lines) == ["history", "actual", "forecast", "naive"]

    expected = frames["forecast"].query("series_id == 'a'")
    np.testing.assert_array_equal(lines["forecast"].get_xdata(), expected["timestamp"].to_numpy())
    np.testing.assert_array_equal(lines["forecast"].get_ydata(), expected["value"].to_numpy())

    history = frames["history"].query("series_id == 'a'").tail(5 * HORIZON)  # default window
    np.testing.assert_array_equal(lines["history"].get_xdata(), history["timestamp"].to_numpy())
    np.testing.assert_array_equal(lines["history"].get_ydata(), history["value"].to_numpy())

    inside = frames["actuals"].iloc[4 : 4 + HORIZON]  # only the forecast window
    np.testing.assert_array_equal(lines["actual"].get_xdata(), inside["timestamp"].to_numpy())
    np.testing.assert_array_equal(lines["actual"].get_ydata(), inside["value"].to_numpy())

    assert lines["naive"].get_linestyle() == "--"
    np.testing.assert_array_equal(lines["naive"].get_ydata(), np.ones(HORIZON))

    ax = fig.axes[0]
    assert ax.get_title() == "Forecast for a"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("timestamp", "value")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(lines)


def test_plot_forecast_series_and_max_history(frames):
    fig = plot_forecast(frames["history"], frames["forecast"], series_id="b", max_history=3)
    lines = _lines(fig)
    assert list(lines) == ["history", "forecast"]
    expected = frames["history"].query("series_id == 'b'")["value"].to_numpy()[-3:]
    np.testing.assert_array_equal(lines["history"].get_ydata(), expected)
    assert fig.axes[0].get_title() == "Forecast for b"


def test_plot_forecast_draws_into_a_given_ax(frames):
    fig, ax = plt.subplots()
    try:
        before = plt.get_fignums()
        assert plot_forecast(frames["history"], frames["forecast"], ax=ax) is fig
        assert plt.get_fignums() == before
        assert len(ax.get_lines()) == 2
    finally:
        plt.close(fig)


def test_a_subfigure_ax_returns_the_root_figure(frames):
    root = Figure()
    ax = root.subfigures(1, 2)[1].add_subplot()
    assert plot_training_curves({"loss": [1.0, 0.5]}, ax=ax) is root


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        pytest.param(
            {"series_id": "c"},
            ValueError,
            "`series_id` 'c' is not in `history`; it has 'a', 'b'. "
            "Pass one of these or `series_id=None` for the first.",
            id="unknown-series",
        ),
        pytest.param(
            {"max_history": 0}, ValueError, "`max_history` must be >= 1; got 0.", id="max-history-0"
        ),
        pytest.param(
            {"ax": "left"},
            TypeError,
            "`ax` must be a matplotlib Axes or None; got str. "
            "Pass for example `fig.add_subplot()` or leave `ax=None` for a new figure.",
            id="ax-not-axes",
        ),
    ],
)
def test_plot_forecast_rejects_bad_arguments(frames, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        plot_forecast(frames["history"], frames["forecast"], **kwargs)


def test_plot_forecast_names_missing_columns(frames):
    forecast = frames["forecast"].drop(columns="step")
    message = (
        "`forecast` is missing column(s) ['step']; it has ['series_id', 'timestamp', 'value']. "
        "Pass a frame with columns ['series_id', 'timestamp', 'step', 'value']."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        plot_forecast(frames["history"], forecast)


def test_plot_forecast_needs_the_series_in_each_baseline(frames):
    naive = frames["naive"].query("series_id == 'b'")
    message = (
        "`baselines['naive']` has no rows for series 'a'; "
        "pass a frame that contains it or choose another `series_id`."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        plot_forecast(frames["history"], frames["forecast"], baselines={"naive": naive})


def test_plot_training_curves():
    history = {"loss": [1.0, 0.5, 0.25, 0.2], "val_loss": [1.2, 0.6, 0.4, 0.5], "mae": [9.0] * 4}
    before = plt.get_fignums()
    fig = plot_training_curves(history)
    _assert_closed_figure(fig, before)
    lines = _lines(fig)
    assert list(lines) == ["loss", "val_loss"]
    for name, line in lines.items():
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_array_equal(line.get_ydata(), history[name])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "epoch"
    assert "best (epoch 3)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_training_curves_is_linear_for_non_positive_losses():
    fig = plot_training_curves({"loss": [0.5, 0.0]})
    assert fig.axes[0].get_yscale() == "linear"


def test_plot_training_curves_needs_a_loss():
    message = (
        "`history` has no `loss` or `val_loss` values; got keys ['mae']. "
        "Pass the Keras `History.history` dict of a fitted model (`Forecaster.history_`)."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        plot_training_curves({"mae": [1.0]})


@pytest.fixture
def folds() -> pd.DataFrame:
    origins = pd.date_range("2024-01-05", periods=3, freq="D")
    rows = [
        {
            "fold": fold,
            "origin": origins[fold],
            "method": method,
            "rmse": base + fold,
            "mae": base / 2,
        }
        for fold in range(3)
        for method, base in [("seasonal_naive", 0.6), ("naive", 0.9), ("model", 0.4)]
    ]
    return pd.DataFrame(rows)


def test_plot_backtest_groups_bars_per_fold(folds):
    before = plt.get_fignums()
    fig = plot_backtest(folds, metric="rmse")
    _assert_closed_figure(fig, before)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["model", "naive", "seasonal_naive"]
    for container, method in zip(ax.containers, legend, strict=True):
        heights = [bar.get_height() for bar in container]
        assert heights == folds.loc[folds["method"] == method, "rmse"].tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "0\n2024-01-05",
        "1\n2024-01-06",
        "2\n2024-01-07",
    ]
    assert ax.get_ylabel() == "rmse"


def test_plot_backtest_rejects_an_unknown_metric(folds):
    message = "`metric` 'mape' is not a metric column of `folds`; choose one of ['rmse', 'mae']."
    with pytest.raises(ValueError, match=re.escape(message)):
        plot_backtest(folds, metric="mape")


def test_plot_forecast_history_draws_one_faint_line_per_origin(frames):
    history = frames["history"]
    latest = frames["forecast"]
    origins = pd.to_datetime(["2024-01-01 08:00", "2024-01-01 14:00"])
    past = pd.concat(
        [
            pd.DataFrame(
                {
                    "series_id": "a",
                    "origin": origin,
                    "target_timestamp": pd.date_range(origin, periods=HORIZON, freq="h"),
                    "value": float(i),
                }
            )
            for i, origin in enumerate(origins)
        ],
        ignore_index=True,
    )
    before = plt.get_fignums()
    fig = plot_forecast_history(history, latest, past)
    _assert_closed_figure(fig, before)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == [
        "actual",
        "earlier forecasts",
        "_nolegend_",
        "latest forecast",
    ]
    for i, line in enumerate(lines[1:3]):
        assert line.get_alpha() == pytest.approx(0.3)
        np.testing.assert_array_equal(line.get_ydata(), np.full(HORIZON, float(i)))
    latest_a = latest.query("series_id == 'a'")
    np.testing.assert_array_equal(lines[3].get_xdata(), latest_a["timestamp"].to_numpy())
    np.testing.assert_array_equal(lines[3].get_ydata(), latest_a["value"].to_numpy())
    # The actuals reach back to the first earlier forecast (further than 5 x horizon).
    assert lines[0].get_xdata()[0] == np.datetime64(origins[0])


def test_figure_to_png_needs_a_figure():
    message = (
        "`fig` must be a matplotlib Figure; got bytes. "
        "Pass the value returned by a `plot_*` function."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        figure_to_png(b"png")


def test_metrics_table_markdown_bolds_the_best_value_per_column():
    metrics = {"model": {"rmse": 0.41234, "mae": 0.3}, "naive": {"mae": 0.25, "rmse": 0.87}}
    assert metrics_table_markdown(metrics) == (
        "| method | rmse | mae |\n"
        "| --- | ---: | ---: |\n"
        "| model | **0.4123** | 0.3 |\n"
        "| naive | 0.87 | **0.25** |\n"
    )


def test_metrics_table_markdown_ties_missing_and_other_metrics():
    metrics = {
        "model": {"coverage": 0.9, "mase": 0.5, "rmse": float("nan")},
        "seasonal_naive": {"mase": 0.5, "rmse": 2.0},
    }
    assert metrics_table_markdown(metrics) == (
        "| method | rmse | mase | coverage |\n"
        "| --- | ---: | ---: | ---: |\n"
        "| model | nan | **0.5** | 0.9 |\n"
        "| seasonal_naive | **2** | **0.5** | — |\n"
    )


def test_metrics_table_markdown_rejects_non_numbers():
    message = "`metrics['model']['rmse']` must be a number; got '0.4' of type str."
    with pytest.raises(TypeError, match=re.escape(message)):
        metrics_table_markdown({"model": {"rmse": "0.4"}})


METRICS = {
    "model": {"rmse": 0.41, "mae": 0.3, "smape": 12.5, "mase": 0.62},
    "naive": {"rmse": 1.234567, "mae": 0.9, "smape": 30.0, "mase": 1.0},
    "seasonal_naive": {"rmse": 0.87, "mae": 0.7, "smape": 20.25, "mase": 0.8},
}
SCRIPT = "<script>alert('x')</script>"


def _report(figures: dict[str, Figure]) -> str:
    return render_html_report(
        title=f"Run {SCRIPT}",
        summary={"rows": 1000, "series": 2, "comment": SCRIPT},
        config={"name": "demo", "model": {"units": [32, 32], "learning_rate": 0.001}, SCRIPT: 1},
        metrics=METRICS,
        decision="Version 3 is now champion: RMSE 0.41 beats seasonal naive 0.87",
        figures=figures,
        notes=[f"note {SCRIPT}"],
    )


def test_render_html_report():
    figures = {
        "Training curves": plot_training_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}),
        f"Forecast {SCRIPT}": plot_forecast(
            _long("a", "2024-01-01", np.arange(10.0)),
            _forecast("a", "2024-01-01 10:00", np.ones(2)),
        ),
    }
    page = _report(figures)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") == 7
    assert (
        '<div class="decision">Version 3 is now champion: RMSE 0.41 beats seasonal naive 0.87</div>'
        in page
    )
    for row in METRICS.values():
        for value in row.values():
            assert f">{value:.4g}<" in page
    assert '<td class="num"><strong>0.41</strong></td>' in page
    assert page.count('<img src="data:image/png;base64,') == len(figures)
    assert '<th scope="row">model.units</th><td>[32, 32]</td>' in page
    assert '<th scope="row">model.learning_rate</th><td>0.001</td>' in page


def test_render_html_report_without_figures_or_metrics():
    page = render_html_report("t", {}, {}, {}, "", {})
    assert "No metrics were computed." in page
    assert "<img" not in page
    assert 'class="decision"' not in page


def test_render_html_report_needs_figures():
    message = (
        "`figures['Forecast']` must be a matplotlib Figure; got bytes. "
        "Pass the value returned by a `plot_*` function."
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        _report({"Forecast": b"png"})


def test_render_markdown_report():
    text = render_markdown_report(
        f"Run {SCRIPT}",
        {"rows": 1000, "span": "a|b"},
        METRICS,
        "Version 3 is now champion",
        notes=["first", "second"],
    )
    assert text.startswith("# Run &lt;script&gt;alert('x')&lt;/script&gt;\n")
    assert "> **Decision:** Version 3 is now champion" in text
    assert "| span | a\\|b |" in text
    assert metrics_table_markdown(METRICS) in text
    assert text.endswith("## Notes\n\n- first\n- second\n")


def test_plot_forecast_history_without_past_forecasts(frames):
    fig = plot_forecast_history(frames["history"], frames["forecast"], series_id="b")
    lines = _lines(fig)
    assert list(lines) == ["actual", "latest forecast"]
    expected = frames["history"].query("series_id == 'b'").tail(5 * HORIZON)
    np.testing.assert_array_equal(lines["actual"].get_ydata(), expected["value"].to_numpy())
    assert fig.axes[0].get_title() == "Forecasts for b"


def _with_bounds(forecast: pd.DataFrame) -> pd.DataFrame:
    """``forecast`` with 80% and 95% bounds that widen with the step."""
    spread = forecast["step"].to_numpy(dtype=float) * 0.1
    return forecast.assign(
        lo_80=forecast["value"] - spread,
        hi_80=forecast["value"] + spread,
        lo_95=forecast["value"] - 2 * spread,
        hi_95=forecast["value"] + 2 * spread,
    )


def _bands(fig: Figure) -> dict[str, np.ndarray]:
    """Each labelled band of the first axes: its vertices' y values."""
    return {
        str(c.get_label()): np.concatenate([path.vertices[:, 1] for path in c.get_paths()])
        for c in fig.axes[0].collections
        if not str(c.get_label()).startswith("_")
    }


def test_plot_forecast_shades_each_interval_as_a_fan(frames):
    forecast = _with_bounds(frames["forecast"])
    fig = plot_forecast(frames["history"], forecast)
    bands = _bands(fig)
    assert set(bands) == {"80% interval", "95% interval"}
    rows = forecast[forecast["series_id"] == "a"]
    # The 95% band spans exactly the 95% bounds and contains the 80% band.
    assert bands["95% interval"].min() == pytest.approx(rows["lo_95"].min())
    assert bands["95% interval"].max() == pytest.approx(rows["hi_95"].max())
    assert bands["80% interval"].min() > bands["95% interval"].min()
    assert bands["80% interval"].max() < bands["95% interval"].max()


def test_plot_forecast_without_bounds_draws_no_band(frames):
    assert _bands(plot_forecast(frames["history"], frames["forecast"])) == {}
    no_interval = _with_bounds(frames["forecast"]).assign(lo_80=np.nan, hi_80=np.nan)
    assert set(_bands(plot_forecast(frames["history"], no_interval))) == {"95% interval"}


def test_plot_forecast_history_shades_the_latest_intervals(frames):
    latest = _with_bounds(frames["forecast"])
    fig = plot_forecast_history(frames["history"], latest, series_id="b")
    assert set(_bands(fig)) == {"80% interval", "95% interval"}


def test_plot_backtest_forecasts_draws_every_fold_with_its_intervals(frames):
    history = frames["history"]
    folds = []
    for fold, start in enumerate(["2024-01-02 12:00", "2024-01-02 18:00"]):
        rows = _with_bounds(_forecast("a", start, np.arange(HORIZON, dtype=float) + fold))
        actual = history[history["series_id"] == "a"].set_index("timestamp").loc[rows["timestamp"]]
        folds.append(rows.assign(fold=fold, method="model", actual=actual["value"].to_numpy()))
    baseline = folds[0].assign(method="naive")
    forecasts = pd.concat([*folds, baseline], ignore_index=True)
    before = plt.get_fignums()
    fig = plot_backtest_forecasts(history, forecasts)
    _assert_closed_figure(fig, before)
    ax = fig.axes[0]
    model_lines = [line for line in ax.get_lines() if line.get_color() == "C0"]
    assert len(model_lines) == 2  # one per fold, the baseline not drawn
    bands = [c for c in ax.collections]
    assert len(bands) == 4  # 80% and 95% per fold
    assert set(_bands(fig)) == {"80% interval", "95% interval"}  # labelled once
    actual = _lines(fig)["actual"]
    # The actuals run from before the first origin to the end of the last fold.
    assert actual.get_xdata()[-1] == forecasts["timestamp"].max()
    with pytest.raises(ValueError, match="no rows of method 'ets'"):
        plot_backtest_forecasts(history, forecasts, method="ets")


def test_metrics_table_explains_interval_columns():
    metrics = {
        "model": {"mase": 0.5, "coverage_80": 0.81, "coverage_95": 0.94, "msis": 4.0},
        "seasonal_naive": {"mase": 0.9, "coverage_80": 0.7, "coverage_95": 0.9, "msis": 6.0},
    }
    table = metrics_table_markdown(metrics)
    assert table.splitlines()[0] == "| method | mase | coverage_80 | coverage_95 | msis |"
    assert "| model | **0.5** | 0.81 | 0.94 | **4** |" in table  # msis: lower is better
    report = render_markdown_report("r", {}, metrics, "kept")
    assert "closest to 0.80 and 0.95 is best" in report
