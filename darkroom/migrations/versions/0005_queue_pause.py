"""The queue's pause in the database: one pause for every worker of every process.

``queue_state`` holds one row (``id`` 1, made here, running): ``paused`` and when
it last changed. Before, each process kept its own pause in memory, so a
pause on one web process left the others' and the worker processes' workers running.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table("queue_state",
                            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                            sa.Column("paused", sa.Boolean, nullable=False,
                                      server_default=sa.false()),
                            sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False))
    op.bulk_insert(table, [{"id": 1, "paused": False, "changed_at": datetime.now(timezone.utc)}])


def downgrade() -> None:
    op.drop_table("queue_state")
