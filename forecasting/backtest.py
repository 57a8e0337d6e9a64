"""Rolling-origin evaluation of a forecaster against naive, seasonal naive, ETS, Theta and the
statistical ensemble, beside its reference alone, its combination with the statistical
forecasts, and what the per-series choice among them serves (:mod:`forecasting.selection`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from sklearn.base import clone

from forecasting.baselines import BASELINES
from forecasting.data import infer_freq
from forecasting.forecaster import Forecaster
from forecasting.frequency import season_length_for
from forecasting.intervals import DEFAULT_LEVELS, interval_columns
from forecasting.metrics import INTERVAL_METRICS, METRICS, score_forecasts
from forecasting.selection import VALIDATION_WINDOWS, with_served
from forecasting.splits import rolling_origin

__all__ = [
    "INTERVAL_METRICS",
    "METHODS",
    "METRICS",
    "BacktestResult",
    "Fold",
    "FoldResult",
    "backtest",
    "backtest_fold",
    "combine_folds",
    "fold_forecaster",
    "plan_folds",
    "score_forecasts",
]

METHODS = ("model", "reference", *BASELINES, "combination", "served")
# Methods scored on each series' validation window too: the candidates of ``served`` and
# the others, so that a pool of candidates can be compared on the same fits.
_VALIDATED = tuple(m for m in METHODS if m != "served")
_BOUNDS = interval_columns(DEFAULT_LEVELS)
_COLUMNS = ["origin", "series_id", "timestamp", "step", "method", "value", "actual"]


@dataclass
class BacktestResult:
    """What a backtest measured.

    Attributes
    ----------
    scores : DataFrame
        One row per fold × series × method: ``fold``, ``origin``, ``series_id``, ``method`` and
        the metrics ``rmse``, ``mae``, ``smape``, ``mase``, ``coverage_80``, ``coverage_95``
        and ``msis`` (see :func:`forecasting.metrics.score_forecasts`).
    forecasts : DataFrame
        Every forecast made: ``fold``, ``origin``, ``series_id``, ``timestamp``, ``step``,
        ``method``, ``value``, ``actual`` and the bounds ``lo_80, hi_80, lo_95, hi_95``.
    season_length : int
        The season used by seasonal naive and MASE.
    model : Forecaster
        The last fold's fitted forecaster (trained on everything before the last origin).
    train : DataFrame
        The last fold's training frame.
    fold_models : list of Forecaster
        Every fold's fitted forecaster, in fold order (the last one is ``model``); each was
        fitted, scaler included, on that fold's training part only.
    runner : dict, optional
        What ran the folds (``kind``, ``address``, ``workers``), when a task runner did;
        ``None`` for an in-process :func:`backtest`.
    validation : DataFrame
        Per fold, series, method and validation window (1: the last horizon before the
        origin), the MASE that ``served`` chose by: ``fold``, ``series_id``, ``method``,
        ``window``, ``validation_mase``.
    """

    scores: pd.DataFrame
    forecasts: pd.DataFrame
    season_length: int
    model: Forecaster
    train: pd.DataFrame
    fold_models: list[Forecaster] = field(default_factory=list)
    runner: dict[str, Any] | None = None
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def folds(self) -> pd.DataFrame:
        """Per fold × method metrics, averaged over series; ``origin`` is the latest one."""
        grouped = self.scores.groupby(["fold", "method"], sort=True)
        table = grouped[list(self._metrics)].mean()
        table.insert(0, "origin", grouped["origin"].max())
        return table.reset_index()[["fold", "origin", "method", *self._metrics]]

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        """``{method: {metric: mean over folds and series}}``; interval metrics where known."""
        means = self.scores.groupby("method")[list(self._metrics)].mean()
        table = means.to_dict(orient="index")
        return {m: _known({str(k): v for k, v in table[m].items()}) for m in METHODS if m in table}

    @property
    def fell_back(self) -> list[bool]:
        """Per fold, whether its network was reset to its reference (``fell_back_``)."""
        return [bool(getattr(m, "fell_back_", False)) for m in self.fold_models]

    @property
    def served_by(self) -> dict[str, int]:
        """How many series × folds ``served`` gave to each method."""
        served = self.scores[self.scores["method"] == "served"]
        if "served_by" not in served:
            return {}
        counts = served["served_by"].value_counts()
        return {str(m): int(counts[m]) for m in METHODS if m in counts.index}

    @property
    def _metrics(self) -> tuple[str, ...]:
        return tuple(k for k in (*METRICS, *INTERVAL_METRICS) if k in self.scores.columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"season_length", "folds": [...], "summary": {...}}``, and ``runner``.

        Each fold says whether its network fell back to its reference (``fell_back``; with
        an ensemble, most of its members did, and ``members_fell_back`` says which) and
        what ``served`` chose per method (``served_by``); the payload adds both over all
        folds. ``runner`` is there when a task runner ran the folds (see :attr:`runner`).
        """
        folds = []
        for fold, part in self.folds.groupby("fold", sort=True):
            metrics = {
                str(row.method): _known({k: getattr(row, k) for k in self._metrics})
                for row in part.itertuples()
            }
            index = int(str(fold))
            served = self.scores.loc[self.scores["fold"] == index, "served_by"].dropna()
            entry = {"fold": index, "origin": str(part["origin"].iloc[0]), "metrics": metrics}
            entry["fell_back"] = self.fell_back[index] if index < len(self.fell_back) else False
            if index < len(self.fold_models) and self.fold_models[index].members > 1:
                entry["members_fell_back"] = list(self.fold_models[index].members_fell_back_)
            entry["served_by"] = {str(k): int(v) for k, v in served.value_counts().items()}
            folds.append(entry)
        payload: dict[str, Any] = {
            "season_length": self.season_length,
            "folds": folds,
            "summary": self.summary,
            "fell_back": self.fell_back,
            "served_by": self.served_by,
        }
        if self.runner is not None:
            payload["runner"] = dict(self.runner)
        return payload


