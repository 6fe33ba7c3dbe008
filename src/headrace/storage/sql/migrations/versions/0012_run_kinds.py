"""Runs of other kinds than pipelines (script, interactive, sweep) and child runs.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pipeline_runs", sa.Column("kind", sa.String(32), nullable=False, server_default="pipeline"))
    op.add_column("pipeline_runs", sa.Column("parent_run_id", sa.String(64)))
    op.create_index("ix_pipeline_runs_parent_run_id_created_at", "pipeline_runs", ["parent_run_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_pipeline_runs_parent_run_id_created_at", "pipeline_runs")
    op.drop_column("pipeline_runs", "parent_run_id")
    op.drop_column("pipeline_runs", "kind")
