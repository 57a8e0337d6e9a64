"""Interval bounds per level on each forecast row: lo_80, hi_80, lo_95, hi_95.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = ("lo_80", "hi_80", "lo_95", "hi_95")


def upgrade() -> None:
    with op.batch_alter_table("forecasts") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forecasts") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
