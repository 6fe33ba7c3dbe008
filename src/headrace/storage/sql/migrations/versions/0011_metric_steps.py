"""The step an MLflow client logs a metric value at.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("metrics", sa.Column("step", sa.BigInteger()))


def downgrade() -> None:
    op.drop_column("metrics", "step")
