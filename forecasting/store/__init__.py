"""The forecast store: forecasts and realised scores in SQL tables, and the promotion lock.

SQLite by default, PostgreSQL for teams; the schema is created and upgraded by Alembic
(:mod:`forecasting.store.migrations`).
"""

from forecasting.store._forecasts import (
    DEFAULT_URL,
    INTERVAL_COLUMNS,
    KEY,
    ForecastStore,
    realised_metrics,
)
from forecasting.store._lock import PromotionLockTimeout, promotion_lock

__all__ = [
    "DEFAULT_URL",
    "INTERVAL_COLUMNS",
    "KEY",
    "ForecastStore",
    "PromotionLockTimeout",
    "promotion_lock",
    "realised_metrics",
]
