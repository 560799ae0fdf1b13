"""A client's outbox without a socket: frames wait in memory until the client takes them.

For transports whose client fetches what waits (long polling): the interface
the hub uses is ``Outbox``'s (``write``, ``pending``, ``high_water``,
``superseded``, ``owner``, ``close_with``, ``stop_accepting``, ``wait_drained``,
``shutdown``) with the same rules:

- frames are kept whole and in order;
- a frame carrying state (a key) replaces a superseded one still waiting, and
  goes last, so order holds;
- over ``limit`` bytes waiting, ``on_slow`` is called (the hub drops the client
  as slow; it resumes with ``since``), exactly as for a socket's outbox;
- ``close_with`` drops what waits and queues the close notice last.

``take(timeout)`` hands everything that waits to the one client request
allowed to wait for it (a newer one takes over and the older returns empty).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Optional


class _Entry:
    __slots__ = ("data", "key", "alive")

    def __init__(self, data: bytes, key):
        self.data = data
        self.key = key
        self.alive = True


class MemoryOutbox:
    raw = None  # no socket

    def __init__(self, limit: int, on_slow: Callable[["MemoryOutbox"], None]):
        self.limit = limit
        self.on_slow = on_slow
        self.lock = threading.Lock()
        self._changed = threading.Condition(self.lock)
        self._queue: deque[_Entry] = deque()
        self._by_key: dict = {}
        self._pending = 0
        self._accepting = True
        self._closed = False  # close_with was called: the close notice is (or was) queued
        self._drained = threading.Event()
        self._drained.set()
        self._taker = 0  # generation of the request allowed to take
        self.last_progress = time.monotonic()
        self.high_water = 0
        self.superseded = 0
        self.owner = None  # the hub's Client, set once registered
        # While set, frames are offered to it first; True means it took the frame
        # (a reply a request is waiting for, which then skips the queue).
        self.intercept: Optional[Callable[[bytes], bool]] = None

    def write(self, frames: list[tuple[object, bytes]]) -> bool:
        with self.lock:
            if not self._accepting:
                return False
            intercept = self.intercept
            for key, frame in frames:
                if intercept is not None and key is None and intercept(frame):
                    continue
                if key is not None:
                    old = self._by_key.get(key)
                    if old is not None and old.alive:
                        old.alive = False
                        self._pending -= len(old.data)
                        self.superseded += 1
                entry = _Entry(frame, key)
                if key is not None:
                    self._by_key[key] = entry
                self._queue.append(entry)
                self._pending += len(frame)
            if self._queue:
                self._drained.clear()
                self._changed.notify_all()
            if self._pending > self.high_water:
                self.high_water = self._pending
            overflow = self._pending > self.limit
        if overflow:
            self.on_slow(self)
        return True

    def take(self, timeout: float) -> list[bytes]:
        """Every frame that waits, at once if any, else as soon as one comes (within
        ``timeout`` s); empty on timeout or when a newer ``take`` took over."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self.lock:
            self._taker += 1
            me = self._taker
            self._changed.notify_all()  # an older taker steps aside
            while not self._queue:
                left = deadline - time.monotonic()
                if left <= 0 or self._taker != me or not self._accepting:
                    return []
                self._changed.wait(left)
            out = [e.data for e in self._queue if e.alive]
            self._queue.clear()
            self._by_key.clear()
            self._pending = 0
            self.last_progress = time.monotonic()
            self._drained.set()
            return out

    def pending(self) -> int:
        return self._pending

    def stalled_for(self, now: float) -> float:
        return now - self.last_progress if self._queue else 0.0

    @property
    def closed(self) -> bool:
        """``close_with`` was called (the close notice waits, or was taken)."""
        return self._closed

    @property
    def accepting(self) -> bool:
        return self._accepting

    def close_with(self, close_frame: bytes) -> None:
        """Drop what waits, queue ``close_frame`` last and accept nothing more."""
        with self.lock:
            if not self._accepting:
                return
            self._queue.clear()
            self._by_key.clear()
            self._queue.append(_Entry(close_frame, None))
            self._pending = len(close_frame)
            self._accepting = False
            self._closed = True
            self._drained.clear()
            self._changed.notify_all()

    def stop_accepting(self) -> None:
        with self.lock:
            self._accepting = False
            self._changed.notify_all()

    def wait_drained(self, timeout: float) -> bool:
        return self._drained.wait(timeout)

    def shutdown(self) -> None:
        """Drop everything and wake whoever waits to take."""
        with self.lock:
            self._accepting = False
            self._queue.clear()
            self._by_key.clear()
            self._pending = 0
            self._drained.set()
            self._taker += 1
            self._changed.notify_all()
