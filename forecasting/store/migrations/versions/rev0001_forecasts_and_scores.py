"""The forecasts and forecast_scores tables as the store created them before it had migrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _key(name: str, column_type: Any) -> sa.Column[Any]:
    return sa.Column(name, column_type, primary_key=True, autoincrement=False)


def upgrade() -> None:
    # `if_not_exists`: a store written before migrations already has these tables, as made here.
    op.create_table(
        "forecasts",
        _key("series_id", sa.String(255)),
        _key("origin", sa.DateTime()),
        sa.Column("target_timestamp", sa.DateTime(), nullable=False),
        _key("step", sa.Integer()),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("lower", sa.Double(), nullable=True),
        sa.Column("upper", sa.Double(), nullable=True),
        _key("model_name", sa.String(255)),
        _key("model_version", sa.String(64)),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "forecast_scores",
        _key("series_id", sa.String(255)),
        _key("origin", sa.DateTime()),
        sa.Column("target_timestamp", sa.DateTime(), nullable=False),
        _key("step", sa.Integer()),
        _key("model_name", sa.String(255)),
        _key("model_version", sa.String(64)),
        sa.Column("forecast", sa.Double(), nullable=False),
        sa.Column("actual", sa.Double(), nullable=False),
        sa.Column("error", sa.Double(), nullable=False),
        sa.Column("abs_error", sa.Double(), nullable=False),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("forecast_scores")
    op.drop_table("forecasts")