def backtest(
    forecaster: Forecaster,
    frame: pd.DataFrame,
    folds: int = 1,
    step: int | None = None,
    window: Literal["expanding", "sliding"] = "expanding",
    season_length: int | None = None,
    callbacks: Sequence[Any] = (),
    refit: bool = True,
    validation_windows: int = VALIDATION_WINDOWS,
) -> BacktestResult:
    """Refit ``forecaster`` at each of ``folds`` origins and score it against baselines.

    The last origin leaves exactly ``forecaster.horizon`` points per series to forecast, and
    earlier origins step back by ``step``. Each fold fits a fresh clone on the points before
    its origin only (scalers included), so no fold sees its own future.

    Parameters
    ----------
    forecaster : Forecaster
        An unfitted template; it is cloned for every fold.
    frame : DataFrame
        Validated long frame.
    folds : int
        Number of origins; 1 is the plain holdout of the last ``horizon`` points.
    step : int, optional
        Points between origins; defaults to the horizon.
    window : {"expanding", "sliding"}
        Whether training grows with the origin or keeps the first fold's length.
    season_length : int, optional
        Season of seasonal naive and MASE; inferred from the frequency when omitted.
    callbacks : sequence of keras.callbacks.Callback
        Passed to the last fold's fit (the model that is returned).
    refit : bool
        ``False`` scores an already fitted forecaster as it is at every origin (for example
        the registry's champion on a challenger's evaluation data).
    validation_windows : int
        The last horizons before each origin on which ``served`` compares its candidates.

    Returns
    -------
    BacktestResult
        Scores, forecasts and the last fold's model.
    """
    plan = plan_folds(forecaster, frame, folds, step, window, season_length, validation_windows)
    results = [
        backtest_fold(
            forecaster, fold, callbacks=callbacks if fold.index == folds - 1 else (), refit=refit
        )
        for fold in plan
    ]
    return combine_folds(results)


@dataclass(frozen=True)
class Fold:
    """One origin of a backtest: what a fold's fit and scoring need, and nothing more.

    Attributes
    ----------
    index : int
        0 for the earliest origin.
    train, test : DataFrame
        The points before the origin, and the ``horizon`` points after it, of every series.
    freq : str
        Pandas alias of the series' frequency.
    season_length : int
        Season of seasonal naive and MASE.
    validation_windows : int
        The last horizons of ``train`` on which ``served`` compares its candidates.
    """

    index: int
    train: pd.DataFrame
    test: pd.DataFrame
    freq: str
    season_length: int
    validation_windows: int = VALIDATION_WINDOWS


@dataclass
class FoldResult:
    """What one fold measured: its fitted model, forecasts (with ``fold``), score rows, and
    every method's validation scores (:func:`forecasting.selection.validation_scores`)."""

    fold: Fold
    model: Forecaster
    forecasts: pd.DataFrame
    scores: list[dict[str, Any]]
    validation: pd.DataFrame = field(default_factory=pd.DataFrame)


def plan_folds(
    forecaster: Forecaster,
    frame: pd.DataFrame,
    folds: int = 1,
    step: int | None = None,
    window: Literal["expanding", "sliding"] = "expanding",
    season_length: int | None = None,
    validation_windows: int = VALIDATION_WINDOWS,
) -> list[Fold]:
    """Cut ``frame`` into the folds of :func:`backtest`, each independent of the others.

    Parameters
    ----------
    forecaster : Forecaster
        Gives the horizon, and the frequency and season when it has them.
    frame : DataFrame
        Validated long frame.
    folds, step, window, season_length, validation_windows
        As in :func:`backtest`.

    Returns
    -------
    list of Fold
        In origin order; each can be fitted and scored anywhere by :func:`backtest_fold`.
    """
    horizon = int(forecaster.horizon)
    freq = getattr(forecaster, "freq_", None) or forecaster.freq or infer_freq(frame)
    season = int(season_length or forecaster.season_length or season_length_for(freq))
    groups = {
        str(sid): g.reset_index(drop=True) for sid, g in frame.groupby("series_id", sort=False)
    }
    plans = {
        sid: rolling_origin(len(g), horizon=horizon, folds=folds, step=step, window=window)
        for sid, g in groups.items()
    }
    return [
        Fold(
            index=k,
            train=pd.concat([groups[sid].iloc[plan[k].train] for sid, plan in plans.items()]),
            test=pd.concat([groups[sid].iloc[plan[k].test] for sid, plan in plans.items()]),
            freq=freq,
            season_length=season,
            validation_windows=validation_windows,
        )
        for k in range(folds)
    ]


