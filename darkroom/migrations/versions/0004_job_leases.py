"""Job leases: several worker processes on several machines share one queue.

``lease_expires_at``: a running job's claim lasts until then; its worker's
heartbeat pushes it forward, and the reaper requeues a job whose lease passed
(its worker died). ``cancel_requested``: a person cancelled a running job; the
worker running it, on whichever machine, sees it at its next heartbeat.
``schema_version`` goes: ``alembic_version`` records the schema now.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("cancel_requested", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
    op.create_index("ix_jobs_lease", "jobs", ["status", "lease_expires_at"])
    op.drop_table("schema_version")


def downgrade() -> None:
    op.create_table("schema_version",
                    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False))
    op.drop_index("ix_jobs_lease", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cancel_requested")
        batch.drop_column("lease_expires_at")
