"""The pipeline's SQLite database: schema version, WAL, reopening."""

from __future__ import annotations

from sqlalchemy import select, text

from darkroom.db import SCHEMA_VERSION, Database, SchemaVersion


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
        assert len(s.scalars(select(SchemaVersion)).all()) == 1
    again.dispose()
