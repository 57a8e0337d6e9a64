"""One model per group of series: grouping, the grouped training and the grouped forecast."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from flows.forecast import forecast_flow
from flows.train import TrainResult, train, train_flow
from forecasting.data import DataError
from forecasting.promotion import EvaluationSpec
from forecasting.store import ForecastStore
from forecasting.synthetic import generate_series
from forecasting_app.cli import main
from forecasting_app.config import Config, load_config
from forecasting_app.groups import (
    Group,
    chunk_groups,
    column_groups,
    group_config,
    plan_groups,
    safe_key,
)
from forecasting_app.scheduled import run_forecast
from forecasting_app.sources import load_series

HORIZON = 4
# A steep trend over a daily season: a tiny network beats seasonal naive on every series,
# so each group's first model becomes its champion.
_TINY = [
    "data.synthetic.kind=seasonal",
    "data.synthetic.n_series=4",
    "data.synthetic.length=240",
    "data.synthetic.trend=0.1",
    "data.synthetic.noise=0.02",
    f"model.horizon={HORIZON}",
    "model.input_width=12",
    "model.units=[4]",
    "train.epochs=2",
    "train.learning_rate=0.01",
]


def _stores(tmp_path: Path, name: str = "grouped") -> list[str]:
    return [
        f"name={name}",
        f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}",
        f"tracking.artifact_location={tmp_path / 'artifacts'}",
        f"store.url=sqlite:///{tmp_path / 'forecasts.db'}",
    ]


# --- grouping --------------------------------------------------------------------------


def test_groups_of_n_cut_the_sorted_ids() -> None:
    found = chunk_groups(["s3", "s1", "s2", "s1", "s4", "s5"], 2)
    assert found == [
        Group("part0000", "series s1 to s2", ("s1", "s2")),
        Group("part0001", "series s3 to s4", ("s3", "s4")),
        Group("part0002", "series s5 to s5", ("s5",)),
    ]


@pytest.mark.parametrize(
    ("value", "key"),
    [("north", "north"), ("North / East", "North-East"), (" a.b ", "a-b"), (3, "3")],
    ids=["plain", "spaces-and-slash", "dots-trimmed", "number"],
)
def test_a_group_value_becomes_a_safe_registry_name(value: object, key: str) -> None:
    assert safe_key(value) == key
    assert re.fullmatch(r"[A-Za-z0-9_-]+", safe_key("日本")), "no kept character: a hashed name"


def test_a_column_gives_one_group_per_value() -> None:
    labels = pd.DataFrame(
        {"series_id": ["a", "a", "b", "c", "c"], "region": ["n", "n", "s", "n", "n"]}
    )
    assert column_groups(labels, "region") == [
        Group("n", "n", ("a", "c")),
        Group("s", "s", ("b",)),
    ]


@pytest.mark.parametrize(
    ("regions", "message"),
    [
        (
            ["n", "s", "s", "s"],
            "`x.csv`: `data.group_by` column `region` varies within series `a` ('n', 's'); "
            "a group column must hold one value per series: fix the file, or group by another "
            "column or by a number of series (data.group_by=N)",
        ),
        (
            ["n", None, "s", "s"],
            "`x.csv`: `data.group_by` column `region` is empty on some rows of series `a`; "
            "give every row its series' group, or group by a number of series "
            "(data.group_by=N)",
        ),
        (
            ["a b", "a b", "a/b", "a/b"],
            "`x.csv`: `data.group_by` values 'a b' and 'a/b' of column `region` both make the "
            "registry name part `a-b`; rename one",
        ),
    ],
    ids=["varies-within-a-series", "empty", "same-name"],
)
def test_a_bad_group_column_says_how_to_fix_it(regions: list[str | None], message: str) -> None:
    labels = pd.DataFrame({"series_id": ["a", "a", "b", "b"], "region": regions})
    with pytest.raises(DataError, match=re.escape(message)):
        column_groups(labels, "region", "`x.csv`")


def _panel_csv(path: Path, regions: dict[str, list[str]] | None = None) -> Path:
    """Four trending seasonal series with a text and a numeric group column."""
    parts = []
    for k, sid in enumerate(["s1", "s2", "s3", "s4"]):
        one = generate_series(kind="seasonal", length=240, trend=0.1, noise=0.02, freq="h", seed=k)
        region = (regions or {}).get(sid) or ["north" if k < 2 else "south"] * len(one)
        parts.append(one.assign(series_id=sid, region=region, tier=k % 2))
    frame = pd.concat(parts, ignore_index=True)
    frame[["series_id", "timestamp", "value", "region", "tier"]].to_csv(path, index=False)
    return path


def test_a_column_of_a_csv_groups_its_series_and_is_not_a_covariate(tmp_path: Path) -> None:
    csv = _panel_csv(tmp_path / "panel.csv")
    config = load_config(None, ["data.source=csv", f"data.path={csv}", "data.group_by=tier"])
    frame = load_series(config.data)
    assert "tier" in frame.columns  # numeric, so read as a covariate
    modelled, found = plan_groups(config, frame)
    assert "tier" not in modelled.columns and modelled.attrs == frame.attrs
    assert found == [Group("0", "0", ("s1", "s3")), Group("1", "1", ("s2", "s4"))]
    by_region = config.model_copy(
        update={"data": config.data.model_copy(update={"group_by": "region"})}
    )
    _, found = plan_groups(by_region, frame)
    assert [(g.key, g.series) for g in found or []] == [
        ("north", ("s1", "s2")),
        ("south", ("s3", "s4")),
    ]
    named = group_config(by_region, (found or [])[1])
    assert (named.name, named.registered_model_name) == ("demo.south", "demo.south")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["data.group_by=regio"],
            "`data.group_by` column `regio` not found; the file has columns `series_id`, "
            "`timestamp`, `value`, `region`, `tier`. Name one of them, or set data.group_by to "
            "a number N for groups of N series",
        ),
        (
            ["data.group_by=region", "--varying"],
            "`data.group_by` column `region` varies within series `s2` ('north', 'south')",
        ),
        (
            ["data.source=synthetic", "data.group_by=region"],
            "`data.group_by` names the column `region`, but a synthetic series has only "
            "series_id, timestamp and value; set data.group_by to a number N",
        ),
    ],
    ids=["unknown-column", "varies-within-a-series", "synthetic-has-no-columns"],
)
def test_a_bad_group_by_exits_2_with_one_line_and_registers_nothing(
    overrides: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / ".prefect"))
    varying = {"s2": ["north"] * 120 + ["south"] * 120} if "--varying" in overrides else None
    csv = _panel_csv(tmp_path / "panel.csv", varying)
    sets = [*_stores(tmp_path), *_TINY[5:], "data.source=csv", f"data.path={csv}"]
    sets += [o for o in overrides if o != "--varying"]
    empty = tmp_path / "empty.yaml"
    empty.write_text("{}\n")
    code = main(["train", "--config", str(empty), *[a for s in sets for a in ("--set", s)]])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("forecast train: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "mlflow.db").exists()  # stopped before MLflow was touched
    # The flow itself refuses the same input before it registers anything.
    config = load_config(None, sets)
    with pytest.raises(DataError, match=re.escape(message)):
        train(config)
    if (tmp_path / "mlflow.db").exists():
        assert MlflowClient(config.tracking.uri).search_registered_models() == []


def test_train_flow_trains_one_model_and_points_to_train_for_groups(tmp_path: Path) -> None:
    config = load_config(None, [*_stores(tmp_path), "data.group_by=2"])
    with pytest.raises(ValueError, match=re.escape("train one model per group with flows.")):
        train_flow(config)


# --- one model per group, end to end ------------------------------------------------------


@pytest.fixture(scope="module")
def grouped(
    tmp_path_factory: pytest.TempPathFactory, prefect_harness: None
) -> Iterator[tuple[Config, list[TrainResult]]]:
    """Four series in two groups of two, each group trained, registered and promoted."""
    before = mlflow.get_tracking_uri()
    tmp_path = tmp_path_factory.mktemp("grouped")
    config = load_config(
        None, [*_stores(tmp_path), *_TINY, "data.group_by=2", "forecast.selection=model"]
    )
    yield config, train(config)
    mlflow.set_tracking_uri(before)
    mlflow.set_registry_uri(before)


def test_each_group_gets_its_own_registered_model_and_champion(
    grouped: tuple[Config, list[TrainResult]],
) -> None:
    config, results = grouped
    client = MlflowClient(config.tracking.uri, registry_uri=config.tracking.uri)
    names = sorted(m.name for m in client.search_registered_models())
    assert names == ["grouped.part0000", "grouped.part0001"]
    assert [r.registered_model for r in results] == names
    members = {
        "grouped.part0000": ("series_0", "series_1"),
        "grouped.part0001": ("series_2", "series_3"),
    }
    for result in results:
        assert result.champion, result.decision
        champion = client.get_model_version_by_alias(result.registered_model, "champion")
        assert (str(champion.version), champion.run_id) == (result.version, result.run_id)
        spec = EvaluationSpec.from_json(champion.tags["evaluation_spec"])
        assert spec.series == members[result.registered_model]  # trained on its group only
        assert result.data["series"] == 2
        experiment = client.get_experiment(client.get_run(result.run_id).info.experiment_id)
        assert experiment.name == result.registered_model
    assert results[0].run_id != results[1].run_id


def _rows(store_url: str) -> pd.DataFrame:
    rows = ForecastStore(store_url).read_forecasts().drop(columns=["created_at"])
    return rows.sort_values(["series_id", "step"], ignore_index=True)


def test_the_forecast_uses_each_groups_champion_in_any_chunking(
    grouped: tuple[Config, list[TrainResult]], tmp_path: Path
) -> None:
    config, results = grouped
    result = forecast_flow(config)
    rows = _rows(config.store.url)
    assert sorted(rows["series_id"].unique()) == [f"series_{k}" for k in range(4)]
    assert len(rows) == 4 * HORIZON and (rows["method"] == "model").all()
    by_model = {r.registered_model: r for r in results}
    for sid, part in rows.groupby("series_id"):
        name = "grouped.part0000" if sid in ("series_0", "series_1") else "grouped.part0001"
        assert set(part["model_name"]) == {name}
        assert set(part["model_version"]) == {by_model[name].version}
        assert set(part["run_id"]) == {by_model[name].run_id}
    assert np.isfinite(rows["value"]).all()
    assert [g.model_name for g in result.groups] == list(by_model)
    assert result.rows_written == 4 * HORIZON
    client = MlflowClient(config.tracking.uri)
    for name in by_model:  # each group's live accuracy in its own experiment
        experiment = client.get_experiment_by_name(name)
        assert experiment is not None
        found = client.search_runs([experiment.experiment_id], "tags.kind = 'live-accuracy'")
        assert len(found) == 1

    # One series per chunk, through Prefect and without it: the same rows.
    for how in ("flow", "plain"):
        store = f"sqlite:///{tmp_path / f'{how}.db'}"
        chunked = config.model_copy(
            update={
                "store": config.store.model_copy(update={"url": store}),
                "forecast": config.forecast.model_copy(update={"chunk_size": 1}),
            }
        )
        (forecast_flow if how == "flow" else run_forecast)(chunked)
        pd.testing.assert_frame_equal(_rows(store), rows)


def test_a_model_uri_and_groups_do_not_mix(grouped: tuple[Config, list[TrainResult]]) -> None:
    config, _ = grouped
    with pytest.raises(ValueError, match=re.escape("each group is forecast by its own champion")):
        run_forecast(config, model_uri="models:/grouped.part0000@champion")
