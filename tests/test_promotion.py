"""The registry rules (pure) and the registry transactions on a real SQLite MLflow store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from forecasting import promotion, tracking
from forecasting.promotion import (
    EvaluationSpec,
    ModelFacts,
    Verdict,
    decide_promotion,
    incompatibility,
    is_judged,
    registration_tags,
    score_on_spec,
)

_SPEC = EvaluationSpec(
    series=("a", "b"),
    origins=("2024-01-01T10:00:00",),
    horizon=3,
    season_length=24,
    freq="h",
    covariates=("temp",),
)
_FACTS = ModelFacts(series=("a", "b"), covariates=("temp",), freq="h", horizon=3, input_width=8)


@pytest.mark.parametrize(
    ("challenger", "naive", "champion", "incompatible", "promote", "reason"),
    [
        (1.0, 2.0, None, None, True, "promoted: first model to beat seasonal naive"),
        (2.0, 2.0, None, None, False, "not promoted: it does not beat seasonal naive"),
        (1.0, 2.0, 1.5, None, True, "promoted: beats the champion"),
        (1.0, 2.0, 0.5, None, False, "not promoted: the champion is as good or better"),
        (1.0, 2.0, 1.0, None, False, "not promoted: the champion is as good or better"),
        (3.0, 2.0, 5.0, None, False, "not promoted: it does not beat seasonal naive"),
        (1.0, 2.0, None, "it knows no series 'c'", True, "promoted: beats seasonal naive"),
        (3.0, 2.0, None, "it knows no series 'c'", False, "not promoted: it does not beat"),
    ],
    ids=[
        "first-beats-naive",
        "ties-naive",
        "beats-champion",
        "loses-to-champion",
        "ties-champion",
        "loses-to-naive",
        "incompatible-champion-beats-naive",
        "incompatible-champion-loses-to-naive",
    ],
)
def test_promotion_rule(
    challenger: float,
    naive: float,
    champion: float | None,
    incompatible: str | None,
    promote: bool,
    reason: str,
) -> None:
    decision = decide_promotion(challenger, naive, champion, incompatible)
    assert decision.promote is promote
    assert decision.reason.startswith(reason)
    if incompatible and promote:
        assert decision.reason.endswith(f"the champion was not compared because {incompatible}")


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (_FACTS, None),
        (ModelFacts(("a", "b"), ("temp",), "60min", 5, 8), None),
        (ModelFacts(("a",), ("temp",), "h", 3, 8), "it does not know the series ['b']"),
        (ModelFacts(("a", "b"), ("temp", "rain"), "h", 3, 8), "it needs the covariates ['rain']"),
        (ModelFacts(("a", "b"), ("temp",), "D", 3, 8), "it forecasts at frequency 'D'"),
        (ModelFacts(("a", "b"), ("temp",), "h", 2, 8), "it forecasts 2 step(s); the evaluation"),
    ],
    ids=["same", "longer-horizon-same-freq", "new-series", "lost-covariate", "freq", "horizon"],
)
def test_incompatibility(facts: ModelFacts, reason: str | None) -> None:
    found = incompatibility(facts, _SPEC)
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason)


def test_spec_round_trips_through_its_tag_and_keeps_many_series_as_a_digest() -> None:
    assert EvaluationSpec.from_json(_SPEC.to_json()) == _SPEC
    many = EvaluationSpec(
        series=tuple(f"s{i}" for i in range(5000)),
        origins=("2024-01-01T10:00:00",),
        horizon=3,
        season_length=24,
        freq="h",
    )
    text = many.to_json()
    assert len(text) < 1000
    assert EvaluationSpec.from_json(text).series_digest == json.loads(text)["series_sha256"]


class _LastValue:
    """A model that repeats each series' last value for ``horizon`` steps (a known answer)."""

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon

    @property
    def series_ids(self) -> list[str]:
        return ["a"]

    def predict(self, history: pd.DataFrame, horizon: int | None = None) -> pd.DataFrame:
        last = history.groupby("series_id").tail(1)
        steps = horizon or self.horizon
        return pd.DataFrame(
            {
                "series_id": "a",
                "timestamp": pd.date_range(last["timestamp"].iloc[0], periods=steps + 1, freq="h")[
                    1:
                ],
                "step": np.arange(1, steps + 1),
                "value": float(last["value"].iloc[0]),
            }
        )


def test_champion_is_scored_on_the_challengers_origins_and_first_steps() -> None:
    stamps = pd.date_range("2024-01-01", periods=12, freq="h")
    frame = pd.DataFrame({"series_id": "a", "timestamp": stamps, "value": np.arange(12.0) ** 2})
    # A challenger's backtest with 2 folds of 2 steps: origins at positions 7 and 9.
    rows = []
    for fold, origin in enumerate((7, 9)):
        for step in (1, 2):
            rows.append(
                {
                    "fold": fold,
                    "origin": stamps[origin],
                    "series_id": "a",
                    "timestamp": stamps[origin + step],
                    "step": step,
                    "method": "model",
                    "value": 0.0,
                    "actual": float((origin + step) ** 2),
                }
            )
    forecasts = pd.DataFrame(rows)
    spec = EvaluationSpec(("a",), (), horizon=2, season_length=1, freq="h")
    # The champion forecasts 4 steps; only its first 2 are scored, from the same origins.
    score = score_on_spec(_LastValue(horizon=4), frame, forecasts, spec)
    expected = np.mean(
        [
            np.sqrt(np.mean([(64 - 49) ** 2, (81 - 49) ** 2])),
            np.sqrt(np.mean([(100 - 81) ** 2, (121 - 81) ** 2])),
        ]
    )
    assert score == pytest.approx(expected)


