"""Recurrent time-series forecasting: CSV in, tracked and scheduled forecasts out.

Importing this package is cheap: it touches no disk, sets no MLflow tracking URI and does not
import TensorFlow. Heavy objects are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Forecaster", "__version__"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from forecasting.forecaster import Forecaster


def __getattr__(name: str) -> Any:
    if name == "Forecaster":
        from forecasting.forecaster import Forecaster

        return Forecaster
    raise AttributeError(f"module 'forecasting' has no attribute {name!r}")
