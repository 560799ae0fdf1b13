"""The SQL event log (README "Nothing lost"), on a real SQLite file and a real PostgreSQL
database (the ``databases`` mark runs every test here on both): epochs, exact round trips,
range reads, atomic batches and the retention that always keeps the newest event."""

from __future__ import annotations

import json
import time
from typing import Callable, Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from darkroom.db import Database
from darkroom.realtime.eventlog import LogRow, LogTrimmer, SqlEventLog

pytestmark = pytest.mark.databases


@pytest.fixture
def open_log(database_url) -> Iterator[Callable[[], SqlEventLog]]:
    """``open_log()`` -> a log opened on this test's database; a second call is a restart."""
    opened: list[SqlEventLog] = []

    def open_() -> SqlEventLog:
        log = SqlEventLog(Database(database_url))
        log.last_seq = log.open()
        opened.append(log)
        return log

    yield open_
    for log in opened:
        log.close()
        log.db.dispose()


def rows(first: int, last: int, channel: str = "jobs", created: float | None = None) -> list[LogRow]:
    now = time.time() if created is None else created
    return [LogRow(s, channel, "tick", now, json.dumps({"type": "tick", "seq": s}))
            for s in range(first, last + 1)]


def seqs(found: list[LogRow]) -> list[int]:
    return [r.seq for r in found]


def test_a_new_log_starts_at_zero_with_an_epoch(open_log):
    log = open_log()
    assert log.last_seq == 0 and log.oldest_seq() is None
    assert len(log.epoch) == 16 and int(log.epoch, 16) >= 0


def test_a_restart_keeps_the_epoch_and_the_last_seq(open_log):
    first = open_log()
    first.append(rows(1, 5))
    again = open_log()
    assert (again.epoch, again.last_seq) == (first.epoch, 5)


def test_another_database_has_another_epoch(open_log, tmp_path):
    other = SqlEventLog(Database(f"sqlite:///{tmp_path / 'other.db'}"))
    try:
        assert other.open() == 0 and other.epoch != open_log().epoch
    finally:
        other.db.dispose()


def test_rows_come_back_exactly_as_appended(open_log):
    """Replay sends the stored text itself, so it must be byte-for-byte what was delivered."""
    log = open_log()
    text = json.dumps({"type": "photo_imported", "file_name": "Ångström ☀ \"q\" \\ 日本.jpg",
                       "seq": 1}, ensure_ascii=False)
    row = LogRow(1, "photos", "photo_imported", 1762691696.789123, text)
    big = LogRow(2**40, "system", "custom_event", 1.5, "x" * 100_000)
    log.append([row, big])
    assert log.read(0, None, None, 10) == [row, big]


def test_read_is_after_since_up_to_until_oldest_first(open_log):
    log = open_log()
    log.append(rows(1, 10))
    assert seqs(log.read(3, None, None, 100)) == list(range(4, 11))
    assert seqs(log.read(3, 6, None, 100)) == [4, 5, 6]
    assert seqs(log.read(10, None, None, 100)) == []
    assert seqs(log.read(0, 0, None, 100)) == []


def test_read_pages_with_limit(open_log):
    log = open_log()
    log.append(rows(1, 10))
    page = log.read(0, None, None, 4)
    assert seqs(page) == [1, 2, 3, 4]
    assert seqs(log.read(page[-1].seq, None, None, 4)) == [5, 6, 7, 8]


def test_read_filters_channels(open_log):
    log = open_log()
    log.append(rows(1, 3, "jobs") + rows(4, 6, "photos") + rows(7, 8, "system"))
    assert seqs(log.read(0, None, ["jobs", "system"], 100)) == [1, 2, 3, 7, 8]
    assert seqs(log.read(0, None, {"photos"}, 100)) == [4, 5, 6]
    assert seqs(log.read(0, None, [], 100)) == []
    assert seqs(log.read(0, None, None, 100)) == list(range(1, 9))


