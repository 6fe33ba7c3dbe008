"""Modules and module versions: scripts frozen at publish time, run by ``ModuleStep``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "modules",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("description", sa.Text()),
        sa.Column("default_version", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_modules"),
        sa.UniqueConstraint("name", name="uq_modules_name"),
    )
    op.create_index("ix_modules_created_at_id", "modules", ["created_at", "id"])
    op.create_table(
        "module_versions",
        sa.Column("module_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("script_name", sa.String(1024), nullable=False),
        sa.Column("snapshot", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("description", sa.Text()),
        sa.Column("interface", sa.JSON(), nullable=False),
        sa.Column("source_directory", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("module_id", "version", name="pk_module_versions"),
        sa.ForeignKeyConstraint(["module_id"], ["modules.id"], name="fk_module_versions_module_id_modules",
                                ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("module_versions")
    op.drop_index("ix_modules_created_at_id", table_name="modules")
    op.drop_table("modules")
