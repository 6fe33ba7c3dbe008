"""Initial schema: experiments, pipelines, datastores, pipeline runs, step runs, metrics.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Hand-written, like every revision here: a migration is a frozen copy of the schema at that
revision and never imports ``tables.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id(name: str = "id", *args: object, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(64), *args, **kw)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "experiments",
        _id(nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_experiments"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    op.create_table(
        "pipelines",
        _id(nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("graph", sa.JSON(), nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipelines"),
        sa.UniqueConstraint("content_hash", name="uq_pipelines_content_hash"),
    )
    op.create_table(
        "datastores",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("root_uri", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_datastores"),
    )
    op.create_table(
        "pipeline_runs",
        _id(nullable=False),
        _id("experiment_id", nullable=False),
        sa.Column("experiment_name", sa.String(255), nullable=False),
        _id("pipeline_id", nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("created_at", nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("run_source", sa.String(64), nullable=False),
        sa.Column("continue_on_step_failure", sa.Boolean(), nullable=False),
        sa.Column("regenerate_outputs", sa.Boolean(), nullable=False),
        _ts("started_at"),
        _ts("ended_at"),
        sa.Column("error", sa.Text()),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("agent_id", sa.String(255)),
        _ts("lease_expires_at"),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_runs"),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name="fk_pipeline_runs_experiment_id_experiments"
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name="fk_pipeline_runs_pipeline_id_pipelines"
        ),
    )
    op.create_index("ix_pipeline_runs_status_created_at_id", "pipeline_runs", ["status", "created_at", "id"])
    op.create_index("ix_pipeline_runs_created_at_id", "pipeline_runs", ["created_at", "id"])
    op.create_index(
        "ix_pipeline_runs_experiment_name_created_at", "pipeline_runs", ["experiment_name", "created_at"]
    )
    op.create_index("ix_pipeline_runs_pipeline_id_created_at", "pipeline_runs", ["pipeline_id", "created_at"])
    op.create_index("ix_pipeline_runs_agent_id_status", "pipeline_runs", ["agent_id", "status"])
    op.create_table(
        "step_runs",
        _id(nullable=False),
        _id("run_id", nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("created_at", nullable=False),
        _ts("started_at"),
        _ts("ended_at"),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("reuse_key", sa.String(255)),
        _id("reused_from"),
        sa.Column("log_uri", sa.Text()),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_step_runs"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["pipeline_runs.id"], name="fk_step_runs_run_id_pipeline_runs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_step_runs_run_id_position", "step_runs", ["run_id", "position"])
    op.create_index(
        "ix_step_runs_reuse_key_status_created_at", "step_runs", ["reuse_key", "status", "created_at"]
    )
    op.create_table(
        "metrics",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        _id("run_id", nullable=False),
        _id("step_run_id"),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.JSON()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        _ts("logged_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["pipeline_runs.id"], name="fk_metrics_run_id_pipeline_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["step_run_id"], ["step_runs.id"], name="fk_metrics_step_run_id_step_runs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_metrics_run_id_id", "metrics", ["run_id", "id"])


def downgrade() -> None:
    for table in ("metrics", "step_runs", "pipeline_runs", "datastores", "pipelines", "experiments"):
        op.drop_table(table)
