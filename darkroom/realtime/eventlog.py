"""The durable, ordered event log: what lets a client that dropped catch up.

Every published event is appended here (through ``GroupCommitLog``, in ``seq``
order, committed behind delivery) as the exact JSON text clients receive. The log
belongs to an ``epoch``: an id created with the log, kept across restarts, new
when the log is lost. Retention keeps the newest ``max_events`` events no older
than ``max_age`` seconds, and never drops the newest one, so ``seq`` keeps
counting after a restart.

``EventLog`` is the small interface the hub needs; ``SqlEventLog`` keeps it in
the app's database (SQLite by default, PostgreSQL through ``DATABASE_URL``),
one commit per ``append``; the hub writes it through ``GroupCommitLog``
(group_commit.py), which commits behind delivery.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Collection, NamedTuple, Optional, Protocol

from sqlalchemy import BigInteger, Column, Float, MetaData, String, Table, Text, delete, func, insert, select

from darkroom.db import Database
from darkroom.periodic import Periodic

log = logging.getLogger("darkroom.eventlog")


class LogRow(NamedTuple):
    seq: int
    channel: str
    type: str
    created: float
    data: str  # the event's JSON text, exactly as delivered


class EventLog(Protocol):
    epoch: str
    lost_before: int  # no resume from a position before this seq can be complete

    def open(self) -> int: ...

    def append(self, rows: list[LogRow]) -> None: ...

    def read(self, since: int, until: Optional[int], channels: Optional[Collection[str]],
             limit: int) -> list[LogRow]: ...

    def oldest_seq(self) -> Optional[int]: ...

    def trim(self, max_events: int, max_age: float) -> int: ...

    def close(self) -> None: ...


_meta = MetaData()
events_table = Table(
    "event_log", _meta,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("channel", String(32), nullable=False, index=True),
    Column("type", String(64), nullable=False),
    Column("created", Float, nullable=False, index=True),
    Column("data", Text, nullable=False),
)
meta_table = Table(
    "event_log_meta", _meta,
    Column("key", String(32), primary_key=True),
    Column("value", String(64), nullable=False),
)


class SqlEventLog:
    lost_before = 0  # every append is committed before it returns

    def __init__(self, db: Database):
        self.db = db
        self.epoch = ""
        self._insert = ""
        self._writer = None

    def open(self) -> int:
        """Create the tables if needed; load or create the epoch; return the last ``seq``."""
        _meta.create_all(self.db.engine)
        mark = "?" if self.db.engine.dialect.paramstyle == "qmark" else "%s"
        columns = [c.name for c in events_table.columns]
        assert columns == list(LogRow._fields)
        self._insert = (f"INSERT INTO event_log ({', '.join(columns)}) "
                        f"VALUES ({', '.join([mark] * len(columns))})")
        with self.db.write() as s:
            epoch = s.scalar(select(meta_table.c.value).where(meta_table.c.key == "epoch"))
            if epoch is None:
                epoch = uuid.uuid4().hex[:16]
                s.execute(insert(meta_table).values(key="epoch", value=epoch))
                log.info("new event log", extra={"epoch": epoch})
            last = s.scalar(select(func.max(events_table.c.seq))) or 0
        self.epoch = epoch
        return int(last)

    def append(self, rows: list[LogRow]) -> None:
        """Commit ``rows`` (only the hub's dispatcher calls this, one batch at a time).

        This runs for every batch the hub publishes, so it keeps one driver
        connection of its own and hands it the rows as tuples: no pool checkout,
        ORM or statement compilation (a third of the CPU of a Core insert).
        """
        if not rows:
            return
        with self.db.writing():
            if self._writer is None:
                self._writer = self.db.engine.raw_connection()
            try:
                cursor = self._writer.cursor()
                cursor.executemany(self._insert, rows)
                cursor.close()
                self._writer.commit()
            except Exception:
                self._discard_writer()
                raise

    def get_meta(self, key: str) -> Optional[str]:
        with self.db.read() as s:
            return s.scalar(select(meta_table.c.value).where(meta_table.c.key == key))

    def set_meta(self, **values: str) -> None:
        """Set ``event_log_meta`` keys, committed before it returns."""
        with self.db.write() as s:
            s.execute(delete(meta_table).where(meta_table.c.key.in_(list(values))))
            s.execute(insert(meta_table), [{"key": k, "value": v} for k, v in values.items()])

    def _discard_writer(self) -> None:
        """Drop the writer after a failed batch: roll back first, or SQLite keeps its lock."""
        writer, self._writer = self._writer, None
        try:
            writer.rollback()
        except Exception:
            log.warning("event log writer could not roll back", exc_info=True)
        writer.invalidate()  # replaced by a fresh connection next time

    def read(self, since: int, until: Optional[int], channels: Optional[Collection[str]],
             limit: int) -> list[LogRow]:
        """Events with ``since < seq <= until`` on ``channels`` (all if None), oldest first."""
        q = select(events_table).where(events_table.c.seq > since)
        if until is not None:
            q = q.where(events_table.c.seq <= until)
        if channels is not None:
            q = q.where(events_table.c.channel.in_(list(channels)))
        q = q.order_by(events_table.c.seq).limit(limit)
        with self.db.read() as s:
            return [LogRow(r.seq, r.channel, r.type, r.created, r.data) for r in s.execute(q)]

    def oldest_seq(self) -> Optional[int]:
        with self.db.read() as s:
            return s.scalar(select(func.min(events_table.c.seq)))

    def trim(self, max_events: int, max_age: float) -> int:
        """Drop events beyond the retention; the newest event always stays."""
        with self.db.write() as s:
            newest = s.scalar(select(func.max(events_table.c.seq)))
            if newest is None:
                return 0
            cutoff = time.time() - max_age
            gone = s.execute(delete(events_table).where(
                events_table.c.seq < newest,
                (events_table.c.seq <= newest - max_events) | (events_table.c.created < cutoff),
            )).rowcount
        return gone or 0

    def close(self) -> None:
        """Give back the writer's connection (the app disposes of the engine)."""
        with self.db.writing():
            if self._writer is not None:
                self._writer.close()
                self._writer = None


class LogTrimmer(Periodic):
    """A service that applies the retention at start, then every ``period`` seconds."""

    def __init__(self, event_log: EventLog, max_events: int, max_age: float,
                 period: float = 60.0):
        super().__init__("log-trim", period)
        self.log = event_log
        self.max_events = max_events
        self.max_age = max_age

    def tick(self) -> None:
        gone = self.log.trim(self.max_events, self.max_age)
        if gone:
            log.info("trimmed event log", extra={"removed": gone})
