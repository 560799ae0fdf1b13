"""The pipeline's database: schema version, SQLite's WAL mode, reopening."""

from __future__ import annotations

from sqlalchemy import text

from darkroom.db import SCHEMA_VERSION, Database


def test_schema_version_wal_and_reopen(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    db = Database(url)
    assert db.create_schema() == SCHEMA_VERSION
    with db.read() as s:
        assert s.scalar(text("PRAGMA journal_mode")) == "wal"
        assert s.scalar(text("PRAGMA busy_timeout")) == 30000
    db.dispose()
    again = Database(url)
    assert again.create_schema() == SCHEMA_VERSION
    with again.read() as s:
        assert s.scalars(text("SELECT version_num FROM alembic_version")).all() == [f"{SCHEMA_VERSION:04d}"]
    again.dispose()
