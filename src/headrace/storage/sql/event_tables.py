"""Tables of the events outbox, webhook subscriptions and deliveries, and event triggers.

Defined on the shared ``metadata`` of ``columns.py``; ``tables.py`` gathers every table module.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from headrace.storage.sql.columns import UTCDateTime, metadata

__all__ = ["events", "trigger_fires", "trigger_ticks", "triggers", "webhook_deliveries", "webhooks"]


def _id(name: str = "id", *args: object, **kw: object) -> Column[str]:
    return Column(name, String(64), *args, **kw)  # type: ignore[arg-type]


# The outbox. ``seq`` orders it; rows with no ``dispatched_at`` are what the dispatcher still has to do.
events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    _id("id", nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("data", JSON, nullable=False),
    Column("dispatched_at", UTCDateTime),
    Index(None, "dispatched_at", "seq"),
    Index(None, "type", "seq"),
)
webhooks = Table(
    "webhooks",
    metadata,
    _id(primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("url", Text),
    Column("apprise_url", Text),
    Column("events", JSON, nullable=False),
    Column("filters", JSON, nullable=False),
    Column("secret", Text, nullable=False),
    Column("description", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _id(primary_key=True),
    _id("webhook_id", ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    _id("event_id", nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_attempt_at", UTCDateTime),
    Column("response_code", Integer),
    Column("latency_ms", Float),
    Column("last_error", Text),
    Column("lease_owner", String(128)),
    Column("lease_expires_at", UTCDateTime),
    # The place in its subscription's queue (deliveries go out in this order); NULL: a test message.
    Column("seq", BigInteger),
    Index(None, "status", "next_attempt_at"),
    Index(None, "webhook_id", "created_at"),
    Index(None, "seq", unique=True),
    Index(None, "webhook_id", "status", "seq"),
)
triggers = Table(
    "triggers",
    metadata,
    _id(primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("event", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("experiment_name", String(255), nullable=False),
    _id("published_pipeline_id", ForeignKey("published_pipelines.id")),
    _id("pipeline_endpoint_id", ForeignKey("pipeline_endpoints.id")),
    Column("filters", JSON, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("description", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "event", "status"),
)
trigger_fires = Table(
    "trigger_fires",
    metadata,
    _id("trigger_id", ForeignKey("triggers.id", ondelete="CASCADE"), primary_key=True),
    Column("fire_key", String(512), primary_key=True),
    _id(
        "run_id",
        ForeignKey("pipeline_runs.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
        nullable=False,
    ),
    Column("created_at", UTCDateTime, nullable=False),
)
trigger_ticks = Table(
    "trigger_ticks",
    metadata,
    _id(primary_key=True),
    _id("trigger_id", ForeignKey("triggers.id", ondelete="CASCADE"), nullable=False),
    Column("evaluated_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    _id("event_id", nullable=False),
    Column("reason", Text, nullable=False),
    Column("run_ids", JSON, nullable=False),
    Index(None, "trigger_id", "evaluated_at"),
    Index(None, "evaluated_at"),
)
