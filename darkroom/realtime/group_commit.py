"""The event log as the hub writes it: commits behind delivery, many events per commit.

Why: one commit costs the same whether it holds one event or a thousand, and
at a steady trickle (100 events/s) each commit finds the CPU's caches cold:
about 200 µs of CPU per event on SQLite, more than fanning the event out to a
hundred clients costs. ``GroupCommitLog`` wraps the store (``SqlEventLog``):

- ``append`` takes a stamped batch and returns at once; a writer thread
  commits everything waiting in one transaction, at most every ``interval``
  seconds, or at once when somebody waits (a publisher's receipt, a reader);
- every read (a replay, ``/api/events``, a long poll, ``oldest_seq``, the trim) first
  waits for what was handed over, so whoever saw a ``seq`` finds it in the log;
- ``settled(stored)`` tells the hub about each batch once the store took it or
  refused it (then ``lost_before`` moves: no resume may cross the hole).

Events are delivered before they are committed, so a crash (kill -9, power)
can lose the last ``interval`` of them after clients saw them. The log keeps a
*reservation* for that: before any event beyond it is handed over, the highest
``seq`` that may be in use is committed (``RESERVE`` ahead). A clean ``close``
releases it; ``open`` after a crash finds it above the last stored event,
continues numbering after it (a ``seq`` is never used twice) and records that
no position before it can be resumed (``lost_before``, kept across restarts).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Collection, Optional

from darkroom.realtime.eventlog import LogRow, SqlEventLog

log = logging.getLogger("darkroom.eventlog")

INTERVAL = 0.05  # seconds between commits at most, while nobody waits for one
RESERVE = 10_000  # seq numbers reserved ahead, so a crash never reuses one
FLUSH_TIMEOUT = 30.0

Settled = Callable[[bool], None]


class GroupCommitLog:
    """An ``EventLog`` whose ``append`` never waits for the database."""

    def __init__(self, store: SqlEventLog, interval: float = INTERVAL, reserve: int = RESERVE):
        self.store = store
        self.interval = interval
        self.reserve = reserve
        self.lost_before = 0  # a resume from before this seq cannot be complete
        self._cond = threading.Condition()
        self._pending: list[tuple[list[LogRow], Optional[Settled]]] = []
        self._urgent = False
        self._stopping = False
        self._appended = 0  # the newest seq handed over
        self._done = 0  # the newest seq committed or refused
        self._reserved = 0  # the newest seq the store's reservation covers
        self._last_commit = 0.0
        self._resting = False  # the writer waits out its interval after a commit
        self._thread: Optional[threading.Thread] = None

    @property
    def epoch(self) -> str:
        return self.store.epoch

    def open(self) -> int:
        """Open the store and start the writer; return the ``seq`` to continue after."""
        last = self.store.open()
        reserved = int(self.store.get_meta("reserved") or 0)
        self.lost_before = int(self.store.get_meta("lost_before") or 0)
        if reserved > max(last, self.lost_before):  # the last run did not release it: a crash
            self.lost_before = reserved
            self.store.set_meta(lost_before=str(self.lost_before))
            log.warning("the event log was not closed: events after it may have been "
                        "delivered and lost, so no resume from before this seq is complete",
                        extra={"last_stored": last, "seq": reserved})
            last = reserved
        self._appended = self._done = self._reserved = last
        self._last_commit = time.monotonic()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="darkroom-log-writer", daemon=True)
        self._thread.start()
        return last

    def append(self, rows: list[LogRow], settled: Optional[Settled] = None,
               urgent: bool = False) -> None:
        """Hand over a stamped batch (the dispatcher's thread, in ``seq`` order).

        Blocks only to extend the reservation, once every ``reserve`` events.
        ``urgent``: somebody waits for this batch, so it is committed now.
        """
        if not rows:
            return
        newest = rows[-1].seq
        if newest > self._reserved:
            try:
                self.store.set_meta(reserved=str(newest + self.reserve))
            except Exception:  # the database fails: this batch can only go out live
                log.exception("event log: could not reserve seq numbers; events delivered "
                              "live only", extra={"first_seq": rows[0].seq, "count": len(rows)})
                with self._cond:
                    self.lost_before = max(self.lost_before, newest)
                if settled is not None:
                    settled(False)
                return
            self._reserved = newest + self.reserve
        with self._cond:
            idle = not self._pending
            self._pending.append((rows, settled))
            self._appended = newest
            if urgent:
                self._urgent = True
            if urgent or (idle and not self._resting):  # a resting writer looks when it is due
                self._cond.notify_all()

    def flush(self, timeout: float = FLUSH_TIMEOUT) -> None:
        """Wait until everything handed over so far is committed (or refused)."""
        with self._cond:
            target = self._appended
            if self._done >= target:
                return
            self._urgent = True
            self._cond.notify_all()
            if not self._cond.wait_for(lambda: self._done >= target, timeout):
                raise TimeoutError("the event log writer did not catch up")

    def read(self, since: int, until: Optional[int], channels: Optional[Collection[str]],
             limit: int) -> list[LogRow]:
        self.flush()
        return self.store.read(since, until, channels, limit)

    def oldest_seq(self) -> Optional[int]:
        self.flush()
        return self.store.oldest_seq()

    def trim(self, max_events: int, max_age: float) -> int:
        self.flush()  # the retention counts every event published so far
        return self.store.trim(max_events, max_age)

    def close(self) -> None:
        """Commit what waits, release the reservation, close the store."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=FLUSH_TIMEOUT)
            if self._thread.is_alive():
                log.error("the event log writer did not stop; the reservation is kept")
                return
            self._thread = None
        try:
            self.store.set_meta(reserved=str(self._done))
        except Exception:
            log.exception("could not release the event log's reservation")
        self.store.close()

    def _run(self) -> None:
        """Commit, rest out the interval, commit what came meanwhile: one wake-up a commit."""
        while True:
            with self._cond:
                due = self._last_commit + self.interval
                self._resting = True
                while not (self._urgent or self._stopping):
                    left = due - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                self._resting = False
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return
                batch, self._pending, self._urgent = self._pending, [], False
            self._commit(batch)

    def _commit(self, batch: list[tuple[list[LogRow], Optional[Settled]]]) -> None:
        rows = [row for part, _ in batch for row in part]
        try:
            self.store.append(rows)
            stored = True
        except Exception:
            stored = False
            log.exception("event log append failed; events delivered live only",
                          extra={"first_seq": rows[0].seq, "count": len(rows)})
        self._last_commit = time.monotonic()
        with self._cond:
            if not stored:
                self.lost_before = max(self.lost_before, rows[-1].seq)
            self._done = rows[-1].seq
            self._cond.notify_all()
        for _, settled in batch:
            if settled is not None:
                try:
                    settled(stored)
                except Exception:
                    log.exception("event log: a batch's callback failed")
