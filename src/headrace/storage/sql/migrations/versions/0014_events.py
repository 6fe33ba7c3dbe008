"""The events outbox, webhook subscriptions and deliveries, and event triggers.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dispatched_at", _TS),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("id", name="uq_events_id"),
    )
    op.create_index("ix_events_dispatched_at_seq", "events", ["dispatched_at", "seq"])
    op.create_index("ix_events_type_seq", "events", ["type", "seq"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("apprise_url", sa.Text()),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
        sa.UniqueConstraint("name", name="uq_webhooks_name"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", _TS),
        sa.Column("response_code", sa.Integer()),
        sa.Column("latency_ms", sa.Float()),
        sa.Column("last_error", sa.Text()),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_expires_at", _TS),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"], name="fk_webhook_deliveries_webhook_id_webhooks",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_status_next_attempt_at", "webhook_deliveries",
                    ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_webhook_id_created_at", "webhook_deliveries", ["webhook_id", "created_at"])
    op.create_table(
        "triggers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("experiment_name", sa.String(255), nullable=False),
        sa.Column("published_pipeline_id", sa.String(64)),
        sa.Column("pipeline_endpoint_id", sa.String(64)),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["published_pipeline_id"], ["published_pipelines.id"],
                                name="fk_triggers_published_pipeline_id_published_pipelines"),
        sa.ForeignKeyConstraint(["pipeline_endpoint_id"], ["pipeline_endpoints.id"],
                                name="fk_triggers_pipeline_endpoint_id_pipeline_endpoints"),
        sa.PrimaryKeyConstraint("id", name="pk_triggers"),
        sa.UniqueConstraint("name", name="uq_triggers_name"),
    )
    op.create_index("ix_triggers_event_status", "triggers", ["event", "status"])
    op.create_table(
        "trigger_fires",
        sa.Column("trigger_id", sa.String(64), nullable=False),
        sa.Column("fire_key", sa.String(512), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["trigger_id"], ["triggers.id"], name="fk_trigger_fires_trigger_id_triggers",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["pipeline_runs.id"], name="fk_trigger_fires_run_id_pipeline_runs",
                                ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
        sa.PrimaryKeyConstraint("trigger_id", "fire_key", name="pk_trigger_fires"),
    )
    op.create_table(
        "trigger_ticks",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("trigger_id", sa.String(64), nullable=False),
        sa.Column("evaluated_at", _TS, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("run_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["trigger_id"], ["triggers.id"], name="fk_trigger_ticks_trigger_id_triggers",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_trigger_ticks"),
    )
    op.create_index("ix_trigger_ticks_trigger_id_evaluated_at", "trigger_ticks", ["trigger_id", "evaluated_at"])
    op.create_index("ix_trigger_ticks_evaluated_at", "trigger_ticks", ["evaluated_at"])


def downgrade() -> None:
    for table in ("trigger_ticks", "trigger_fires", "triggers", "webhook_deliveries", "webhooks", "events"):
        op.drop_table(table)
