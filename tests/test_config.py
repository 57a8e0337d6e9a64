"""Config loading: YAML, dotted overrides, and errors that name the key, value and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forecasting_app.config import Config, ConfigError, apply_overrides, flatten, load_config


def test_demo_config_is_valid_and_overridable() -> None:
    config = load_config("configs/demo.yaml", ["model.units=[8, 4]", "train.epochs=2"])
    assert config.name == "demo"
    assert config.data.source == "csv" and config.data.missing == "interpolate"
    assert config.model.units == [8, 4] and config.train.epochs == 2
    assert config.registered_model_name == "demo"


def test_defaults_need_no_file() -> None:
    config = load_config(None)
    assert config == Config()
    assert config.tracking.uri == "sqlite:///mlruns/mlflow.db"
    assert config.store.url == "sqlite:///data/forecasts.db"


def test_overrides_parse_yaml_values_and_create_sections() -> None:
    raw = apply_overrides(
        {"model": {"horizon": 3}}, ["model.horizon=24", "forecast.cron=0 6 * * *"]
    )
    assert raw == {"model": {"horizon": 24}, "forecast": {"cron": "0 6 * * *"}}


def test_flatten_gives_dotted_keys() -> None:
    flat = flatten(load_config(None, ["model.horizon=5"]))
    assert flat["model.horizon"] == 5
    assert flat["tracking.uri"] == "sqlite:///mlruns/mlflow.db"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["model.horizon=0"],
            "built-in defaults with --set overrides: invalid configuration\n"
            "  `model.horizon`: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            ["model.cell=xyz"],
            "  `model.cell`: Input should be 'lstm', 'gru' or 'rnn' (got 'xyz')",
        ),
        (
            ["model.units=[0]"],
            "  `model.units.0`: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            ["data.source=csv"],
            "  `data`: `data.path` is required when `data.source` is 'csv'",
        ),
        (
            ["trian.epochs=3"],
            "  `trian`: unknown key; check the spelling against configs/demo.yaml",
        ),
        (
            ["horizon"],
            "override 'horizon' is not of the form key=value; for example --set model.horizon=24",
        ),
        (
            ["model=3", "model.horizon=2"],
            "override 'model.horizon=2': `model` is a value, not a section",
        ),
        (
            ["train.unroll=maybe"],
            "  `train.unroll`: must be true, false or 'auto' (got 'maybe')",
        ),
        (
            ["train.steps_per_execution=0"],
            "  `train.steps_per_execution`: must be a positive integer or 'auto' (got 0)",
        ),
        (
            ["train.precision=fp16"],
            "  `train.precision`: Input should be 'float32', 'mixed_float16' or 'mixed_bfloat16' "
            "(got 'fp16')",
        ),
    ],
    ids=[
        "too-small",
        "not-allowed",
        "validator",
        "csv-without-path",
        "typo",
        "no-equals",
        "nested",
        "bool-or-auto",
        "count-or-auto",
        "precision",
    ],
)
def test_bad_values_name_the_key_and_the_fix(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(None, overrides)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=re.escape(f"{missing}: config file not found")):
        load_config(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n- not sections\n")
    with pytest.raises(
        ConfigError,
        match=re.escape(f"{bad}: expected a mapping of sections at the top level, got list"),
    ):
        load_config(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match=re.escape(f"{broken}: not valid YAML")):
        load_config(broken)


def test_speed_and_precision_reach_the_forecaster() -> None:
    from forecasting_app.training import forecaster_from_config

    overrides = [
        "train.jit_compile=false",
        "train.unroll=true",
        "train.steps_per_execution=4",
        "train.precision=mixed_bfloat16",
        "train.max_steps_per_epoch=null",
        "train.lr_patience=2",
    ]
    params = forecaster_from_config(load_config(None, overrides)).get_params()
    assert {k: params[k] for k in ("jit_compile", "unroll", "steps_per_execution")} == {
        "jit_compile": False,
        "unroll": True,
        "steps_per_execution": 4,
    }
    assert params["precision"] == "mixed_bfloat16"
    assert params["max_steps_per_epoch"] is None
    assert params["lr_patience"] == 2
    defaults = forecaster_from_config(load_config(None)).get_params()
    assert defaults["steps_per_execution"] == defaults["unroll"] == "auto"
