"""Read the series a config points at (a user CSV or a seeded synthetic series) and check it."""

from __future__ import annotations

import pandas as pd

from forecasting.data import DataError, infer_freq, load_csv, validate_frame
from forecasting.frequency import season_length_for
from forecasting.splits import holdout_length
from forecasting.synthetic import generate_series
from forecasting_app.config import Config, DataConfig

__all__ = ["check_trainable", "load_series"]


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


def check_trainable(frame: pd.DataFrame, config: Config) -> None:
    """Refuse, before any training starts, series too short for the config's windows and folds.

    Every series needs its evaluation holdout (``evaluation.folds`` origins, ``horizon``
    points after the last one, ``evaluation.step`` between them) and, before the first
    origin, at least one training window (``input_width + horizon`` points; the default
    input width is the one the forecaster would pick for the shortest series).

    Parameters
    ----------
    frame : DataFrame
        The validated long frame from :func:`load_series`.
    config : Config
        ``model.horizon``, ``model.input_width`` and the ``evaluation`` section are used.

    Raises
    ------
    DataError
        Naming the first series that is too short, how many points it has and needs, and
        the options that lower the need.
    """
    from forecasting.forecaster import default_input_width, min_training_length

    horizon, ev = config.model.horizon, config.evaluation
    holdout = holdout_length(horizon, ev.folds, ev.step)
    lengths = frame.groupby("series_id", sort=True).size()
    season = ev.season_length or season_length_for(frame.attrs.get("freq") or infer_freq(frame))
    fraction = config.train.validation_fraction
    width = config.model.input_width or default_input_width(
        season, horizon, int(lengths.min()) - holdout, fraction
    )
    needed = holdout + min_training_length(width, horizon, fraction)
    short = lengths[lengths < needed]
    if len(short):
        source = f"`{config.data.path}`" if config.data.source == "csv" else "synthetic series"
        more = f" (and {len(short) - 1} more series)" if len(short) > 1 else ""
        raise DataError(
            f"{source}: series `{short.index[0]}` has {short.iloc[0]} points{more}, but training "
            f"needs at least {needed}: input_width {width} + horizon {horizon} for one training "
            f"window and its validation tail, then {holdout} held out for evaluation "
            f"({ev.folds} fold(s) of horizon {horizon}); give it a longer history, or lower "
            "--horizon, model.input_width or evaluation.folds"
        )
