"""Published pipelines, pipeline endpoints and their versions, API tokens, run keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

Also adds the run columns naming where a run came from (published pipeline, endpoint, version).
They are added with plain ``ALTER TABLE ... ADD COLUMN`` and carry no foreign keys: on SQLite a
foreign key could only be added by copying ``pipeline_runs``, whose DROP would cascade to the step
runs and metrics.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _id(name: str = "id", *args: object, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(64), *args, **kw)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("pipeline_runs", _id("published_pipeline_id"))
    op.add_column("pipeline_runs", _id("pipeline_endpoint_id"))
    op.add_column("pipeline_runs", sa.Column("pipeline_endpoint_version", sa.String(32)))
    op.create_index(
        "ix_pipeline_runs_published_pipeline_id_created_at",
        "pipeline_runs",
        ["published_pipeline_id", "created_at"],
    )
    op.create_index(
        "ix_pipeline_runs_pipeline_endpoint_id_created_at",
        "pipeline_runs",
        ["pipeline_endpoint_id", "created_at"],
    )
    op.create_table(
        "run_keys",
        sa.Column("key", sa.String(255), nullable=False),
        _id("run_id", nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_run_keys"),
        # Checked at commit: create_run_once inserts the key before the run.
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name="fk_run_keys_run_id_pipeline_runs",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    op.create_index("ix_run_keys_created_at", "run_keys", ["created_at"])
    op.create_index("ix_run_keys_run_id", "run_keys", ["run_id"])
    op.create_table(
        "published_pipelines",
        _id(nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        _id("pipeline_id", nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("version", sa.String(255)),
        sa.Column("continue_on_step_failure", sa.Boolean()),
        _id("source_run_id"),
        sa.PrimaryKeyConstraint("id", name="pk_published_pipelines"),
        sa.ForeignKeyConstraint(
            ["pipeline_id"], ["pipelines.id"], name="fk_published_pipelines_pipeline_id_pipelines"
        ),
    )
    op.create_index(
        "ix_published_pipelines_status_created_at", "published_pipelines", ["status", "created_at"]
    )
    op.create_index("ix_published_pipelines_created_at_id", "published_pipelines", ["created_at", "id"])
    op.create_table(
        "pipeline_endpoints",
        _id(nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("default_version", sa.String(32), nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.Column("description", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_endpoints"),
        sa.UniqueConstraint("name", name="uq_pipeline_endpoints_name"),
    )
    op.create_table(
        "endpoint_versions",
        _id("endpoint_id", nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        _id("published_pipeline_id", nullable=False),
        _ts("added_at", nullable=False),
        sa.PrimaryKeyConstraint("endpoint_id", "version", name="pk_endpoint_versions"),
        sa.UniqueConstraint(
            "endpoint_id",
            "published_pipeline_id",
            name="uq_endpoint_versions_endpoint_id_published_pipeline_id",
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["pipeline_endpoints.id"],
            name="fk_endpoint_versions_endpoint_id_pipeline_endpoints",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_pipeline_id"],
            ["published_pipelines.id"],
            name="fk_endpoint_versions_published_pipeline_id_published_pipelines",
        ),
    )
    op.create_table(
        "tokens",
        _id(nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        _ts("created_at", nullable=False),
        _ts("revoked_at"),
        _ts("last_used_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
    )


def downgrade() -> None:
    for table in ("tokens", "endpoint_versions", "pipeline_endpoints", "published_pipelines", "run_keys"):
        op.drop_table(table)
    op.drop_index("ix_pipeline_runs_pipeline_endpoint_id_created_at", "pipeline_runs")
    op.drop_index("ix_pipeline_runs_published_pipeline_id_created_at", "pipeline_runs")
    # Not batch mode: copying pipeline_runs on SQLite would cascade its DROP to step runs and metrics.
    # Plain DROP COLUMN needs SQLite 3.35 or newer.
    for column in ("pipeline_endpoint_version", "pipeline_endpoint_id", "published_pipeline_id"):
        op.drop_column("pipeline_runs", column)