def test_tags_record_the_spec_the_verdict_and_beating_ets_when_ets_was_run() -> None:
    summary = {"model": {"rmse": 1.0}, "naive": {"rmse": 3.0}, "seasonal_naive": {"rmse": 2.0}}
    tags = registration_tags(_SPEC, summary, folds=1)
    assert tags["judged"] == "false" and not is_judged(tags)
    assert EvaluationSpec.from_json(tags["evaluation_spec"]) == _SPEC
    assert "beats_ets" not in tags
    with_ets = registration_tags(_SPEC, {**summary, "ets": {"rmse": 0.5}}, folds=1)
    assert with_ets["beats_ets"] == "false" and with_ets["ets_rmse"] == "0.5"
    assert registration_tags(_SPEC, {**summary, "ets": {"rmse": 1.5}}, 1)["beats_ets"] == "true"

    verdict = promotion.judge(summary, "4", None, "it does not know the series ['c']")
    tags = verdict.tags()
    assert is_judged(tags) and tags["judged_against"] == "4"
    assert tags["champion_compatible"] == "false" and tags["champion"] == "true"
    assert is_judged({}), "versions registered before the tag existed count as judged"


# ------------------------------------------------------------ the registry itself
@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowClient]:
    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    before = mlflow.get_tracking_uri()
    tracking.configure(uri)
    yield MlflowClient(tracking_uri=uri, registry_uri=uri)
    mlflow.set_tracking_uri(before)
    mlflow.set_registry_uri(before)


def _versions(client: MlflowClient, name: str, count: int) -> None:
    client.create_registered_model(name)
    for _ in range(count):
        client.create_model_version(name, source="file:///nowhere", tags={"judged": "true"})


def _alias(client: MlflowClient, name: str, alias: str) -> str | None:
    aliases = client.get_registered_model(name).aliases
    return str(aliases[alias]) if alias in aliases else None


def test_a_failure_after_the_champion_moved_puts_both_aliases_back(
    registry: MlflowClient,
) -> None:
    _versions(registry, "restore", 2)
    tracking.promote("restore", "1", champion=True)
    with (
        pytest.raises(RuntimeError, match="failed after the alias moved"),
        tracking._aliases_restored_on_failure(registry, "restore"),
    ):
        registry.set_registered_model_alias("restore", "champion", "2")
        registry.set_registered_model_alias("restore", "challenger", "2")
        raise RuntimeError("failed after the alias moved")
    assert _alias(registry, "restore", "champion") == "1"
    assert _alias(registry, "restore", "challenger") == "1"


def test_a_failure_with_no_champion_before_leaves_none(registry: MlflowClient) -> None:
    _versions(registry, "restore-none", 1)
    with (
        pytest.raises(RuntimeError),
        tracking._aliases_restored_on_failure(registry, "restore-none"),
    ):
        registry.set_registered_model_alias("restore-none", "champion", "1")
        raise RuntimeError("boom")
    assert _alias(registry, "restore-none", "champion") is None


def test_a_version_holding_champion_is_never_deleted(registry: MlflowClient) -> None:
    _versions(registry, "keep", 2)
    tracking.promote("keep", "1", champion=True)
    assert tracking.delete_version("keep", "1") is False
    assert tracking.delete_version("keep", "2") is True
    assert [v.version for v in registry.search_model_versions("name='keep'")] == [1]


def test_compare_and_set_refuses_a_verdict_judged_against_another_champion(
    registry: MlflowClient,
) -> None:
    _versions(registry, "cas", 3)
    tracking.promote("cas", "1", champion=True)
    moved = tracking.promote_if_champion_is("cas", "3", True, expected=None, tags={"x": "1"})
    assert moved is False
    assert _alias(registry, "cas", "champion") == "1"
    assert "x" not in registry.get_model_version("cas", "3").tags
    moved = tracking.promote_if_champion_is("cas", "3", True, expected="1", tags={"x": "1"})
    assert moved is True
    assert _alias(registry, "cas", "champion") == "3"
    assert _alias(registry, "cas", "challenger") == "3"
    assert registry.get_model_version("cas", "3").tags["x"] == "1"
    # A verdict that promotes nothing is recorded whatever the champion is now.
    assert tracking.promote_if_champion_is("cas", "2", False, expected="1", tags={"x": "2"})
    assert _alias(registry, "cas", "champion") == "3"
    assert _alias(registry, "cas", "challenger") == "2"


def test_verdict_left_as_challenger_promotes_nothing() -> None:
    summary = {"model": {"rmse": 1.0}, "seasonal_naive": {"rmse": 2.0}}
    verdict = promotion.judge(summary, "1", 1.5)
    assert verdict.decision.promote
    kept = promotion.left_as_challenger(verdict, attempts=3)
    assert isinstance(kept, Verdict) and not kept.decision.promote
    assert kept.decision.reason.startswith("not promoted: the champion changed 3 times")
