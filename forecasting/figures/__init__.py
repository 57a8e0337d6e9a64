"""Figures of forecasts and evaluations, drawn with matplotlib.

Every function returns a pyplot-free (closed) Figure: :func:`plot_forecast` (a forecast with
its intervals against the history, actuals and baselines), :func:`plot_forecast_history` (the
stored forecasts of a series over time), :func:`plot_backtest_forecasts` (every fold's
forecast), :func:`plot_backtest` (a metric per fold and method), :func:`plot_training_curves`
(losses per epoch); :func:`figure_to_png` encodes one.
"""

from forecasting.figures._evaluation import plot_backtest, plot_training_curves
from forecasting.figures._forecasts import (
    plot_backtest_forecasts,
    plot_forecast,
    plot_forecast_history,
)
from forecasting.figures._plotting import figure_to_png

__all__ = [
    "figure_to_png",
    "plot_backtest",
    "plot_backtest_forecasts",
    "plot_forecast",
    "plot_forecast_history",
    "plot_training_curves",
]
