"""Schedules, their fires, file cursors and tick records; runs name the schedule that made them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _id(name: str = "id", *args: object, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(64), *args, **kw)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("pipeline_runs", _id("schedule_id"))
    op.create_index("ix_pipeline_runs_schedule_id_created_at", "pipeline_runs", ["schedule_id", "created_at"])
    op.create_table(
        "schedules",
        _id(nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("experiment_name", sa.String(255), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        _ts("anchor", nullable=False),
        _id("published_pipeline_id"),
        _id("pipeline_endpoint_id"),
        sa.Column("description", sa.Text()),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("continue_on_step_failure", sa.Boolean()),
        sa.Column("misfire", sa.String(16), nullable=False),
        sa.Column("misfire_cap", sa.Integer(), nullable=False),
        _ts("next_fire_at"),
        _ts("last_fire_at"),
        _id("last_run_id"),
        sa.Column("lease_owner", sa.String(255)),
        _ts("lease_expires_at"),
        sa.Column("cursor_rev", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_schedules"),
        sa.ForeignKeyConstraint(
            ["published_pipeline_id"], ["published_pipelines.id"],
            name="fk_schedules_published_pipeline_id_published_pipelines",
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_endpoint_id"], ["pipeline_endpoints.id"],
            name="fk_schedules_pipeline_endpoint_id_pipeline_endpoints",
        ),
    )
    op.create_index("ix_schedules_status_next_fire_at", "schedules", ["status", "next_fire_at"])
    op.create_index("ix_schedules_published_pipeline_id", "schedules", ["published_pipeline_id"])
    op.create_index("ix_schedules_pipeline_endpoint_id", "schedules", ["pipeline_endpoint_id"])
    op.create_table(
        "schedule_fires",
        _id("schedule_id", nullable=False),
        sa.Column("fire_key", sa.String(512), nullable=False),
        _id("run_id", nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", "fire_key", name="pk_schedule_fires"),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name="fk_schedule_fires_schedule_id_schedules", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["pipeline_runs.id"], name="fk_schedule_fires_run_id_pipeline_runs",
            ondelete="CASCADE", deferrable=True, initially="DEFERRED",
        ),
    )
    op.create_index("ix_schedule_fires_created_at", "schedule_fires", ["created_at"])
    op.create_table(
        "schedule_files",
        _id("schedule_id", nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", "path", name="pk_schedule_files"),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name="fk_schedule_files_schedule_id_schedules", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "schedule_ticks",
        _id(nullable=False),
        _id("schedule_id", nullable=False),
        _ts("evaluated_at", nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("slot_time"),
        sa.Column("cursor_before", sa.Text()),
        sa.Column("cursor_after", sa.Text()),
        sa.Column("run_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_ticks"),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name="fk_schedule_ticks_schedule_id_schedules", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_schedule_ticks_schedule_id_evaluated_at", "schedule_ticks", ["schedule_id", "evaluated_at"])
    op.create_index("ix_schedule_ticks_evaluated_at", "schedule_ticks", ["evaluated_at"])


def downgrade() -> None:
    op.drop_table("schedule_ticks")
    op.drop_table("schedule_files")
    op.drop_table("schedule_fires")
    op.drop_table("schedules")
    op.drop_index("ix_pipeline_runs_schedule_id_created_at", "pipeline_runs")
    op.drop_column("pipeline_runs", "schedule_id")
