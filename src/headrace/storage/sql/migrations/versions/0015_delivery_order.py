"""Webhook deliveries go out in event order: each has its place in its subscription's queue.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhook_deliveries", sa.Column("seq", sa.BigInteger()))
    # Deliveries made before this revision are queued in the order they were made.
    table = sa.table("webhook_deliveries", sa.column("id", sa.String), sa.column("created_at", sa.DateTime),
                     sa.column("seq", sa.BigInteger))
    conn = op.get_bind()
    ids = list(conn.execute(sa.select(table.c.id).order_by(table.c.created_at, table.c.id)).scalars())
    if ids:
        conn.execute(table.update().where(table.c.id == sa.bindparam("b_id")).values(seq=sa.bindparam("b_seq")),
                     [{"b_id": key, "b_seq": n} for n, key in enumerate(ids, 1)])
    op.create_index("ix_webhook_deliveries_seq", "webhook_deliveries", ["seq"], unique=True)
    op.create_index("ix_webhook_deliveries_webhook_id_status_seq", "webhook_deliveries", ["webhook_id", "status", "seq"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_webhook_id_status_seq", "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_seq", "webhook_deliveries")
    op.drop_column("webhook_deliveries", "seq")
