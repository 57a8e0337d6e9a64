"""What the scheduled forecast serves per series: the model where it can forecast, and,
by each series' own last horizons, the candidate of :mod:`forecasting.selection` that
scores best there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.inference import Predicts
from forecasting.selection import (
    SERVED_CANDIDATES,
    VALIDATION_WINDOWS,
    choose,
    method_forecasts,
    served_forecast,
    validation_scores,
)

__all__ = ["model_forecasts", "serve"]


def serve(
    model: Predicts,
    history: pd.DataFrame,
    model_rows: pd.DataFrame,
    horizon: int,
    season_length: int,
    levels: Sequence[int] = (),
    candidates: Sequence[str] = SERVED_CANDIDATES,
    windows: int = VALIDATION_WINDOWS,
) -> pd.DataFrame:
    """What the scheduled forecast serves: each series' candidate chosen on its last horizon.

    Parameters
    ----------
    model : Forecaster or Predictor
        The fitted network (the registry's champion); it forecast ``model_rows``.
    history : DataFrame
        The series the model could forecast, as it forecast them.
    model_rows : DataFrame
        The model's forecast of ``history`` (with ``levels``' bounds).
    horizon, season_length : int
        The model's horizon and the season.
    levels : sequence of int
        Interval levels of the forecast.
    candidates : sequence of str
        Methods to choose among, most preferred first (:data:`SERVED_CANDIDATES`).
    windows : int
        Validation windows per series (see :func:`validation_scores`).

    Returns
    -------
    DataFrame
        ``model_rows`` where the model was chosen, the chosen method's rows elsewhere, with a
        ``method`` column naming what each row is.
    """
    ids = [str(s) for s in history["series_id"].unique()]
    scores = validation_scores(model, history, horizon, season_length, candidates, windows)
    chosen = choose(scores, ids, candidates)
    others = {sid: m for sid, m in chosen.items() if m != "model"}
    kept = model_rows[~model_rows["series_id"].astype(str).isin(others)].assign(method="model")
    if not others:
        return kept.reset_index(drop=True)
    rest = history[history["series_id"].astype(str).isin(others)]
    rest.attrs = dict(history.attrs)
    wanted = sorted(set(others.values()))
    alternatives = method_forecasts(model, rest, horizon, season_length, levels, wanted)
    return pd.concat([kept, served_forecast(alternatives, others)], ignore_index=True)


_NOTE_CHARS = 300  # longest reason kept per series


def model_forecasts(
    model: Predicts, frame: pd.DataFrame, levels: Sequence[int] = ()
) -> tuple[list[pd.DataFrame], dict[str, str]]:
    """The model's forecast of every series it can forecast, and why it failed the others.

    All series go through one batched forecast; only when that fails (or gives values that are
    not finite) is each series forecast on its own, so that one series cannot fail the rest.

    Returns
    -------
    tuple of list and dict
        The forecasts (one frame, or one per series), and ``{series_id: reason}`` for the
        series the model could not forecast.
    """
    wanted = tuple(levels) or None
    try:
        whole = model.predict(frame, levels=wanted)
    except Exception:  # some series failed: find which, below
        whole = None
    if whole is not None and np.isfinite(whole["value"].to_numpy(dtype=float)).all():
        return [whole], {}
    forecasts, failed = [], {}
    for sid, group in frame.groupby("series_id", sort=False):
        group.attrs = dict(frame.attrs)
        try:
            part = model.predict(group, levels=wanted)
        except Exception as exc:  # any per-series failure falls back to a baseline
            failed[str(sid)] = _reason(f"the model cannot forecast it: {exc}")
            continue
        if not np.isfinite(part["value"].to_numpy(dtype=float)).all():
            failed[str(sid)] = _reason("the model's forecast is not finite")
            continue
        forecasts.append(part)
    return forecasts, failed


def _reason(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= _NOTE_CHARS else line[: _NOTE_CHARS - 1] + "…"
