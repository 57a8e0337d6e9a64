"""The one declaration of every forecaster parameter: its type, allowed values, bounds, default.

`forecasting_app.config` reads the ``model`` and ``train`` sections of a run's YAML through these
classes; `forecasting.Forecaster` takes its defaults from them and checks its parameters with
them (strictly: no strings for numbers, no bools for integers), so a value is allowed, and
explained, the same way wherever it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError

__all__ = [
    "CELLS",
    "DEFAULTS",
    "HEADS",
    "LOSSES",
    "NORMALIZE",
    "PRECISIONS",
    "RESIDUAL",
    "SCALERS",
    "ForecasterParameters",
    "ModelParameters",
    "TrainParameters",
    "check_parameters",
    "problem",
]

Cell = Literal["lstm", "gru", "rnn"]
Head = Literal["dense", "seq2seq"]
Scaler = Literal["standard", "minmax", "robust", "none"]
Normalize = Literal["window", "last", "none"]
Residual = Literal["linear", "auto", "seasonal_naive", "none"]
Loss = Literal["mae", "mse"]
Precision = Literal["float32", "mixed_float16", "mixed_bfloat16"]

CELLS: tuple[str, ...] = get_args(Cell)
HEADS: tuple[str, ...] = get_args(Head)
SCALERS: tuple[str, ...] = get_args(Scaler)
NORMALIZE: tuple[str, ...] = get_args(Normalize)
RESIDUAL: tuple[str, ...] = get_args(Residual)
LOSSES: tuple[str, ...] = get_args(Loss)
PRECISIONS: tuple[str, ...] = get_args(Precision)

_Rate = Annotated[float, Field(ge=0, lt=1)]


class _Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelParameters(_Parameters):
    """The network and its windowing (see `forecasting.Forecaster` for each one's meaning)."""

    horizon: int = Field(12, ge=1)
    input_width: int | None = Field(None, ge=1)
    cell: Cell = "lstm"
    units: Sequence[Annotated[int, Field(ge=1)]] = Field((32, 32), min_length=1)
    dropout: _Rate = 0.0
    recurrent_dropout: _Rate = 0.0
    bidirectional: bool = False
    head: Head = "dense"
    scaler: Scaler = "standard"
    # Per-window normalisation and the reference the network corrects
    # (forecasting.normalization).
    normalize: Normalize = "window"
    residual: Residual = "linear"
    # Networks trained with seeds seed, seed + 1, ...; the forecast is their median.
    members: int = Field(1, ge=1)

    @field_validator("units", mode="before")
    @classmethod
    def _sequence(cls, units: Any) -> Any:
        if isinstance(units, str | bytes) or not isinstance(units, Sequence):
            raise PydanticCustomError(
                "units_type", "must be a list of positive layer sizes such as [32, 32]"
            )
        return units


class TrainParameters(_Parameters):
    """Optimisation settings (see `forecasting.Forecaster` for each one's meaning)."""

    epochs: int = Field(100, ge=1)
    loss: Loss = "mae"
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(3e-3, gt=0)
    patience: int = Field(10, ge=0)
    # Long series: early stopping is checked every 100 batches (96 with fast_training, in
    # whole calls of 32) instead of once per pass.
    max_steps_per_epoch: int | None = Field(100, ge=1)
    # The training budget in batches over all epochs (fewer epochs when they are long), so a
    # long series trains in bounded time; None: `epochs` whole epochs.
    max_steps: int | None = Field(None, ge=1)
    # Halve the learning rate after this many epochs without improvement; None: constant.
    lr_patience: int | None = Field(None, ge=1)
    # Speed: "auto" is Keras' own default, unless fast_training opts in to the rules
    # measured on a 2-core CPU (forecasting.speed).
    jit_compile: bool | Literal["auto"] = "auto"
    unroll: bool | Literal["auto"] = "auto"
    steps_per_execution: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"
    fast_training: bool = False
    # "mixed_float16" for a GPU's tensor cores; the trained model forecasts on any machine.
    precision: Precision = "float32"
    validation_fraction: _Rate = 0.1
    clipnorm: float | None = Field(1.0, gt=0)
    seed: int = 0

    @field_validator("jit_compile", "unroll", mode="before")
    @classmethod
    def _bool_or_auto(cls, value: Any) -> Any:
        if value == "auto" or isinstance(value, bool):
            return value
        kind = "value_error" if isinstance(value, str) else "bool_or_auto_type"
        raise PydanticCustomError(kind, "must be true, false or 'auto'")

    @field_validator("steps_per_execution", mode="before")
    @classmethod
    def _count_or_auto(cls, value: Any) -> Any:
        counts = isinstance(value, int) and not isinstance(value, bool)
        if value == "auto" or (counts and value > 0):
            return value
        kind = "value_error" if counts or isinstance(value, str) else "count_or_auto_type"
        raise PydanticCustomError(kind, "must be a positive integer or 'auto'")


class ForecasterParameters(ModelParameters, TrainParameters):
    """Every parameter the config and `forecasting.Forecaster` share."""


DEFAULTS = ForecasterParameters()
"""The declared defaults, one attribute per parameter (``DEFAULTS.horizon``)."""


def problem(error: ErrorDetails) -> str:
    """What one pydantic error says is wrong, in the words both the config and the estimator use."""
    return error["msg"].removeprefix("Value error, ")


def _located(error: ErrorDetails) -> str:
    """`problem`, with the position of a bad entry of a list (`units`)."""
    position = [part for part in error["loc"][1:] if isinstance(part, int)]
    return f"{problem(error)} at position {position[0]}" if position else problem(error)


def _plain(value: Any) -> Any:
    """NumPy scalars as the Python numbers they hold (strict checks accept only those)."""
    if isinstance(value, list | tuple):
        return type(value)(_plain(item) for item in value)
    return value.item() if isinstance(value, np.generic) else value


def check_parameters(values: Mapping[str, Any]) -> ForecasterParameters:
    """Check the declared parameters among ``values`` (other names are ignored).

    Returns
    -------
    ForecasterParameters
        The checked parameters, typed (those missing from ``values`` at their defaults).

    Raises
    ------
    TypeError
        When a value has the wrong type (a string for a number, a bool for an integer).
    ValueError
        When a value has the right type but is not allowed; the message names the
        parameter, what it must be and the value received.
    """
    known = {k: _plain(v) for k, v in values.items() if k in ForecasterParameters.model_fields}
    try:
        return ForecasterParameters.model_validate(known, strict=True)
    except ValidationError as exc:
        errors = exc.errors()
        name = str(errors[0]["loc"][0])
        mine = [e for e in errors if e["loc"][0] == name]
        kind = TypeError if all(e["type"].endswith("_type") for e in mine) else ValueError
        expected = " or ".join(dict.fromkeys(_located(e) for e in mine))
        value = values[name]
        raise kind(f"`{name}`: {expected}; got {type(value).__name__} {value!r}.") from None
