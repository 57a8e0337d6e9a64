"""The registry's rules: the evaluation spec, whether a champion can be compared, the decision.

Nothing here reads or writes a store: :mod:`forecasting.tracking` moves the aliases and
``flows/train.py`` puts the two together.

How champion and challenger are compared
----------------------------------------
The challenger's backtest fixes the evaluation spec: its series, its fold origins, its
horizon, its season length and the metric (RMSE). The champion is scored on exactly those
windows: at every origin of every series it forecasts from the same history, and the first
``horizon`` steps of its forecast are scored against the same actuals. A champion that
forecasts more steps than the challenger is scored on the overlapping first steps; one that
forecasts fewer, or that lacks a series, a covariate or the frequency of the new data, is
*incompatible*: it is not compared, and the challenger is judged against the baselines
alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from forecasting.metrics import mae, rmse, smape

if TYPE_CHECKING:
    from forecasting.backtest import BacktestResult
    from forecasting.inference import Predicts

__all__ = [
    "JUDGED",
    "METRIC",
    "SPEC",
    "Decision",
    "EvaluationSpec",
    "ModelFacts",
    "Verdict",
    "decide_promotion",
    "incompatibility",
    "is_judged",
    "judge",
    "left_as_challenger",
    "model_facts",
    "registration_tags",
    "score_on_spec",
]

METRIC = "rmse"
JUDGED = "judged"
"""Version tag: ``false`` from registration until the rule has judged the version."""
SPEC = "evaluation_spec"
"""Version tag: the evaluation spec (JSON) the version was scored on."""

_SCORERS = {"rmse": rmse, "mae": mae, "smape": smape}
_MAX_LISTED_SERIES = 1000  # beyond this the spec tag keeps a digest of the series, not the list


@dataclass(frozen=True)
class EvaluationSpec:
    """What a version was scored on; champion and challenger are scored on the same one.

    Parameters
    ----------
    series : tuple of str
        The series scored.
    origins : tuple of str
        Per fold, the last training timestamp (the latest over series, as in the backtest's
        ``folds``), oldest first.
    horizon : int
        Steps scored after each origin.
    season_length : int
        Season of seasonal naive and MASE.
    freq : str
        Pandas alias of the data's frequency.
    covariates : tuple of str
        Covariate columns of the data.
    metric : str
        The metric the decision compares (lower is better).
    """

    series: tuple[str, ...]
    origins: tuple[str, ...]
    horizon: int
    season_length: int
    freq: str
    covariates: tuple[str, ...] = ()
    metric: str = METRIC
    series_digest: str = field(default="", compare=False)

    @classmethod
    def from_backtest(cls, result: BacktestResult, frame: pd.DataFrame) -> EvaluationSpec:
        """The spec of a challenger's backtest on ``frame``."""
        model = result.forecasts[result.forecasts["method"] == "model"]
        origins = model.groupby("fold", sort=True)["origin"].max()
        freq = str(frame.attrs.get("freq") or result.model.freq_)
        series = tuple(str(s) for s in pd.unique(frame["series_id"]))
        return cls(
            series=series,
            origins=tuple(pd.Timestamp(o).isoformat() for o in origins),
            horizon=int(model["step"].max()),
            season_length=int(result.season_length),
            freq=freq,
            covariates=tuple(str(c) for c in frame.columns[3:]),
            series_digest=_digest(series),
        )

    def to_json(self) -> str:
        """The spec as compact JSON (a version tag); many series are kept as a digest."""
        body: dict[str, Any] = {
            "series": list(self.series),
            "origins": list(self.origins),
            "horizon": self.horizon,
            "season_length": self.season_length,
            "freq": self.freq,
            "covariates": list(self.covariates),
            "metric": self.metric,
            "series_sha256": self.series_digest or _digest(self.series),
        }
        if len(self.series) > _MAX_LISTED_SERIES:
            body["series"] = {"count": len(self.series)}
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> EvaluationSpec:
        """Read a spec written by :meth:`to_json` (a digest stands in for a long series list)."""
        body = json.loads(text)
        listed = body["series"] if isinstance(body["series"], list) else []
        return cls(
            series=tuple(listed),
            origins=tuple(body["origins"]),
            horizon=int(body["horizon"]),
            season_length=int(body["season_length"]),
            freq=str(body["freq"]),
            covariates=tuple(body.get("covariates", ())),
            metric=str(body.get("metric", METRIC)),
            series_digest=str(body.get("series_sha256", "")),
        )


