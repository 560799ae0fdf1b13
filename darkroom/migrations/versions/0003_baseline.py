"""Baseline: the schema as it was at schema version 3, the last one made without Alembic.

On an empty database it creates every table. A database made before Alembic
(``schema_version`` says 1, 2 or 3, no ``alembic_version``) already has most of
them: each table is created only if missing and each column added since
version 1 only if missing, so such a database is brought to version 3 in
place, its rows kept, and recorded at this revision.

Frozen on purpose: the DDL is written out here, not taken from the models,
which keep changing in later revisions.

Revision ID: 0003
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _tables() -> list[tuple[str, list, list[tuple[str, list[str]]]]]:
    """(table, its columns and constraints, its indexes as (name, columns))."""
    return [
        ("schema_version", [
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("applied_at", TZ, nullable=False),
        ], []),
        ("sessions", [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(200), nullable=False, unique=True),
            sa.Column("import_folder", sa.Text, nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("created_at", TZ, nullable=False),
            sa.Column("updated_at", TZ, nullable=False),
            sa.Column("completed_at", TZ),
            sa.Column("library_folder", sa.Text),
            sa.Column("backup_folder", sa.Text),
            sa.Column("develop_mode", sa.String(10), nullable=False, server_default="all"),
        ], []),
        ("photos", [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=False),
            sa.Column("file_path", sa.Text, nullable=False),
            sa.Column("file_name", sa.String(255), nullable=False),
            sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("file_size", sa.BigInteger, nullable=False),
            sa.Column("format", sa.String(10), nullable=False),
            sa.Column("width", sa.Integer),
            sa.Column("height", sa.Integer),
            sa.Column("exif", sa.JSON, nullable=False),
            sa.Column("analysis", sa.JSON),
            sa.Column("ai_score", sa.Float),
            sa.Column("context_tag", sa.String(40)),
            sa.Column("preset", sa.String(100)),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("decision", sa.String(20)),
            sa.Column("decision_reason", sa.Text),
            sa.Column("decided_at", TZ),
            sa.Column("rating", sa.Integer, nullable=False, server_default="0"),
            sa.Column("flag", sa.String(10)),
            sa.Column("color_label", sa.String(10)),
            sa.Column("captured_at", TZ),
            sa.Column("thumbnail_path", sa.Text),
            sa.Column("preview_path", sa.Text),
            sa.Column("developed_path", sa.Text),
            sa.Column("developed_preview_path", sa.Text),
            sa.Column("developed_thumbnail_path", sa.Text),
            sa.Column("error", sa.Text),
            sa.Column("imported_at", TZ, nullable=False),
            sa.Column("updated_at", TZ, nullable=False),
        ], [("ix_photos_captured_at", ["captured_at"]), ("ix_photos_session_id", ["session_id"]),
            ("ix_photos_session_status", ["session_id", "status"])]),
        ("jobs", [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("photo_id", sa.Integer, sa.ForeignKey("photos.id"), nullable=False),
            sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=False),
            sa.Column("priority", sa.Integer, nullable=False),
            sa.Column("preset", sa.String(100), nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("stage", sa.String(30)),
            sa.Column("progress", sa.Float, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("params", sa.JSON, nullable=False),
            sa.Column("result", sa.JSON),
            sa.Column("error_message", sa.Text),
            sa.Column("error_details", sa.JSON),
            sa.Column("worker", sa.String(60)),
            sa.Column("created_at", TZ, nullable=False),
            sa.Column("started_at", TZ),
            sa.Column("finished_at", TZ),
        ], [("ix_jobs_photo_id", ["photo_id"]),
            ("ix_jobs_claim", ["status", "priority", "created_at", "id"])]),
        ("exports", [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("photo_id", sa.Integer, sa.ForeignKey("photos.id"), nullable=False),
            sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id")),
            sa.Column("destination", sa.Text, nullable=False),
            sa.Column("format", sa.String(10), nullable=False),
            sa.Column("quality", sa.Integer, nullable=False),
            sa.Column("long_edge", sa.Integer),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("output_path", sa.Text),
            sa.Column("file_size", sa.BigInteger),
            sa.Column("error", sa.Text),
            sa.Column("created_at", TZ, nullable=False),
            sa.Column("finished_at", TZ),
        ], [("ix_exports_photo_id", ["photo_id"])]),
        ("import_items", [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=False),
            sa.Column("batch", sa.Integer, nullable=False),
            sa.Column("path", sa.Text, nullable=False),
            sa.Column("file_size", sa.BigInteger),
            sa.Column("mtime_ns", sa.BigInteger),
            sa.Column("state", sa.String(20), nullable=False),
            sa.Column("code", sa.String(40)),
            sa.Column("reason", sa.Text),
            sa.Column("photo_id", sa.Integer, sa.ForeignKey("photos.id")),
            sa.Column("library_path", sa.Text),
            sa.Column("backup_path", sa.Text),
            sa.Column("created_at", TZ, nullable=False),
            sa.Column("finished_at", TZ),
        ], [("ix_import_items_state", ["state", "id"]),
            ("ix_import_items_session_batch", ["session_id", "batch", "state"]),
            ("ix_import_items_path", ["session_id", "path", "state"])]),
        # The hub's event log (darkroom/realtime/eventlog.py).
        ("event_log", [
            sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("channel", sa.String(32), nullable=False),
            sa.Column("type", sa.String(64), nullable=False),
            sa.Column("created", sa.Float, nullable=False),
            sa.Column("data", sa.Text, nullable=False),
        ], [("ix_event_log_channel", ["channel"]), ("ix_event_log_created", ["created"])]),
        ("event_log_meta", [
            sa.Column("key", sa.String(32), primary_key=True),
            sa.Column("value", sa.String(64), nullable=False),
        ], []),
    ]


# Columns added by the pre-Alembic steps 2 and 3: a database of version 1 or 2 lacks them.
ADDED_SINCE_VERSION_1 = {
    "sessions": [lambda: sa.Column("library_folder", sa.Text),
                 lambda: sa.Column("backup_folder", sa.Text),
                 lambda: sa.Column("develop_mode", sa.String(10), nullable=False, server_default="all")],
    "photos": [lambda: sa.Column("rating", sa.Integer, nullable=False, server_default="0"),
               lambda: sa.Column("flag", sa.String(10)),
               lambda: sa.Column("color_label", sa.String(10)),
               lambda: sa.Column("captured_at", TZ)],
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for name, columns, indexes in _tables():
        if name not in existing:
            op.create_table(name, *columns)
            for index, on in indexes:
                op.create_index(index, name, on)
            continue
        have_columns = {c["name"] for c in inspector.get_columns(name)}
        missing = [make() for make in ADDED_SINCE_VERSION_1.get(name, [])]
        missing = [c for c in missing if c.name not in have_columns]
        if missing:
            with op.batch_alter_table(name) as batch:
                for column in missing:
                    batch.add_column(column)
        have_indexes = {i["name"] for i in inspector.get_indexes(name)}
        for index, on in indexes:
            if index not in have_indexes:
                op.create_index(index, name, on)


def downgrade() -> None:
    for name, _, _ in reversed(_tables()):
        op.drop_table(name)
