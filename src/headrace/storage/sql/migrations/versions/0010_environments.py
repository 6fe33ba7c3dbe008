"""Registered environments (versions per name).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text()),
        sa.PrimaryKeyConstraint("name", "version", name="pk_environments"),
    )
    op.create_index("ix_environments_name_hash", "environments", ["name", "hash"])


def downgrade() -> None:
    op.drop_index("ix_environments_name_hash", table_name="environments")
    op.drop_table("environments")
