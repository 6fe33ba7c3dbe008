"""Published prompt flows and their versions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("default_version", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("name", name="pk_flows"),
    )
    op.create_table(
        "flow_versions",
        sa.Column("flow_name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.String(64), nullable=False),
        _ts("created_at"),
        sa.Column("description", sa.Text()),
        sa.Column("interface", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("flow_name", "version", name="pk_flow_versions"),
        sa.ForeignKeyConstraint(["flow_name"], ["flows.name"], name="fk_flow_versions_flow_name_flows",
                                ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("flow_versions")
    op.drop_table("flows")
