"""Alembic migrations: an empty database, and one made by the code before Alembic.

The pre-Alembic databases are built here as that code built them: the models'
tables without what later revisions added, plus ``schema_version`` with its
version row. Upgrading must keep their rows and end exactly at the models
(Alembic's own autogenerate comparison finds nothing to change).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from darkroom.db import SCHEMA_VERSION, Base, Database, Job, Photo, PhotoSession, alembic_config
from darkroom.realtime.eventlog import events_table

pytestmark = pytest.mark.databases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What each pre-Alembic schema version lacked, table -> columns, on top of the lease columns.
LEASES = {"jobs": {"lease_expires_at", "cancel_requested"}}
VERSION_2 = {**LEASES, "photos": {"rating", "flag", "color_label", "captured_at"},
             "sessions": {"develop_mode"}}
VERSION_1 = {**VERSION_2, "sessions": {"develop_mode", "library_folder", "backup_folder"}}


def _differences(db: Database) -> list:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, [Base.metadata, events_table.metadata])


def _pre_alembic(url: str, version: int, lacking: dict[str, set[str]]) -> Database:
    """A database as ``create_schema`` made it at ``version``, with a session, photo and job:
    today's tables without the tables, columns (and their indexes) added since, ``schema_version``."""
    db = Database(url)
    Base.metadata.create_all(db.engine)
    events_table.metadata.create_all(db.engine)
    with db.engine.begin() as conn:
        for table, columns in lacking.items():
            for index in Base.metadata.tables[table].indexes:
                if columns & {c.name for c in index.columns}:
                    conn.execute(text(f"DROP INDEX {index.name}"))
            for column in columns:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(text("DROP TABLE queue_state"))  # revision 0005
        if version == 1:
            conn.execute(text("DROP TABLE import_items"))
        conn.execute(text("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                          "applied_at TIMESTAMP)"))
        now = datetime.now(timezone.utc)
        conn.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (:v, :t)"),
                     {"v": version, "t": now})
        conn.execute(text("INSERT INTO sessions (id, name, import_folder, status, created_at, "
                          "updated_at) VALUES (1, 'Wedding', '/x', 'active', :t, :t)"), {"t": now})
        conn.execute(text("INSERT INTO photos (id, session_id, file_path, file_name, content_hash, "
                          "file_size, format, exif, status, imported_at, updated_at) VALUES "
                          "(1, 1, '/x/a.jpg', 'a.jpg', :h, 10, 'jpeg', '{}', 'queued', :t, :t)"),
                     {"t": now, "h": "a" * 64})
        conn.execute(text("INSERT INTO jobs (id, kind, photo_id, session_id, priority, preset, "
                          "status, progress, attempts, params, created_at) VALUES "
                          "(1, 'develop', 1, 1, 5, 'WhiteLayer_v4', 'pending', 0, 0, '{}', :t)"),
                     {"t": now})
    with db.engine.connect() as conn:
        have = {t: {c["name"] for c in inspect(conn).get_columns(t)} for t in lacking}
    assert all(not (have[t] & cols) for t, cols in lacking.items())
    return db


def test_an_empty_database_is_created_at_the_newest_revision(database_url):
    db = Database(database_url)
    try:
        assert db.schema_version() is None
        assert db.create_schema() == SCHEMA_VERSION == 5
        assert db.schema_version() == SCHEMA_VERSION
        assert _differences(db) == []
        assert "schema_version" not in inspect(db.engine).get_table_names()
        assert db.create_schema() == SCHEMA_VERSION  # again: nothing to do
    finally:
        db.dispose()


@pytest.mark.parametrize("version, lacking", [(3, LEASES), (2, VERSION_2), (1, VERSION_1)],
                         ids=["v3", "v2", "v1"])
def test_a_database_made_before_alembic_is_upgraded_in_place(database_url, version, lacking):
    db = _pre_alembic(database_url, version, lacking)
    try:
        assert db.schema_version() is None
        assert db.create_schema() == SCHEMA_VERSION
        assert _differences(db) == []
        with db.read() as s:  # the rows are still there, and the new columns have defaults
            session = s.get(PhotoSession, 1)
            photo = s.get(Photo, 1)
            job = s.get(Job, 1)
            assert (session.name, session.develop_mode) == ("Wedding", "all")
            assert (photo.content_hash, photo.rating, photo.flag) == ("a" * 64, 0, None)
            assert (job.status, job.cancel_requested, job.lease_expires_at) == ("pending", False, None)
    finally:
        db.dispose()


def test_downgrade_to_the_baseline_and_back(database_url):
    db = Database(database_url)
    try:
        db.create_schema()
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0003")
        assert db.schema_version() == 3
        columns = {c["name"] for c in inspect(db.engine).get_columns("jobs")}
        assert "lease_expires_at" not in columns
        assert db.create_schema() == SCHEMA_VERSION
        assert _differences(db) == []
    finally:
        db.dispose()


def _darkroom(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darkroom", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_darkroom_db_upgrade_and_current(database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DARKROOM_DATABASE_URL")}
    env["DARKROOM_DATABASE_URL"] = database_url
    env["DARKROOM_CONFIG"] = str(tmp_path / "none.toml")
    (tmp_path / "none.toml").write_text("")
    args = ("--data-dir", str(tmp_path / "data"))
    before = _darkroom("db", "current", *args, env=env)
    assert before.returncode == 0, before.stderr
    assert f"schema version none, newest {SCHEMA_VERSION}" in before.stdout
    up = _darkroom("db", "upgrade", *args, env=env)
    assert up.returncode == 0, up.stderr
    assert f"schema version {SCHEMA_VERSION} (was none)" in up.stdout
    again = _darkroom("db", "upgrade", *args, env=env)
    assert "already up to date" in again.stdout
    db = Database(database_url)
    try:
        assert db.schema_version() == SCHEMA_VERSION
        with db.read() as s:
            assert s.scalar(select(Job.id)) is None
    finally:
        db.dispose()
    bad = _darkroom("db", "sideways", *args, env=env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
