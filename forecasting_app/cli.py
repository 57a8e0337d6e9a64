"""The ``forecast`` command: train, backtest, predict, serve and inspect from a config or a CSV."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecasting_app.config import Config, load_config

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_parser", "main"]

_DEFAULT_CONFIG = "configs/demo.yaml"
_PREFECT_HOME = ".prefect"  # Prefect's database and profiles, next to mlruns/
_KERAS_HOME = ".keras"  # Keras' keras.json, which it writes on import, in the project too
# Bad input: ConfigError, DataError and the other checks of user input raise ValueError
# (a file that is not there: FileNotFoundError); another training holding the promotion lock
# too long is forecasting.store.PromotionLockTimeout, a TimeoutError (not imported here: the
# store pulls in pandas and SQLAlchemy). Each ends as one line and exit status 2.
_EXPECTED = (ValueError, FileNotFoundError, TimeoutError)
_METHOD_NAMES = {
    "model": "model",
    "reference": "reference alone",
    "naive": "naive",
    "seasonal_naive": "seasonal naive",
    "ets": "ETS",
    "theta": "Theta",
    "stat_ensemble": "stat. ensemble",
    "combination": "combination",
    "served": "served",
}


def _add_config_options(parser: argparse.ArgumentParser, horizon_required: bool = False) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"YAML config (default: {_DEFAULT_CONFIG}, or the built-in defaults with --csv)",
    )
    parser.add_argument(
        "--csv",
        metavar="PATH",
        help="read the series from this CSV (long format); the run is named after the file",
    )
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
    if args.csv and path is None:
        # A user's CSV starts from the built-in defaults, named after the file.
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(args.csv).stem).strip("-.") or "series"
        overrides.insert(0, f"name={name}")
    elif path is None and Path(_DEFAULT_CONFIG).is_file():
        path = _DEFAULT_CONFIG
    return load_config(path, [*overrides, *args.overrides])


def _table(metrics: dict[str, dict[str, float]]) -> str:
    cols = ("rmse", "mae", "smape", "mase")
    lines = [f"  {'':16}" + "".join(f"{c:>11}" for c in cols)]
    for method, values in metrics.items():
        name = _METHOD_NAMES.get(method, method)
        lines.append(f"  {name:16}" + "".join(f"{values[c]:>11.4g}" for c in cols))
    return "\n".join(lines)


def _checked(config: Config, training: bool = False) -> pd.DataFrame:
    """Load and validate the data in this process, before any flow or Prefect server starts."""
    from forecasting_app.groups import plan_groups
    from forecasting_app.sources import check_trainable, load_series

    frame = load_series(config.data)
    if training:
        check_trainable(frame, config)
    plan_groups(config, frame)  # a bad data.group_by stops here, before anything is registered
    return frame


def _cmd_inspect(args: argparse.Namespace) -> int:
    from forecasting_app.training import data_summary

    config = _config(args)
    frame = _checked(config)
    summary = data_summary(frame, source=config.data.path or "synthetic")
    for key, value in summary.items():
        print(f"{key:>16}: {value}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    config = _config(args)
    _checked(config, training=True)
    from flows.train import train

    results = train(config)
    if config.data.group_by is not None:
        _print_groups(config, results)
        print(f"look        mlflow ui --backend-store-uri {config.tracking.uri}")
        return 0
    result = results[0]
    print(f"\nrun         {result.run_id} (experiment {config.name!r})")
    d = result.data
    verdict = "champion" if result.champion else "challenger only"
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


def _print_groups(config: Config, results: Sequence[Any]) -> None:
    """One line per group's model: series, RMSE against seasonal naive, version, verdict."""
    from flows.runner import describe

    ran = describe(config.runner)
    at = f" at {ran['address']}" if ran["address"] else ""
    print(
        f"\ngroups      {len(results)} model(s) by data.group_by={config.data.group_by!r}, "
        f"{config.evaluation.folds} fold(s), horizon {config.model.horizon}; "
        f"runner {ran['kind']}{at}, {ran['workers']} worker(s)"
    )
    for r in results:
        verdict = "champion" if r.champion else "challenger only"
        rmse, naive = r.metrics["model"]["rmse"], r.metrics["seasonal_naive"]["rmse"]
        print(
            f"registry    {r.registered_model} version {r.version}: {verdict} "
            f"({r.data['series']} series, RMSE {rmse:.4g}, seasonal naive {naive:.4g}; "
            f"run {r.run_id})"
        )


