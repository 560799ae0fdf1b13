"""The event log as the hub writes it (README "Nothing lost"), on a real SQLite file and
a real PostgreSQL database: committed behind delivery, many events per commit, every
read waiting for what was handed over, and a reservation so a crash never reuses a seq
or lets a resume pass over events it may have lost."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Callable, Iterator

import pytest

from darkroom.db import Database
from darkroom.realtime.eventlog import LogRow, SqlEventLog
from darkroom.realtime.group_commit import GroupCommitLog

pytestmark = pytest.mark.databases

SLOW = 3600.0  # an interval no test waits out: only a reader or a receipt makes a commit


@pytest.fixture
def open_log(database_url) -> Iterator[Callable[..., GroupCommitLog]]:
    """``open_log(interval=...)`` -> a log opened on this test's database; again: a restart."""
    opened: list[GroupCommitLog] = []

    def open_(interval: float = SLOW) -> GroupCommitLog:
        log = GroupCommitLog(SqlEventLog(Database(database_url)), interval=interval, reserve=100)
        log.last_seq = log.open()
        opened.append(log)
        return log

    yield open_
    for log in opened:
        if log._thread is not None:
            log.close()
        log.store.db.dispose()


def rows(first: int, last: int) -> list[LogRow]:
    return [LogRow(s, "jobs", "tick", time.time(), json.dumps({"type": "tick", "seq": s}))
            for s in range(first, last + 1)]


def stored(log: GroupCommitLog) -> list[int]:
    """What the store itself holds, without waiting for the writer."""
    return [r.seq for r in log.store.read(0, None, None, 10_000)]


def counting_commits(log: GroupCommitLog) -> list[int]:
    sizes: list[int] = []
    original = log.store.append

    def append(batch):
        original(batch)
        sizes.append(len(batch))

    log.store.append = append
    return sizes


def test_a_read_finds_every_event_handed_over(open_log):
    log = open_log()
    for seq in range(1, 6):
        log.append(rows(seq, seq))
    assert stored(log) == []  # behind delivery: nothing committed yet
    assert [r.seq for r in log.read(0, None, None, 100)] == [1, 2, 3, 4, 5]
    assert log.oldest_seq() == 1


def test_a_trickle_is_committed_as_one_batch(open_log):
    log = open_log()
    sizes = counting_commits(log)
    for seq in range(1, 21):
        log.append(rows(seq, seq))
    log.flush()
    assert sizes == [20] and stored(log) == list(range(1, 21))


def test_the_writer_commits_by_itself_within_its_interval(open_log):
    log = open_log(interval=0.05)
    done = threading.Event()
    log.append(rows(1, 1), lambda ok: done.set())
    assert done.wait(10) and stored(log) == [1]


def test_an_idle_writer_is_woken_by_the_next_batch(open_log):
    """Each batch comes after the one before is committed, mostly to a writer already
    waiting for work: that writer must be woken, not left waiting."""
    log = open_log(interval=0.0)
    for seq in range(1, 21):
        done = threading.Event()
        log.append(rows(seq, seq), lambda ok, done=done: done.set())
        assert done.wait(10), f"batch {seq} was never committed"
    assert stored(log) == list(range(1, 21))


def test_an_urgent_batch_is_committed_without_waiting_for_the_interval(open_log):
    log = open_log()
    outcome: list[bool] = []
    done = threading.Event()
    log.append(rows(1, 2))
    log.append(rows(3, 3), lambda ok: (outcome.append(ok), done.set()), urgent=True)
    assert done.wait(10) and outcome == [True]
    assert stored(log) == [1, 2, 3]


def test_a_batch_the_store_refuses_is_reported_and_marks_a_hole(open_log):
    log = open_log()
    log.append(rows(1, 3))
    log.flush()
    outcome: list[bool] = []
    log.append(rows(3, 5), outcome.append)  # seq 3 again: the store refuses the batch
    log.flush()
    assert outcome == [False] and log.lost_before == 5
    log.append(rows(6, 6), outcome.append)
    log.flush()
    assert outcome == [False, True] and stored(log) == [1, 2, 3, 6]


def test_the_reservation_is_committed_before_append_returns(open_log):
    log = open_log()
    log.append(rows(1, 1))
    assert int(log.store.get_meta("reserved")) == 101  # before any commit of the events
    assert stored(log) == []
    log.append(rows(2, 100))
    assert int(log.store.get_meta("reserved")) == 101
    log.append(rows(101, 102))
    assert int(log.store.get_meta("reserved")) == 202


def test_a_clean_close_continues_where_it_stopped(open_log):
    first = open_log()
    first.append(rows(1, 7))
    first.close()
    again = open_log()
    assert (again.last_seq, again.lost_before, again.epoch) == (7, 0, first.epoch)
    assert [r.seq for r in again.read(0, None, None, 100)] == list(range(1, 8))


CRASH = """
import os, sys, time
from darkroom.db import Database
from darkroom.realtime.eventlog import LogRow, SqlEventLog
from darkroom.realtime.group_commit import GroupCommitLog
log = GroupCommitLog(SqlEventLog(Database(sys.argv[1])), interval=3600.0, reserve=100)
log.open()
log.append([LogRow(s, "jobs", "tick", time.time(), "{}") for s in range(1, 6)])
log.flush()
log.append([LogRow(6, "jobs", "tick", time.time(), "{}")])  # delivered, never committed
os._exit(0)
"""


def test_after_a_crash_no_seq_is_reused_and_no_resume_crosses_the_gap(open_log, database_url):
    subprocess.run([sys.executable, "-c", CRASH, database_url], check=True, timeout=60)
    after = open_log()
    assert after.last_seq == 105 and after.lost_before == 105
    assert [r.seq for r in after.read(0, None, None, 100)] == [1, 2, 3, 4, 5]
    after.append(rows(106, 107))
    after.close()
    again = open_log()  # a clean restart keeps the gap on record
    assert (again.last_seq, again.lost_before) == (107, 105)


def test_a_batch_that_cannot_be_reserved_goes_out_live_only_and_marks_a_hole(tmp_path):
    """The database refuses the reservation (a full disk): the batch is reported as not
    stored at once and no resume may cross it; the log carries on once it can reserve."""
    log = GroupCommitLog(SqlEventLog(Database(f"sqlite:///{tmp_path / 'log.db'}")),
                         interval=SLOW, reserve=100)
    log.open()
    try:
        with log.store.db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TRIGGER no_meta BEFORE INSERT ON event_log_meta "
                                 "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        outcome: list[bool] = []
        log.append(rows(1, 3), outcome.append)
        assert outcome == [False] and log.lost_before == 3
        with log.store.db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER no_meta")
        log.append(rows(4, 4), outcome.append)
        log.flush()
        assert outcome == [False, True] and stored(log) == [4]
    finally:
        log.close()
        log.store.db.dispose()
