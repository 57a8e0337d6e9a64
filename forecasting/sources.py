"""Read the series a config points at: a user CSV or a seeded synthetic series."""

from __future__ import annotations

import pandas as pd

from forecasting.config import DataConfig
from forecasting.data import load_csv, validate_frame
from forecasting.synthetic import generate_series

__all__ = ["load_series"]


def load_series(data: DataConfig, min_length: int | None = None) -> pd.DataFrame:
    """Load and validate the long frame described by a ``data`` config section.

    Parameters
    ----------
    data : DataConfig
        ``source`` is ``csv`` (read ``path`` with the column names given) or ``synthetic``.
    min_length : int, optional
        Shortest acceptable series, typically ``input_width + horizon``.

    Returns
    -------
    DataFrame
        The validated long frame (``series_id``, ``timestamp``, ``value``, covariates).
    """
    if data.source == "csv":
        assert data.path is not None  # guaranteed by DataConfig's validator
        return load_csv(
            data.path,
            time_col=data.time_col,
            value_col=data.value_col,
            id_col=data.id_col,
            freq=data.freq,
            missing=data.missing,
            min_length=min_length,
            covariates=data.covariates,
        )
    syn = data.synthetic
    frame = generate_series(
        kind=syn.kind,
        n_series=syn.n_series,
        length=syn.length,
        freq=syn.freq,
        start=syn.start,
        noise=syn.noise,
        trend=syn.trend,
        seasonalities=tuple(syn.seasonalities),
        seed=syn.seed,
    )
    return validate_frame(
        frame, freq=syn.freq, missing=data.missing, min_length=min_length, source="synthetic series"
    )
