"""Write the bundled real series: data/co2_weekly.csv from statsmodels' Mauna Loa CO2 data.

Run from the repository root with ``.venv/bin/python data/make_bundled.py``. The weekly series
keeps its missing weeks as empty ``value`` cells, so loading it exercises ``data.missing``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

__all__ = ["co2_weekly", "main"]

HERE = Path(__file__).resolve().parent


def co2_weekly() -> pd.DataFrame:
    """Return the weekly Mauna Loa CO2 series (ppmv, 1958-2001) as ``timestamp, value``."""
    from statsmodels.datasets import co2

    data = co2.load_pandas().data
    return pd.DataFrame({"timestamp": data.index, "value": data["co2"].to_numpy()})


def main(argv: list[str] | None = None) -> None:
    """Write ``co2_weekly.csv`` to the output folder (default: this folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into")
    args = parser.parse_args(argv)
    path = args.out / "co2_weekly.csv"
    co2_weekly().to_csv(path, index=False, date_format="%Y-%m-%d", na_rep="")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