def test_appended_batches_are_read_in_seq_order(open_log):
    log = open_log()
    log.append(rows(4, 6))
    log.append(rows(1, 3))
    assert seqs(log.read(0, None, None, 100)) == [1, 2, 3, 4, 5, 6]


def test_an_empty_batch_is_nothing(open_log):
    log = open_log()
    log.append([])
    assert log.read(0, None, None, 10) == []


def append_failing(log: SqlEventLog, batch: list[LogRow]) -> str:
    """Append a batch that must fail; return the error text, as the hub's dispatcher logs it."""
    try:
        log.append(batch)
    except Exception as exc:  # the driver's own IntegrityError / UniqueViolation
        return str(exc).lower()
    raise AssertionError("the batch was stored")


def test_a_failed_batch_stores_none_of_its_rows_and_the_log_goes_on(open_log):
    """A batch is one transaction; after a failure the writer's connection is replaced."""
    log = open_log()
    log.append(rows(1, 2))
    error = append_failing(log, rows(3, 4) + rows(2, 2))  # seq 2 is already there
    assert "unique" in error or "duplicate" in error
    assert seqs(log.read(0, None, None, 10)) == [1, 2]
    log.append(rows(3, 4))
    assert seqs(log.read(0, None, None, 10)) == [1, 2, 3, 4]


def test_a_failed_batch_holds_no_lock_while_its_error_is_still_referenced(open_log, database_url):
    """A logging handler that keeps records (pytest's, Sentry's) keeps the traceback and
    with it the failed cursor; the database must not stay locked for other writers."""
    log = open_log()
    log.append(rows(1, 1))
    with pytest.raises(Exception) as kept:
        log.append(rows(1, 1))
    probe = create_engine(database_url, connect_args={"timeout": 0} if database_url.startswith("sqlite") else {},
                          poolclass=NullPool)
    try:
        with probe.connect() as conn:
            if database_url.startswith("sqlite"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("LOCK TABLE event_log IN ACCESS EXCLUSIVE MODE NOWAIT")
            conn.rollback()
    finally:
        probe.dispose()
    assert kept.value is not None


def test_append_after_close_reconnects(open_log):
    log = open_log()
    log.append(rows(1, 1))
    log.close()
    log.append(rows(2, 2))
    assert seqs(log.read(0, None, None, 10)) == [1, 2]


def test_appends_are_committed_for_other_connections(open_log):
    """Another process (the next app after a restart) sees every appended batch."""
    log = open_log()
    log.append(rows(1, 3))
    other = open_log()
    assert other.last_seq == 3 and seqs(other.read(0, None, None, 10)) == [1, 2, 3]


def test_trim_keeps_the_newest_max_events(open_log):
    log = open_log()
    log.append(rows(1, 20))
    assert log.trim(max_events=5, max_age=3600) == 15
    assert log.oldest_seq() == 16 and seqs(log.read(0, None, None, 100)) == [16, 17, 18, 19, 20]
    assert log.trim(max_events=5, max_age=3600) == 0


def test_trim_drops_events_older_than_max_age(open_log):
    log = open_log()
    log.append(rows(1, 5, created=time.time() - 100))
    log.append(rows(6, 8))
    assert log.trim(max_events=1000, max_age=50) == 5
    assert log.oldest_seq() == 6


def test_trim_never_drops_the_newest_event(open_log):
    """So that ``seq`` keeps counting after a restart, however old the log is."""
    log = open_log()
    log.append(rows(1, 10, created=time.time() - 1000))
    assert log.trim(max_events=100, max_age=10) == 9
    assert log.trim(max_events=0, max_age=0) == 0
    assert log.oldest_seq() == 10
    assert open_log().last_seq == 10


def test_trim_of_an_empty_log(open_log):
    assert open_log().trim(max_events=0, max_age=0) == 0


def test_the_trimmer_applies_the_retention(open_log):
    log = open_log()
    log.append(rows(1, 10))
    LogTrimmer(log, max_events=3, max_age=3600).tick()
    assert log.oldest_seq() == 8
