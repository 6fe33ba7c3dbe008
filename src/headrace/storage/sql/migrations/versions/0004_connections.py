"""LLM connections (their API keys stored encrypted).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("secret", sa.Text()),
        sa.Column("api_version", sa.String(64)),
        sa.Column("context_size", sa.Integer()),
        sa.Column("model", sa.String(255)),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_connections"),
    )


def downgrade() -> None:
    op.drop_table("connections")
