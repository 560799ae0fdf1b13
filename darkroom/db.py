"""The pipeline's database: SQLAlchemy 2 models and one engine/session factory per app.

SQLite (a file in the data directory) by default, any SQLAlchemy URL through
``DATABASE_URL``. The SQL stays portable (no SQLite-only types or upserts) so
PostgreSQL works unchanged. On SQLite the engine runs in WAL mode with a busy
timeout, and in-process writers take a lock so concurrent write transactions
queue up instead of failing with "database is locked".

The schema is made and upgraded by the Alembic revisions in
``darkroom/migrations/`` (``create_schema``: at every start, and by ``darkroom db
upgrade``). A change to the models below needs a new revision there; the
revision ids are the schema's version numbers.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Optional

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    false,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

log = logging.getLogger("darkroom.db")
# Alembic's own lines (every start) are noise; create_schema logs what it changed.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).with_name("migrations")
# PostgreSQL advisory lock key: processes starting together migrate one after the other.
MIGRATION_LOCK = 0x6461726B  # "dark"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(value: Optional[datetime]) -> Optional[str]:
    """ISO 8601 in UTC with a Z (SQLite gives naive datetimes back; they are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Base(DeclarativeBase):
    pass


class PhotoSession(Base):
    """A shoot: a folder of photos that are imported, developed and decided together."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    import_folder: Mapped[str] = mapped_column(Text)
    # active (hot folder watched), paused (not watched), completed (every photo decided)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
    completed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    # Copy on import: every photo is copied here (and to the backup folder), verified by
    # hash, and the photo points at the library copy. None: photos stay where they are.
    library_folder: Mapped[Optional[str]] = mapped_column(Text)
    backup_folder: Mapped[Optional[str]] = mapped_column(Text)
    # all: every imported photo is developed; picks: only flagged-pick or rated ones.
    develop_mode: Mapped[str] = mapped_column(String(10), default="all", server_default="all")


class Photo(Base):
    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_session_status", "session_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    file_path: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    file_size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(10))
    width: Mapped[Optional[int]] = mapped_column(Integer)
    height: Mapped[Optional[int]] = mapped_column(Integer)
    exif: Mapped[dict] = mapped_column(JSON, default=dict)
    analysis: Mapped[Optional[dict]] = mapped_column(JSON)
    ai_score: Mapped[Optional[float]] = mapped_column(Float)
    context_tag: Mapped[Optional[str]] = mapped_column(String(40))
    preset: Mapped[Optional[str]] = mapped_column(String(100))
    # imported -> analyzed -> queued -> developing -> developed | failed
    status: Mapped[str] = mapped_column(String(20), default="imported")
    # None until a person decides: approved | rejected
    decision: Mapped[Optional[str]] = mapped_column(String(20))
    decision_reason: Mapped[Optional[str]] = mapped_column(Text)
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    # A photographer's own marks, as Lightroom names them (XMP xmp:Rating, xmp:Label).
    rating: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    flag: Mapped[Optional[str]] = mapped_column(String(10))  # pick | reject | None
    color_label: Mapped[Optional[str]] = mapped_column(String(10))  # red ... purple | None
    # EXIF DateTimeOriginal (the gallery's default order); None when the file has none.
    captured_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), index=True)
    thumbnail_path: Mapped[Optional[str]] = mapped_column(Text)
    preview_path: Mapped[Optional[str]] = mapped_column(Text)
    developed_path: Mapped[Optional[str]] = mapped_column(Text)
    developed_preview_path: Mapped[Optional[str]] = mapped_column(Text)
    developed_thumbnail_path: Mapped[Optional[str]] = mapped_column(Text)
    error: Mapped[Optional[str]] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class Job(Base):
    """A unit of work for the worker pool: ``develop`` a photo or ``export`` one."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "priority", "created_at", "id"),
                      Index("ix_jobs_lease", "status", "lease_expires_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="develop")
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    priority: Mapped[int] = mapped_column(Integer, default=5)
    preset: Mapped[str] = mapped_column(String(100))
    # pending -> running -> completed | failed | cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    stage: Mapped[Optional[str]] = mapped_column(String(30))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[Optional[dict]] = mapped_column(JSON)
    error_message: Mapped[Optional[str]] = mapped_column(Text)
    error_details: Mapped[Optional[dict]] = mapped_column(JSON)
    worker: Mapped[Optional[str]] = mapped_column(String(60))
    # A running job's claim: its worker's heartbeat renews it; once past, the reaper
    # requeues the job (its worker died). In the database's clock, not a worker's.
    lease_expires_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    # Cancelled while running: its worker, in whichever process, stops at its next heartbeat.
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class Export(Base):
    """One exported file (or an attempt at one)."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id"), index=True)
    job_id: Mapped[Optional[int]] = mapped_column(ForeignKey("jobs.id"))
    destination: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(10))
    quality: Mapped[int] = mapped_column(Integer)
    long_edge: Mapped[Optional[int]] = mapped_column(Integer)
    # pending -> completed | failed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    output_path: Mapped[Optional[str]] = mapped_column(Text)
    file_size: Mapped[Optional[int]] = mapped_column(BigInteger)
    error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class QueueState(Base):
    """The job queue's own state, one row (``id`` 1, made by its migration): ``paused``
    holds every worker of every process sharing the database, and survives a restart."""

    __tablename__ = "queue_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportItem(Base):
    """One file of a folder import (or a hot-folder arrival), recorded before it is imported.

    ``pending`` until the import queue has dealt with it, then ``imported`` (``photo_id`` the
    new photo), ``duplicate`` (``photo_id`` the photo that already has this content) or
    ``refused`` (``code`` and ``reason`` say why). The photo's row and its item's
    ``imported`` are written in one transaction, so a crash imports a file once or not at
    all, and a restart resumes the ``pending`` ones. ``batch`` groups the files of one
    folder import (per session, counting up).
    """

    __tablename__ = "import_items"
    __table_args__ = (Index("ix_import_items_state", "state", "id"),
                      Index("ix_import_items_session_batch", "session_id", "batch", "state"),
                      Index("ix_import_items_path", "session_id", "path", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    batch: Mapped[int] = mapped_column(Integer, default=1)
    path: Mapped[str] = mapped_column(Text)
    # What the file was when it was recorded: a later import of the same path, size and
    # mtime is known to be a duplicate without reading it again.
    file_size: Mapped[Optional[int]] = mapped_column(BigInteger)
    mtime_ns: Mapped[Optional[int]] = mapped_column(BigInteger)
    # pending -> imported | duplicate | refused
    state: Mapped[str] = mapped_column(String(20), default="pending")
    code: Mapped[Optional[str]] = mapped_column(String(40))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    photo_id: Mapped[Optional[int]] = mapped_column(ForeignKey("photos.id"))
    # Copy on import: where the verified copies were written.
    library_path: Mapped[Optional[str]] = mapped_column(Text)
    backup_path: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class Database:
    """One engine and session factory; ``write()`` for transactions that change data."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            # Workers, services and request threads each hold a connection briefly.
            kwargs["pool_size"], kwargs["max_overflow"] = 8, 24
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite allows one writer; queue in-process writers here rather than in busy waits.
        self._write_lock = threading.RLock() if self.is_sqlite else contextlib.nullcontext()

    def create_schema(self) -> int:
        """Run every pending migration (Alembic ``upgrade head``); return the schema version.

        An empty database gets the whole schema; one made before Alembic is recognised
        by the baseline revision and completed in place. On PostgreSQL an advisory lock
        makes processes that start together migrate one at a time, in one transaction.
        """
        with self._write_lock, self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            before = MigrationContext.configure(conn).get_current_revision()
            command.upgrade(alembic_config(conn), "head")
            after = MigrationContext.configure(conn).get_current_revision()
        if before != after:
            log.info("database schema upgraded from %s to %s", before or "nothing", after)
        return int(after)

    def schema_version(self) -> Optional[int]:
        """The version the database is at (None: never migrated by Alembic)."""
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        return int(current) if current else None

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._factory() as s:
            yield s

    def writing(self):
        """Hold the in-process write lock (for Core writes that bypass ``write()``)."""
        return self._write_lock

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on error."""
        with self._write_lock:
            with self._factory() as s:
                with s.begin():
                    yield s

    def dispose(self) -> None:
        self.engine.dispose()


def safe_url(url: str) -> str:
    """The database URL without a password, for logs and messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


def alembic_config(connection=None) -> AlembicConfig:
    """Alembic's configuration, built in code: no ``alembic.ini`` at run time."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _head() -> int:
    return int(ScriptDirectory.from_config(alembic_config()).get_current_head())


SCHEMA_VERSION = _head()  # the newest revision's number


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
