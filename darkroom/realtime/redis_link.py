"""A hub's link to the shared Redis stream: one thread publishes, one reads.

The hub's dispatcher never talks to Redis. It hands coalesced, serialised
events to ``send``, which only appends to a bounded buffer; the publisher
thread stores them with ``RedisEventLog.append`` (one script call per batch)
and only then settles their receipts. While Redis is unreachable it keeps
retrying with backoff, the buffer holds up to ``buffer_limit`` events and
refuses (and counts) the rest: publishing never blocks and never raises.

A batch that failed before it was sent (no connection) goes back to the
buffer, where it can still be withdrawn. One that failed after (its reply was
lost: Redis may have stored it) is sent again as it is, with the same id, until
Redis answers: stored once, never twice (see ``redis_log``).

The reader thread follows the stream with XREAD BLOCK from the last id it saw
and hands every entry, already stamped, to the hub (``feed``), so every process
delivers the stream in the stream's order. After a failure it reconnects and
resumes from that id; if Redis came back with another epoch (its data was
lost), it tells the hub (``reset``) and reads the new stream from its start.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from typing import Callable, NamedTuple, Optional

import redis

from darkroom.realtime.redis_log import IO_TIMEOUT, RedisEventLog, connect
from darkroom.realtime.stream_rows import Outgoing, entry_row

log = logging.getLogger("darkroom.bus")

_BATCH = 512  # events per script call
_READ_COUNT = 1024
_BLOCK_MS = 500  # how long one XREAD waits; bounds how long stop() waits for the reader
_BACKOFF_FIRST, _BACKOFF_MAX = 0.05, 2.0
_DRAIN_ON_STOP = 2.0  # seconds stop() lets the publisher store what is buffered
_MAX_QUEUED = 2048  # items waiting in the hub's queue above which the reader waits


class _Backoff:
    def __init__(self):
        self.delay = _BACKOFF_FIRST

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, _BACKOFF_MAX)
        return delay

    def reset(self) -> None:
        self.delay = _BACKOFF_FIRST


class _Unsure(NamedTuple):
    """A batch whose append failed after it was sent: it may be stored."""

    id: str
    epoch: str  # the stream's epoch when it was first sent
    rows: list[Outgoing]


class RedisLink:
    kind = "redis"

    def __init__(self, url: str, event_log: RedisEventLog, buffer_limit: int, read: bool = True):
        self.url = url
        self.log = event_log
        self.buffer_limit = buffer_limit
        self.read = read
        self._buffer: collections.deque[Outgoing] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._feed: Callable[[list], None] = lambda rows: None
        self._queued: Callable[[], int] = lambda: 0
        self._reset: Callable[[str], None] = lambda epoch: None
        self._last_id = "0-0"
        self._epoch = ""
        self.publisher_ok = True
        self.reader_ok = True
        self.reconnects = 0
        self.dropped = 0
        self.lag_ms = 0.0
        self.last_error: Optional[str] = None

    # --- lifecycle -------------------------------------------------------------

    def start(self, seq: int, feed: Callable[[list], None], reset: Callable[[str], None],
              queued: Optional[Callable[[], int]] = None) -> None:
        """Follow the stream after ``seq`` (the hub's position) and publish what is sent.

        ``queued``: how much the hub has yet to take; the reader waits while it is
        over ``_MAX_QUEUED`` (what the hub cannot take yet stays in Redis, not in memory).
        """
        self._feed, self._reset = feed, reset
        if queued is not None:
            self._queued = queued
        self._last_id = f"{seq}-0"
        self._epoch = self.log.epoch
        self._threads = [threading.Thread(target=self._publish_loop, name="darkroom-bus-publish",
                                          daemon=True)]
        if self.read:
            self._threads.append(threading.Thread(target=self._read_loop, name="darkroom-bus-read",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Store what is buffered (for a short while), refuse the rest, stop both threads."""
        deadline = time.monotonic() + _DRAIN_ON_STOP
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        publisher = self._threads[0] if self._threads else None
        if publisher is not None:
            publisher.join(timeout=max(0.0, deadline - time.monotonic()) + IO_TIMEOUT)
        self._stop.set()
        for thread in self._threads[1:]:
            thread.join(timeout=_BLOCK_MS / 1000 + IO_TIMEOUT)
        self._refuse(self._take_all())

    # --- publishing --------------------------------------------------------------

    def send(self, rows: list[Outgoing]) -> None:
        """Buffer ``rows`` for the publisher; what does not fit is refused now. Never blocks."""
        with self._cond:
            room = self.buffer_limit - len(self._buffer)
            if self._stopping:
                room = 0
            self._buffer.extend(rows[:max(room, 0)])
            refused = rows[max(room, 0):]
            self._cond.notify()
        if refused:
            self.dropped += len(refused)
            log.warning("bus buffer full: events refused", extra={"count": len(refused)})
            self._refuse(refused)

    def withdraw(self, receipt) -> bool:
        """Take back a buffered event that waits for ``receipt`` (settled as not stored).

        False once it is on its way (or stored): its outcome will settle the receipt.
        """
        with self._cond:
            for row in self._buffer:
                if row.receipt is receipt:
                    self._buffer.remove(row)
                    break
            else:
                return False
        receipt._settle(None, False)
        return True

    def _take(self, probe: float) -> Optional[list[Outgoing]]:
        """The next batch; [] after ``probe`` seconds without one (0: wait for one);
        None once stopping with nothing left."""
        with self._cond:
            if not self._buffer and not self._stopping:
                self._cond.wait(probe or None)
                while not probe and not self._buffer and not self._stopping:
                    self._cond.wait()
            if not self._buffer and self._stopping:
                return None
            n = min(len(self._buffer), _BATCH)
            return [self._buffer.popleft() for _ in range(n)]

    def _take_all(self) -> list[Outgoing]:
        with self._cond:
            rows = list(self._buffer)
            self._buffer.clear()
        return rows

    @staticmethod
    def _refuse(rows: list[Outgoing]) -> None:
        for row in rows:
            if row.receipt is not None:
                row.receipt._settle(None, False)

    def _publish_loop(self) -> None:
        client = connect(self.url)
        backoff = _Backoff()
        deadline = None
        unsure: Optional[_Unsure] = None
        while True:
            if unsure is None:
                # While the link is down, Redis is probed even with nothing to send, so the
                # link recovers (and broadcasts are taken again) without waiting for an event.
                batch = self._take(0 if self.publisher_ok else backoff.next())
                if batch is None:
                    break
                attempt = _Unsure(uuid.uuid4().hex[:16], self.log.epoch, batch)
            else:
                attempt, batch = unsure, unsure.rows
            sent, stored = False, True
            try:
                pool = client.connection_pool
                pool.release(pool.get_connection())  # connected, or raises with nothing sent
                sent = True
                if batch:
                    stored = self.log.append(batch, attempt.id,
                                             unsure.epoch if unsure else "", client)
                else:
                    client.ping()
            except Exception as exc:
                self._failed("publish", exc)
                self.publisher_ok = False
                with self._cond:
                    if unsure is not None or (sent and batch):
                        unsure = attempt  # may be stored: only ever sent again as it is
                    else:
                        self._buffer.extendleft(reversed(batch))
                    if self._stopping:
                        deadline = deadline or time.monotonic() + _DRAIN_ON_STOP
                        if time.monotonic() > deadline:
                            break
                    if batch:
                        self._cond.wait(backoff.next())
                continue
            unsure = None
            if not self.publisher_ok:
                self.publisher_ok = True
                self.reconnects += 1
                log.info("bus: publishing again", extra={"buffered": len(self._buffer)})
            backoff.reset()
            if batch and not stored:
                self.dropped += len(batch)
                log.warning("bus: Redis lost its data while a batch's reply was lost; not "
                            "storing it in the new epoch", extra={"count": len(batch)})
            for row in batch:
                if row.receipt is not None:
                    row.receipt._settle(row.seq if stored else None, stored)
        if unsure is not None:
            self._refuse(unsure.rows)
        client.close()

    # --- reading -----------------------------------------------------------------

    def _read_loop(self) -> None:
        backoff = _Backoff()
        client: Optional[redis.Redis] = None
        stream = self.log.keys.stream
        while not self._stop.is_set():
            try:
                if client is None:
                    client = connect(self.url, timeout=IO_TIMEOUT + _BLOCK_MS / 1000)
                    self._check_epoch(client)
                    if not self.reader_ok:
                        self.reconnects += 1
                        log.info("bus: reading again", extra={"after": self._last_id})
                    self.reader_ok = True
                    backoff.reset()
                while self._queued() > _MAX_QUEUED and not self._stop.is_set():
                    time.sleep(0.002)
                answer = client.xread({stream: self._last_id}, count=_READ_COUNT, block=_BLOCK_MS)
            except Exception as exc:
                self._failed("read", exc)
                self.reader_ok = False
                if client is not None:
                    client.close()
                    client = None
                self._stop.wait(backoff.next())
                continue
            if answer:
                entries = answer[0][1]
                rows = [entry_row(entry_id, fields) for entry_id, fields in entries]
                self._last_id = entries[-1][0].decode()
                self.lag_ms = round(max(0.0, time.time() - rows[-1].created) * 1000, 3)
                self._feed(rows)
        if client is not None:
            client.close()

    def _check_epoch(self, client: redis.Redis) -> None:
        epoch = self.log.ensure_epoch(client)
        if epoch != self._epoch:
            log.warning("bus: Redis has another epoch (its data was lost); starting over",
                        extra={"old": self._epoch, "epoch": epoch})
            self._epoch = epoch
            self.log.epoch = epoch
            self._last_id = "0-0"
            self._reset(epoch)

    def _failed(self, what: str, exc: Exception) -> None:
        self.last_error = f"{what}: {type(exc).__name__}: {exc}"[:300]
        log.warning("bus: Redis unreachable", extra={"during": what, "error": str(exc)[:200]})

    # --- health ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.publisher_ok and self.reader_ok

    def health(self) -> dict:
        return {"kind": self.kind, "connected": self.connected, "lag_ms": self.lag_ms,
                "reconnects": self.reconnects, "buffered": len(self._buffer),
                "dropped": self.dropped, "last_error": self.last_error}
