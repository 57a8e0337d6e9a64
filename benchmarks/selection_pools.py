"""Judge other rules for ``served`` on the fits an accuracy run already made.

``accuracy.py --out FILE`` records, per fold, series and method, the MASE after the origin
and on each validation window before it (``--set evaluation.validation_windows=3`` records
three). This replays the per-series choice with other candidate pools and window counts on
those numbers, without refitting anything, and prints, per rule, the geometric means over
units of the served MASE against seasonal naive, AutoETS and the statistical ensemble, and
the worst unit against the better of seasonal naive and AutoETS::

    .venv/bin/python benchmarks/accuracy.py --half tuning --seeds 0 \\
        --set evaluation.validation_windows=3 --out tuning.json
    .venv/bin/python benchmarks/selection_pools.py tuning.json

Use it on the tuning half only: the validation half is for reporting the chosen rule.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

POOLS: tuple[tuple[str, ...], ...] = (
    ("model",),
    ("combination",),
    ("stat_ensemble",),
    ("combination", "model", "stat_ensemble", "seasonal_naive"),
    ("combination", "stat_ensemble", "seasonal_naive"),
    ("combination", "stat_ensemble"),
    ("combination", "model", "stat_ensemble"),
    ("combination", "model"),
    ("stat_ensemble", "model", "seasonal_naive"),
    ("combination", "model", "reference", "stat_ensemble", "seasonal_naive"),
    ("combination", "model", "stat_ensemble", "ets", "theta", "seasonal_naive", "naive"),
)


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def _gmean(values: Sequence[float]) -> float:
    finite = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(map(math.log, finite)) / len(finite)) if finite else math.nan


def replay(row: dict[str, Any], pool: Sequence[str], windows: int) -> float:
    """The unit's served MASE (mean over folds and series) under one rule."""
    after = {(f, s, m): v for f, s, m, v in row["detail"]}
    checked: dict[tuple[int, str, str], list[float]] = defaultdict(list)
    for f, s, m, w, v in row["validation"]:
        if w <= windows and v is not None and math.isfinite(v):
            checked[(f, s, m)].append(v)
    served = []
    for f, s in sorted({(f, s) for f, s, _ in after}):
        scores = {
            m: sum(checked[(f, s, m)]) / len(checked[(f, s, m)]) for m in pool if checked[(f, s, m)]
        }
        method = min(scores, key=lambda m: scores[m]) if scores else pool[0]
        if (f, s, method) not in after or after[(f, s, method)] is None:
            method = "model" if (f, s, "model") in after else pool[0]
        served.append(after[(f, s, method)])
    return sum(served) / len(served)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, help="accuracy.py --out JSON")
    parser.add_argument("--folds", type=int, nargs="*", default=[1, 3])
    args = parser.parse_args(argv)
    rows = json.loads(args.runs.read_text())
    print(
        "| folds | pool | windows | served / sn | served / ETS | served / stat. ens. | "
        "beats sn | worst / min(sn, ETS) |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for folds, pool, windows in itertools.product(args.folds, POOLS, (1, 2, 3)):
        part = [r for r in rows if r["folds"] == folds and "validation" in r]
        if not part:
            continue
        units: dict[str, list[tuple[float, dict[str, float]]]] = defaultdict(list)
        for r in part:
            units[r["unit"]].append((replay(r, pool, windows), r["mase"]))
        vs_sn, vs_ets, vs_ens, worst = [], [], [], []
        for runs in units.values():
            served = sum(s for s, _ in runs) / len(runs)
            base = runs[0][1]
            vs_sn.append(_ratio(served, base["seasonal_naive"]))
            vs_ets.append(_ratio(served, base["ets"]))
            vs_ens.append(_ratio(served, base["stat_ensemble"]))
            worst.append(_ratio(served, min(base["seasonal_naive"], base["ets"])))
        print(
            f"| {folds} | {', '.join(pool)} | {windows} | {_gmean(vs_sn):.3f} | "
            f"{_gmean(vs_ets):.3f} | {_gmean(vs_ens):.3f} | {sum(v < 1 for v in vs_sn)} of "
            f"{len(vs_sn)} | {max(w for w in worst if math.isfinite(w)):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
