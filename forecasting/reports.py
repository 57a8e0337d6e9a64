"""Run reports: a self-contained HTML page and a Markdown summary.

The figures they show are drawn by :mod:`forecasting.figures`.
"""

from __future__ import annotations

import base64
import html
import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from string import Template
from typing import Any

from matplotlib.figure import Figure

from forecasting.figures import figure_to_png

__all__ = ["metrics_table_markdown", "render_html_report", "render_markdown_report"]

_METRIC_ORDER = ("rmse", "mae", "smape", "mase", "coverage_80", "coverage_95", "msis")
# Columns where the smallest value is best and gets bold; other metrics are shown plain.
_LOWER_IS_BETTER = frozenset({"rmse", "mae", "smape", "mase", "mse", "mape", "msis"})
_MISSING = "—"
_BEST_NOTE = "Lower is better; the best value in each column is in bold."
_COVERAGE_NOTE = (
    "coverage_80 and coverage_95 are the shares of actuals inside the 80% and 95% intervals: "
    "closest to 0.80 and 0.95 is best. msis is the mean scaled interval score of the 95% "
    "interval (width plus penalties for misses, scaled like MASE)."
)


def _notes(columns: Sequence[str]) -> str:
    """The note under a metrics table: what bold means, and how to read interval columns."""
    if any(c.startswith("coverage_") or c == "msis" for c in columns):
        return f"{_BEST_NOTE} {_COVERAGE_NOTE}"
    return _BEST_NOTE


_CSS = """\
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       background: #fff; margin: 0; line-height: 1.5; }
main { max-width: 1000px; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
h1 { font-size: 1.7rem; margin: 0 0 1rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.6rem; border-bottom: 1px solid #d0d7de;
     padding-bottom: 0.25rem; }
.decision { background: #eef6ff; border-left: 5px solid #0969da; padding: 0.8rem 1rem;
            font-size: 1.1rem; font-weight: 600; border-radius: 4px; }
table { border-collapse: collapse; margin: 0.4rem 0; font-size: 0.95rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.7rem; text-align: left;
         vertical-align: top; }
thead th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
table.kv td { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9rem;
              word-break: break-word; }
.note { color: #57606a; font-size: 0.9rem; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 0.9rem; margin-top: 0.3rem; }"""

_PAGE = Template("""\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
$css
</style>
</head>
<body>
<main>
<h1>$title</h1>
$body
</main>
</body>
</html>
""")


def _check_mapping(value: object, name: str, example: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"`{name}` must be a dict, e.g. {example}; got {type(value).__name__}.")
    return value


def _check_metrics(metrics: object) -> dict[str, dict[str, float]]:
    example = "{'model': {'rmse': 0.41}, 'naive': {'rmse': 0.87}}"
    checked: dict[str, dict[str, float]] = {}
    for method, row in _check_mapping(metrics, "metrics", example).items():
        entries = _check_mapping(row, f"metrics[{method!r}]", "{'rmse': 0.41}")
        values: dict[str, float] = {}
        for name, value in entries.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(
                    f"`metrics[{method!r}][{name!r}]` must be a number; got {value!r} "
                    f"of type {type(value).__name__}."
                )
            values[str(name)] = float(value)
        checked[str(method)] = values
    return checked


def _format_metric(value: float) -> str:
    return f"{value:.4g}"


