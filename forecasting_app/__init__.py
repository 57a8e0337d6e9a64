"""The application: the config-driven services under the ``forecast`` command and the flows.

It runs the library (:mod:`forecasting`) from a YAML config: :mod:`~forecasting_app.config` (the
config, every section checked), :mod:`~forecasting_app.sources` (the series a config names),
:mod:`~forecasting_app.training` (config → Forecaster and backtest),
:mod:`~forecasting_app.groups` (one training per group of series),
:mod:`~forecasting_app.scheduled` (the scheduled forecast), :mod:`~forecasting_app.forecast_report`
(its report) and :mod:`~forecasting_app.cli` (the ``forecast`` command). Prefect stays in
:mod:`flows`; imports go one way: command → flows → services → library.
"""

from forecasting_app.config import Config, ConfigError, load_config

__all__ = ["Config", "ConfigError", "load_config"]
