"""The ``forecast`` command: train, backtest, predict, serve and inspect from a config or a CSV."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from forecasting.config import Config, load_config

__all__ = ["build_parser", "main"]

_DEFAULT_CONFIG = "configs/demo.yaml"
_METHOD_NAMES = {"model": "model", "naive": "naive", "seasonal_naive": "seasonal naive"}


def _add_config_options(parser: argparse.ArgumentParser, horizon_required: bool = False) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"YAML config (default: {_DEFAULT_CONFIG} when it exists, else built-in defaults)",
    )
    parser.add_argument("--csv", metavar="PATH", help="read the series from this CSV file")
    parser.add_argument(
        "--time-col", metavar="C", help="timestamp column of the CSV (default: timestamp)"
    )
    parser.add_argument("--value-col", metavar="C", help="value column of the CSV (default: value)")
    parser.add_argument(
        "--id-col", metavar="C", help="series id column of a CSV holding several series"
    )
    parser.add_argument(
        "--horizon",
        type=int,
        metavar="H",
        required=horizon_required,
        help="steps to forecast (overrides model.horizon)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set train.epochs=5 --set model.units=[64,64]",
    )


def _config(args: argparse.Namespace) -> Config:
    overrides: list[str] = []
    if args.csv:
        overrides += ["data.source=csv", f"data.path={args.csv}"]
    for flag, key in (("time_col", "time_col"), ("value_col", "value_col"), ("id_col", "id_col")):
        if getattr(args, flag, None):
            overrides.append(f"data.{key}={getattr(args, flag)}")
    if getattr(args, "horizon", None) is not None:
        overrides.append(f"model.horizon={args.horizon}")
    if getattr(args, "season_length", None) is not None:
        overrides.append(f"evaluation.season_length={args.season_length}")
    if getattr(args, "folds", None) is not None:
        overrides.append(f"evaluation.folds={args.folds}")
    path = args.config
    if path is None and Path(_DEFAULT_CONFIG).is_file():
        path = _DEFAULT_CONFIG
    return load_config(path, [*overrides, *args.overrides])


def _table(metrics: dict[str, dict[str, float]]) -> str:
    cols = ("rmse", "mae", "smape", "mase")
    lines = [f"  {'':16}" + "".join(f"{c:>11}" for c in cols)]
    for method, values in metrics.items():
        name = _METHOD_NAMES.get(method, method)
        lines.append(f"  {name:16}" + "".join(f"{values[c]:>11.4g}" for c in cols))
    return "\n".join(lines)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from forecasting.sources import load_series
    from forecasting.training import data_summary

    config = _config(args)
    frame = load_series(config.data)
    summary = data_summary(frame, source=config.data.path or "synthetic")
    for key, value in summary.items():
        print(f"{key:>16}: {value}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from flows.train import train_flow

    config = _config(args)
    result = train_flow(config)
    verdict = "champion" if result.champion else "challenger only"
    print(f"\nrun         {result.run_id} (experiment {config.name!r})")
    d = result.data
    print(
        f"data        {d['source']}: {d['series']} series, {d['points']} points, "
        f"{d['frequency']}, season {d['season length']}"
    )
    print(
        f"metrics     {config.evaluation.folds} fold(s), "
        f"horizon {config.model.horizon}\n{_table(result.metrics)}"
    )
    print(f"registry    {result.registered_model} version {result.version}: {verdict}")
    print(f"            {result.decision}")
    print(f"report      {result.report_uri}")
    print(f"look        mlflow ui --backend-store-uri {config.tracking.uri}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``forecast`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="forecast",
        description="Recurrent time-series forecasting: train, backtest, predict and serve "
        "LSTM/GRU forecasters tracked in MLflow and scheduled with Prefect.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when something fails"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {
        "train": ("train, judge against baselines, register and maybe promote", _cmd_train),
        "inspect": ("load and validate the series and print a summary", _cmd_inspect),
    }
    for name, (help_text, func) in commands.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_config_options(p)
        p.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``forecast`` command; bad input exits with status 2 and a short message."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError) as exc:
        if args.debug:
            raise
        print(f"forecast {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _print_json(payload: Any, output: str | None) -> None:
    text = json.dumps(payload, indent=2, default=str)
    if output:
        Path(output).write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    sys.exit(main())