def _cmd_backtest(args: argparse.Namespace) -> int:
    config = _config(args)
    _checked(config, training=True)
    from flows.backtest import run_backtest

    payload = run_backtest(config)
    _print_json(payload, args.output)
    if args.output:
        print(
            f"backtest    {len(payload['folds'])} fold(s), horizon {config.model.horizon}, "
            f"season length {payload['season_length']}\n{_table(payload['summary'])}\n"
            f"written     {args.output}"
        )
        ran = payload["runner"]
        at = f" at {ran['address']}" if ran["address"] else ""
        print(f"runner      {ran['kind']}{at}, {ran['workers']} worker(s)")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    # One run of the scheduled forecast's steps in this process: no Prefect server to start.
    from forecasting_app import scheduled

    config = _config(args)
    result = scheduled.run_forecast(config, model_uri=args.model, output=args.output)
    if scheduled.needs_retraining(config, result):
        from flows.train import train

        scheduled.note_retrained(result, train(config))
    print(f"\nmodel       {result.model_name} version {result.model_version} ({result.method})")
    for note in result.notes:
        print(f"            {note}")
    print(f"stored      {result.rows_written} new rows in {config.store.url}")
    print(f"scored      {result.scored} earlier forecast points; {result.degradation}")
    if args.output:
        print(f"written     {args.output}")
    else:
        shown = result.forecast[["series_id", "target_timestamp", "step", "value"]]
        print(shown.to_string(index=False, max_rows=40))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    config = _config(args)
    _checked(config)
    from flows.forecast import serve

    serve(config, args.config)
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

    text = "rolling-origin backtest against naive and seasonal naive, written as JSON"
    p = sub.add_parser("backtest", help=text, description=text)
    _add_config_options(p, horizon_required=True)
    p.add_argument(
        "--season-length",
        type=int,
        metavar="M",
        help="season of seasonal naive and MASE (default: from the frequency, e.g. 24 hourly)",
    )
    p.add_argument(
        "--folds", type=int, metavar="K", help="origins to evaluate (1 = holdout of the last H)"
    )
    p.add_argument("--output", metavar="FILE.json", help="write the JSON here (default: stdout)")
    p.set_defaults(func=_cmd_backtest)

    text = "forecast the next horizon now with the champion and store it (one scheduled run)"
    p = sub.add_parser("predict", help=text, description=text)
    _add_config_options(p)
    p.add_argument(
        "--model",
        metavar="URI",
        help="registered model to use (default: models:/<name>@champion; "
        "seasonal naive while there is no champion)",
    )
    p.add_argument("--output", metavar="CSV", help="also write the forecast to this CSV file")
    p.set_defaults(func=_cmd_predict)

    text = "run the forecast on the config's schedule (forecast.cron or forecast.interval_seconds)"
    p = sub.add_parser("serve", help=text, description=text)
    _add_config_options(p)
    p.set_defaults(func=_cmd_serve)
    return parser


class _NoTracebackForBadInput(logging.Filter):
    """Keep the message, drop the traceback, of a Prefect log record about bad input."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, _EXPECTED):
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_bad_input() -> None:
    """Prefect logs a failed task's or flow's traceback; for bad input the message is enough."""
    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTracebackForBadInput) for f in logger.filters):
            logger.addFilter(_NoTracebackForBadInput())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``forecast`` command; bad input exits with status 2 and a one-line message.

    Prefect keeps its state in ``.prefect/`` of the working folder (the project), next to
    ``mlruns/``, unless ``PREFECT_HOME`` is set; Keras its ``keras.json`` in ``.keras/``,
    unless ``KERAS_HOME`` is set.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no phoning home
    os.environ.setdefault("PREFECT_HOME", str(Path(_PREFECT_HOME).resolve()))
    os.environ.setdefault("KERAS_HOME", str(Path(_KERAS_HOME).resolve()))
    # A new PREFECT_HOME's temporary server first migrates its database, which can take
    # longer than Prefect's 20 s on a busy 2-core machine; wait up to two minutes.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        _quiet_bad_input()
    try:
        return int(args.func(args))
    except _EXPECTED as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split())  # one line, whatever the error's layout
        print(f"forecast {args.command}: error: {message}", file=sys.stderr)
        return 2
    finally:
        if argv is None:
            # The command line's own process exits next: spare it the garbage collection of
            # every imported module's objects at shutdown (about half a second of CPU).
            gc.freeze()


def _print_json(payload: Any, output: str | None) -> None:
    text = json.dumps(payload, indent=2, default=str)
    if output:
        Path(output).write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    sys.exit(main())