def _metric_cells(
    metrics: Mapping[str, Mapping[str, float]],
) -> tuple[list[str], list[tuple[str, list[tuple[str, bool]]]]]:
    """Columns (rmse, mae, smape, mase, then others); per method its (text, is_best) cells."""
    seen = list(dict.fromkeys(name for row in metrics.values() for name in row))
    columns = [m for m in _METRIC_ORDER if m in seen] + [m for m in seen if m not in _METRIC_ORDER]
    best: dict[str, str] = {}
    for column in columns:
        values = [row[column] for row in metrics.values() if column in row]
        finite = [v for v in values if math.isfinite(v)]
        if column.lower() in _LOWER_IS_BETTER and finite:
            best[column] = _format_metric(min(finite))
    rows = []
    for method, row in metrics.items():
        cells = []
        for column in columns:
            if column not in row:
                cells.append((_MISSING, False))
                continue
            text = _format_metric(row[column])
            cells.append((text, best.get(column) == text))
        rows.append((method, cells))
    return columns, rows


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell: no raw HTML, no column breaks, one line."""
    escaped = html.escape(str(text), quote=False).replace("|", "\\|")
    return " ".join(escaped.splitlines())


def metrics_table_markdown(metrics: Mapping[str, Mapping[str, float]]) -> str:
    """Format ``{method: {metric: value}}`` as a Markdown table with the best values in bold.

    Parameters
    ----------
    metrics : dict of str to dict of str to float
        For example ``{"model": {"rmse": 0.41}, "seasonal_naive": {"rmse": 0.87}}``. Methods
        become rows in the given order; metrics become columns, ``rmse``, ``mae``, ``smape``,
        ``mase`` first, then any others.

    Returns
    -------
    str
        The table, values to 4 significant digits. In the rmse, mae, smape and mase columns
        (lower is better) the best value is in bold, ties included. Missing values show as "—".
    """
    checked = _check_metrics(metrics)
    if not checked:
        raise ValueError(
            "`metrics` is empty; pass {method: {metric: value}}, "
            "e.g. {'model': {'rmse': 0.41}, 'naive': {'rmse': 0.87}}."
        )
    columns, rows = _metric_cells(checked)
    lines = [
        "| " + " | ".join(["method", *map(_md, columns)]) + " |",
        "| " + " | ".join(["---", *["---:"] * len(columns)]) + " |",
    ]
    for method, cells in rows:
        shown = [f"**{text}**" if bold else text for text, bold in cells]
        lines.append("| " + " | ".join([_md(method), *shown]) + " |")
    return "\n".join(lines) + "\n"


def _flatten(mapping: Mapping[Any, Any], prefix: str = "") -> Iterator[tuple[str, object]]:
    """Nested dicts as dotted keys (``model.units``), in insertion order."""
    for key, value in mapping.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, name)
        else:
            yield name, value


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _html_key_values(mapping: Mapping[Any, Any]) -> str:
    rows = "\n".join(
        f'<tr><th scope="row">{html.escape(key)}</th>'
        f"<td>{html.escape(_format_value(value))}</td></tr>"
        for key, value in _flatten(mapping)
    )
    return f'<table class="kv">\n<tbody>\n{rows}\n</tbody>\n</table>'


def _html_metrics(metrics: Mapping[str, Mapping[str, float]]) -> str:
    if not metrics:
        return '<p class="note">No metrics were computed.</p>'
    columns, rows = _metric_cells(metrics)
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in columns)
    body = "\n".join(
        f'<tr><th scope="row">{html.escape(method)}</th>'
        + "".join(
            f'<td class="num">{f"<strong>{text}</strong>" if bold else text}</td>'
            for text, bold in cells
        )
        + "</tr>"
        for method, cells in rows
    )
    return (
        f'<table class="metrics">\n<thead><tr><th scope="col">method</th>{head}</tr></thead>\n'
        f'<tbody>\n{body}\n</tbody>\n</table>\n<p class="note">{_notes(columns)}</p>'
    )


def _html_figure(caption: str, fig: object) -> str:
    if not isinstance(fig, Figure):
        raise TypeError(
            f"`figures[{caption!r}]` must be a matplotlib Figure; got {type(fig).__name__}. "
            "Pass the value returned by a `plot_*` function."
        )
    data = base64.b64encode(figure_to_png(fig)).decode("ascii")
    text = html.escape(caption)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{text}">'
        f"<figcaption>{text}</figcaption></figure>"
    )


def _check_notes(notes: Sequence[object] | None) -> list[str]:
    if notes is None:
        return []
    if isinstance(notes, str) or not isinstance(notes, Sequence):
        raise TypeError(f"`notes` must be a list of str or None; got {type(notes).__name__}.")
    return [str(note) for note in notes]


def render_html_report(
    title: str,
    summary: Mapping[str, object],
    config: Mapping[str, object],
    metrics: Mapping[str, Mapping[str, float]],
    decision: str,
    figures: Mapping[str, Figure],
    notes: Sequence[str] | None = None,
) -> str:
    """Render a self-contained HTML report (inline CSS, figures embedded as base64 PNG).

    Parameters
    ----------
    title : str
        Page title and heading.
    summary : dict of str to object
        Data summary (rows, series, start, end, frequency, ...), shown as a key/value table.
    config : dict of str to object
        The full run configuration (e.g. ``config.model_dump(mode="json")``); nested dicts are
        shown with dotted keys.
    metrics : dict of str to dict of str to float
        ``{method: {metric: value}}``, the model against its baselines; best values in bold.
    decision : str
        The outcome, shown highlighted at the top, e.g. ``"Version 3 is now champion: RMSE 0.41
        beats seasonal naive 0.87"``.
    figures : dict of str to Figure
        Caption to figure, embedded in the given order.
    notes : list of str, optional
        Extra remarks, shown as a list.

    Returns
    -------
    str
        The HTML page. Every user-provided string is HTML-escaped.
    """
    checked = _check_metrics(metrics)
    data = _check_mapping(summary, "summary", "{'rows': 1000, 'series': 1}")
    settings = _check_mapping(config, "config", "config.model_dump(mode='json')")
    images = _check_mapping(figures, "figures", "{'Forecast': plot_forecast(...)}")
    remarks = _check_notes(notes)
    parts = []
    if decision:
        parts.append(f'<div class="decision">{html.escape(str(decision))}</div>')
    parts.append("<h2>Data</h2>\n" + _html_key_values(data))
    parts.append("<h2>Metrics against baselines</h2>\n" + _html_metrics(checked))
    if images:
        shown = "\n".join(_html_figure(str(caption), fig) for caption, fig in images.items())
        parts.append("<h2>Figures</h2>\n" + shown)
    if remarks:
        items = "\n".join(f"<li>{html.escape(note)}</li>" for note in remarks)
        parts.append(f"<h2>Notes</h2>\n<ul>\n{items}\n</ul>")
    parts.append("<h2>Configuration</h2>\n" + _html_key_values(settings))
    return _PAGE.substitute(title=html.escape(str(title)), css=_CSS, body="\n".join(parts))


def render_markdown_report(
    title: str,
    summary: Mapping[str, object],
    metrics: Mapping[str, Mapping[str, float]],
    decision: str,
    notes: Sequence[str] | None = None,
) -> str:
    """Render a Markdown report (for example a Prefect markdown artifact).

    Parameters
    ----------
    title : str
        The heading.
    summary : dict of str to object
        Data summary, shown as a two-column table (nested dicts with dotted keys).
    metrics : dict of str to dict of str to float
        ``{method: {metric: value}}``, shown with :func:`metrics_table_markdown`.
    decision : str
        The outcome, shown as a quote under the heading.
    notes : list of str, optional
        Extra remarks, shown as a bullet list.

    Returns
    -------
    str
        The Markdown text. User text is HTML-escaped, so it renders literally.
    """
    checked = _check_metrics(metrics)
    data = _check_mapping(summary, "summary", "{'rows': 1000, 'series': 1}")
    remarks = _check_notes(notes)
    parts = [f"# {_md(title)}"]
    if decision:
        parts.append(f"> **Decision:** {_md(decision)}")
    if data:
        rows = "\n".join(
            f"| {_md(key)} | {_md(_format_value(value))} |" for key, value in _flatten(data)
        )
        parts.append(f"## Data\n\n| item | value |\n| --- | --- |\n{rows}")
    if checked:
        parts.append(
            f"## Metrics against baselines\n\n{metrics_table_markdown(checked)}\n"
            f"{_notes(_metric_cells(checked)[0])}"
        )
    else:
        parts.append("## Metrics against baselines\n\nNo metrics were computed.")
    if remarks:
        parts.append("## Notes\n\n" + "\n".join(f"- {_md(note)}" for note in remarks))
    return "\n\n".join(parts) + "\n"
