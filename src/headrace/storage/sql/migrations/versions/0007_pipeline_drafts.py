"""Pipeline drafts: stored, unpublished graphs with the settings of their next run.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _id(name: str, *args: object, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(64), *args, **kw)


def upgrade() -> None:
    op.create_table(
        "pipeline_drafts",
        _id("id", nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("experiment_name", sa.String(255), nullable=False),
        _id("pipeline_id", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("continue_on_step_failure", sa.Boolean()),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        _id("parent_pipeline_id"),
        _id("parent_run_id"),
        _id("parent_draft_id"),
        _id("last_submitted_run_id"),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_drafts"),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipelines.id"], name="fk_pipeline_drafts_pipeline_id_pipelines"),
    )
    op.create_index("ix_pipeline_drafts_created_at_id", "pipeline_drafts", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_pipeline_drafts_created_at_id", table_name="pipeline_drafts")
    op.drop_table("pipeline_drafts")
