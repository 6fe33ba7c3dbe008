"""The step an MLflow client logs a metric value at.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("metrics", sa.Column("step", sa.BigInteger()))


def downgrade() -> None:
    op.drop_column("metrics", "step")
