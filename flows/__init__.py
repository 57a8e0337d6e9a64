"""Prefect flows that run the forecasting library: train, backtest, forecast."""