def _digest(series: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(series).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ModelFacts:
    """What a fitted model can forecast: its series, covariates, frequency and horizon."""

    series: tuple[str, ...]
    covariates: tuple[str, ...]
    freq: str
    horizon: int
    input_width: int


def model_facts(model: Predicts) -> ModelFacts:
    """The facts of a loaded model (a ``Predictor`` or a ``Forecaster``)."""
    predictor: Any = getattr(model, "predictor_", model)
    return ModelFacts(
        series=tuple(str(s) for s in predictor.series_ids),
        covariates=tuple(predictor.covariates),
        freq=str(predictor.freq),
        horizon=int(predictor.horizon),
        input_width=int(predictor.input_width),
    )


def _same_freq(a: str, b: str) -> bool:
    try:
        return bool(to_offset(a) == to_offset(b))
    except ValueError:
        return a == b


def incompatibility(champion: ModelFacts, spec: EvaluationSpec) -> str | None:
    """Why ``champion`` cannot be scored on ``spec``, or ``None`` when it can.

    Parameters
    ----------
    champion : ModelFacts
        The current champion.
    spec : EvaluationSpec
        The challenger's evaluation spec.

    Returns
    -------
    str or None
        A reason in plain words ("it does not know the series ['b']"), or ``None``.
    """
    unknown = [s for s in spec.series if s not in set(champion.series)]
    if unknown:
        return (
            f"it does not know the series {unknown[:5]}{' ...' if len(unknown) > 5 else ''} "
            f"(it was trained on {list(champion.series[:5])})"
        )
    missing = [c for c in champion.covariates if c not in spec.covariates]
    if missing:
        return f"it needs the covariates {missing}, which the data no longer has"
    if not _same_freq(champion.freq, spec.freq):
        return f"it forecasts at frequency {champion.freq!r}, the data is at {spec.freq!r}"
    if champion.horizon < spec.horizon:
        return (
            f"it forecasts {champion.horizon} step(s); the evaluation needs {spec.horizon}, "
            "so it cannot be scored on the same windows"
        )
    return None


def score_on_spec(
    model: Predicts, frame: pd.DataFrame, forecasts: pd.DataFrame, spec: EvaluationSpec
) -> float:
    """Score an already fitted model on the windows of a challenger's backtest.

    Parameters
    ----------
    model : Predicts
        The model to score (the champion); it is not refitted.
    frame : DataFrame
        The validated long frame the challenger was backtested on.
    forecasts : DataFrame
        The challenger's ``BacktestResult.forecasts``: its origins and actuals per fold.
    spec : EvaluationSpec
        The challenger's spec; its ``horizon`` and ``metric`` apply.

    Returns
    -------
    float
        The metric averaged over folds and series, as the backtest summary averages it.

    Raises
    ------
    ValueError
        When the model cannot forecast one of the histories (too short, for example).
    """
    score = _SCORERS[spec.metric]
    targets = forecasts[(forecasts["method"] == "model") & (forecasts["step"] <= spec.horizon)]
    values: list[float] = []
    for _, fold in targets.groupby("fold", sort=True):
        origins = fold.groupby("series_id", sort=False)["origin"].first()
        history = frame.merge(origins.rename("origin"), left_on="series_id", right_index=True)
        history = history[history["timestamp"] <= history["origin"]].drop(columns="origin")
        predicted = model.predict(history.reset_index(drop=True))
        predicted = predicted[predicted["step"] <= spec.horizon]
        paired = fold[["series_id", "timestamp", "actual"]].merge(
            predicted[["series_id", "timestamp", "value"]],
            on=["series_id", "timestamp"],
            how="left",
            validate="one_to_one",
        )
        for _, part in paired.groupby("series_id", sort=False):
            values.append(score(part["actual"].to_numpy(), part["value"].to_numpy()))
    return float(np.mean(values))


@dataclass(frozen=True)
class Decision:
    """Whether a challenger becomes champion, and why, in words a run report can print."""

    promote: bool
    reason: str


def decide_promotion(
    challenger_rmse: float,
    seasonal_naive_rmse: float,
    champion_rmse: float | None,
    champion_incompatible: str | None = None,
) -> Decision:
    """The registry rule: beat seasonal naive, and the champion when there is a comparable one.

    Parameters
    ----------
    challenger_rmse : float
        The new version's RMSE on its evaluation spec.
    seasonal_naive_rmse : float
        Seasonal naive's RMSE on the same spec.
    champion_rmse : float, optional
        The current champion's RMSE on the same spec; ``None`` when there is no champion or
        it is incompatible.
    champion_incompatible : str, optional
        Why the champion could not be scored; the challenger is then judged against the
        baselines alone.

    Returns
    -------
    Decision
        ``promote`` and a plain-words ``reason``.
    """
    vs_naive = f"RMSE {challenger_rmse:.4g} vs seasonal naive {seasonal_naive_rmse:.4g}"
    if not challenger_rmse < seasonal_naive_rmse:
        return Decision(False, f"not promoted: it does not beat seasonal naive ({vs_naive})")
    if champion_incompatible is not None:
        return Decision(
            True,
            f"promoted: beats seasonal naive ({vs_naive}); the champion was not compared "
            f"because {champion_incompatible}",
        )
    if champion_rmse is None:
        return Decision(True, f"promoted: first model to beat seasonal naive ({vs_naive})")
    vs_champion = f"RMSE {challenger_rmse:.4g} vs champion {champion_rmse:.4g}"
    if challenger_rmse < champion_rmse:
        return Decision(True, f"promoted: beats the champion ({vs_champion}) and seasonal naive")
    return Decision(False, f"not promoted: the champion is as good or better ({vs_champion})")


@dataclass(frozen=True)
class Verdict:
    """A decision and what it was made against: the tags that record it on the version."""

    decision: Decision
    judged_against: str | None
    champion_rmse: float | None = None
    champion_incompatible: str | None = None

    def tags(self) -> dict[str, str]:
        """The version tags of this verdict; ``judged`` becomes ``true``."""
        tags = {
            "decision": self.decision.reason,
            "champion": str(self.decision.promote).lower(),
            "judged_against": self.judged_against or "none",
            JUDGED: "true",
        }
        if self.judged_against is not None:
            tags["champion_compatible"] = str(self.champion_incompatible is None).lower()
        if self.champion_rmse is not None:
            tags["champion_rmse"] = repr(self.champion_rmse)
        if self.champion_incompatible is not None:
            tags["champion_incompatible"] = self.champion_incompatible
        return tags


def judge(
    summary: Mapping[str, Mapping[str, float]],
    champion: str | None,
    champion_score: float | None = None,
    champion_incompatible: str | None = None,
) -> Verdict:
    """The verdict on a challenger, given its backtest summary and the champion's score."""
    decision = decide_promotion(
        summary["model"][METRIC],
        summary["seasonal_naive"][METRIC],
        champion_score,
        champion_incompatible if champion is not None else None,
    )
    return Verdict(decision, champion, champion_score, champion_incompatible)


def left_as_challenger(verdict: Verdict, attempts: int) -> Verdict:
    """A promotion given up because the champion kept changing while the version was judged."""
    reason = (
        f"not promoted: the champion changed {attempts} times while this version was judged; "
        f"it stays challenger (last verdict: {verdict.decision.reason})"
    )
    return Verdict(Decision(False, reason), verdict.judged_against, verdict.champion_rmse)


def registration_tags(
    spec: EvaluationSpec,
    summary: Mapping[str, Mapping[str, float]],
    folds: int,
    fell_back: Sequence[bool] = (),
) -> dict[str, str]:
    """The tags a version is registered with, before it is judged (``judged=false``).

    ``fell_back`` (per fold, whether the network was reset to its reference) is tagged as
    ``fell_back``: ``true`` when the registered (last) fold's network fell back.
    """
    model = summary["model"][METRIC]
    tags = {
        JUDGED: "false",
        SPEC: spec.to_json(),
        METRIC: repr(model),
        "evaluation": f"{folds} fold(s) of {spec.horizon} steps",
    }
    for method in ("seasonal_naive", "naive", "ets", "theta", "stat_ensemble", "served"):
        if method in summary:
            tags[f"{method}_{METRIC}"] = repr(summary[method][METRIC])
    if fell_back:
        tags["fell_back"] = str(bool(fell_back[-1])).lower()
        tags["fell_back_folds"] = f"{sum(map(bool, fell_back))} of {len(fell_back)}"
    if "ets" in summary:
        tags["beats_ets"] = str(model < summary["ets"][METRIC]).lower()
    return tags


def is_judged(tags: Mapping[str, str]) -> bool:
    """Whether a version's tags say the rule judged it (versions from before the tag count)."""
    return tags.get(JUDGED, "true") != "false"