def fold_forecaster(forecaster: Forecaster, fold: Fold) -> Forecaster:
    """The unfitted clone of ``forecaster`` that ``fold`` fits: with its frequency and season.

    Parameters
    ----------
    forecaster : Forecaster
        The template.
    fold : Fold
        One of :func:`plan_folds`.

    Returns
    -------
    Forecaster
    """
    model: Forecaster = clone(forecaster)
    return model.set_params(freq=fold.freq, season_length=fold.season_length)


def backtest_fold(
    forecaster: Forecaster, fold: Fold, callbacks: Sequence[Any] = (), refit: bool = True
) -> FoldResult:
    """Fit a fresh clone of ``forecaster`` on ``fold.train`` and score it and the baselines.

    Parameters
    ----------
    forecaster : Forecaster
        An unfitted template (cloned), or with ``refit=False`` a fitted forecaster.
    fold : Fold
        One of :func:`plan_folds`.
    callbacks : sequence of keras.callbacks.Callback
        Passed to the fit.
    refit : bool
        ``False`` scores ``forecaster`` as it is.

    Returns
    -------
    FoldResult
        The fold's model, forecasts and per series × method scores.
    """
    k, train, season = fold.index, fold.train, fold.season_length
    if refit:
        model = fold_forecaster(forecaster, fold).fit(train.reset_index(drop=True), callbacks)
    else:
        model = forecaster
    horizon, windows = int(forecaster.horizon), fold.validation_windows
    forecasts, validation = with_served(
        model, train, horizon, season, DEFAULT_LEVELS, _VALIDATED, windows=windows
    )
    actual = fold.test[["series_id", "timestamp", "value"]].rename(columns={"value": "actual"})
    forecasts = forecasts.merge(actual, "left", ["series_id", "timestamp"], validate="many_to_one")
    origins = train.groupby("series_id", sort=False)["timestamp"].max().rename("origin")
    forecasts = forecasts.merge(origins, left_on="series_id", right_index=True)
    forecasts = forecasts[[*_COLUMNS, *_BOUNDS, "served_by"]]
    forecasts.insert(0, "fold", k)
    scores = _fold_scores(k, forecasts, train, season, validation)
    return FoldResult(fold, model, forecasts, scores, validation.assign(fold=k))


def combine_folds(
    results: Sequence[FoldResult], runner: dict[str, Any] | None = None
) -> BacktestResult:
    """Assemble :func:`backtest_fold` results, in any order, into one :class:`BacktestResult`.

    Parameters
    ----------
    results : sequence of FoldResult
        One per fold, at least one.
    runner : dict, optional
        What ran the folds, recorded in :attr:`BacktestResult.runner`.

    Returns
    -------
    BacktestResult
        As :func:`backtest` returns it.
    """
    if not results:
        raise ValueError("`results` is empty: a backtest has at least one fold")
    ordered = sorted(results, key=lambda r: r.fold.index)
    last = ordered[-1]
    return BacktestResult(
        scores=pd.DataFrame([row for r in ordered for row in r.scores]),
        forecasts=pd.concat([r.forecasts for r in ordered], ignore_index=True),
        season_length=last.fold.season_length,
        model=last.model,
        train=last.fold.train.reset_index(drop=True),
        fold_models=[r.model for r in ordered],
        runner=runner,
        validation=pd.concat([r.validation for r in ordered], ignore_index=True),
    )


def _known(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Metrics as floats; an interval metric that is NaN (no intervals) is left out."""
    return {k: float(v) for k, v in metrics.items() if k in METRICS or not pd.isna(v)}


def _fold_scores(
    k: int, fold: pd.DataFrame, train: pd.DataFrame, season: int, validation: pd.DataFrame
) -> list[dict[str, Any]]:
    history = {str(s): g["value"].to_numpy() for s, g in train.groupby("series_id", sort=False)}
    checked = {
        (str(r.series_id), str(r.method)): float(r.validation_mase)  # type: ignore[arg-type]
        for r in validation.itertuples()
    }
    rows = []
    for (sid, method), part in fold.groupby(["series_id", "method"], sort=False):
        served_by = part["served_by"].iloc[0] if method == "served" else None
        rows.append(
            {
                "fold": k,
                "origin": part["origin"].iloc[0],
                "series_id": sid,
                "method": method,
                "served_by": served_by,
                "validation_mase": checked.get((str(sid), str(served_by or method)), float("nan")),
                **score_forecasts(
                    part["actual"].to_numpy(),
                    part["value"].to_numpy(),
                    history[str(sid)],
                    season,
                    {
                        level: (part[f"lo_{level}"].to_numpy(), part[f"hi_{level}"].to_numpy())
                        for level in DEFAULT_LEVELS
                    },
                ),
            }
        )
    return rows
