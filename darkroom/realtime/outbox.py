"""The one write path to every client socket: non-blocking writes, a bounded outbox.

Transport-agnostic: an ``Outbox`` writes whole frames (bytes a transport has
already framed: WebSocket frames, SSE records, HTTP chunks) to one socket, and
every byte a client receives goes through it, under one lock:

- a write is tried at once with a non-blocking ``send``; whatever the kernel
  does not take waits in the outbox, behind which later frames queue (frames
  are never interleaved or reordered);
- a frame carrying state (a key) replaces a superseded one still waiting;
- one shared ``Flusher`` thread drains every outbox as sockets become writable;
- an outbox over its byte limit, or one that made no progress for the stall
  timeout, gets the client disconnected as slow. Nobody else waits for it.

The lock is the flusher's ``write_lock``, one for every outbox it drains. Every
write under it is a non-blocking ``send``, so it is held for microseconds, and
the hub's fan-out takes it once for all of an event's clients (``write_each``)
instead of once per client: a lock per client cost about 1 µs each, as much as
the rest of the fan-out loop. ``write_each`` also sends to every outbox that has
nothing waiting in its own loop, reading one flag of it (``_clear``): a method
call and a look at the queue per client cost about 0.5 µs more, on the cold
caches every event finds (see the README's profile).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections import deque
from typing import Callable, Optional

# What a write leaves for ``after_write`` to do once the lock is released: have the
# flusher watch the socket, report the client slow.
WATCH, SLOW = 1, 2


class _Entry:
    """One queued frame; ``key`` names the state it carries, if it may be superseded."""

    __slots__ = ("data", "key", "alive")

    def __init__(self, data: memoryview, key):
        self.data = data
        self.key = key
        self.alive = True


class Outbox:
    """A socket whose writes never block: whole frames in order, a bounded queue behind them."""

    # Slots, not a __dict__: the fan-out reads several fields of every client's outbox
    # per event, on caches gone cold since the last one (see the README's profile).
    __slots__ = ("raw", "flusher", "limit", "on_slow", "lock", "_queue", "_by_key", "_pending",
                 "_head_started", "_accepting", "_clear", "_closed", "_drained",
                 "last_progress", "high_water", "superseded", "owner")

    def __init__(self, raw: socket.socket, flusher: "Flusher", limit: int,
                 on_slow: Callable[["Outbox"], None]):
        self.raw = raw
        self.flusher = flusher
        self.limit = limit
        self.on_slow = on_slow
        raw.setblocking(False)
        self.lock = flusher.write_lock
        self._queue: deque[_Entry] = deque()
        self._by_key: dict = {}  # state key -> its queued entry
        self._pending = 0  # bytes waiting in _queue
        self._head_started = False  # the first queued frame is partly written
        self._accepting = True
        self._clear = True  # accepting, and nothing queued: a write goes straight to the socket
        self._closed = False
        self._drained = threading.Event()
        self._drained.set()
        self.last_progress = time.monotonic()
        self.high_water = 0
        self.superseded = 0
        self.owner = None  # the hub's Client, set once registered

    def write(self, frames: list[tuple[object, bytes]]) -> bool:
        """Send or queue whole frames, each with its state key (or None), in order.

        A frame whose key is already queued and not yet started replaces that
        one (it is removed; the new one goes last, so order holds). False if the
        client is going away.
        """
        with self.lock:
            written, follow = write_each((self,), frames)
        if follow:
            self.after_write(follow[0][1])
        return written != 0

    def after_write(self, todo: int) -> None:
        """What a write under the lock left to do (``write_each``), with the lock released."""
        if todo & WATCH:
            self.flusher.watch(self)
        if todo & SLOW:
            self.on_slow(self)

    def _enqueue(self, frames: list[tuple[object, bytes]], newly_waiting: bool) -> int:
        """Queue frames the socket did not take (the lock is held): what is left to do."""
        for key, frame in frames:
            if key is not None:
                old = self._by_key.get(key)
                if old is not None and old.alive and not (
                        self._head_started and self._queue and self._queue[0] is old):
                    old.alive = False
                    self._pending -= len(old.data)
                    self.superseded += 1
            entry = _Entry(memoryview(frame), key)
            if key is not None:
                self._by_key[key] = entry
            self._queue.append(entry)
            self._pending += len(frame)
        self._clear = False
        self._drained.clear()
        if self._pending > self.high_water:
            self.high_water = self._pending
        return (WATCH if newly_waiting else 0) | (SLOW if self._pending > self.limit else 0)

    def _left_over(self, frames: list[tuple[object, bytes]], sent: int
                   ) -> list[tuple[object, bytes]]:
        """The frames a first write of ``sent`` bytes left, the started one cut.

        A stall is timed from here: an outbox that was empty cannot have stalled
        before it had anything waiting.
        """
        self.last_progress = time.monotonic()
        rest: list[tuple[object, bytes]] = []
        for key, frame in frames:
            if sent >= len(frame):
                sent -= len(frame)
                continue
            if sent:
                rest.append((None, frame[sent:]))  # a started frame is never superseded
                self._head_started = True
                sent = 0
            else:
                rest.append((key, frame))
        return rest

    def flush(self) -> bool:
        """Write as much of the outbox as the kernel takes; True when it is empty."""
        with self.lock:
            queue = self._queue
            while queue:
                head = queue[0]
                if not head.alive:
                    queue.popleft()
                    continue
                try:
                    sent = self.raw.send(head.data)
                except (BlockingIOError, InterruptedError):
                    return False
                except OSError:
                    self._fail()
                    return True
                if not sent:
                    return False
                self._pending -= sent
                self.last_progress = time.monotonic()
                if sent < len(head.data):
                    head.data = head.data[sent:]
                    self._head_started = True
                    return False
                queue.popleft()
                if head.key is not None and self._by_key.get(head.key) is head:
                    del self._by_key[head.key]
                self._head_started = False
            self._clear = self._accepting
            self._drained.set()
            return True

    def pending(self) -> int:
        return self._pending

    def stalled_for(self, now: float) -> float:
        """Seconds without progress while something waits (0 when the outbox is empty)."""
        return now - self.last_progress if self._queue else 0.0

    def close_with(self, close_frame: bytes) -> None:
        """Drop frames not yet started, queue ``close_frame`` last and accept nothing more.

        ``close_frame`` may follow other control frames (a pong) in the same bytes.
        """
        with self.lock:
            if not self._accepting:
                return
            keep = self._queue[0] if self._queue and self._head_started else None
            self._queue.clear()
            self._by_key.clear()
            self._pending = 0
            self.last_progress = time.monotonic()  # the close frame gets a full stall timeout
            if keep is not None:
                self._queue.append(keep)
                self._pending = len(keep.data)
            self._clear = keep is None
            write_each((self,), [(None, close_frame)])  # sent now, or queued behind ``keep``
            self._accepting = self._clear = False
            if not self._queue:
                self._drained.set()
                return
        self.flusher.watch(self)

    def stop_accepting(self) -> None:
        with self.lock:
            self._accepting = self._clear = False

    def wait_drained(self, timeout: float) -> bool:
        return self._drained.wait(timeout)

    def shutdown(self) -> None:
        """Tear the connection down: wake every thread blocked on it, drop the outbox."""
        with self.lock:
            self._fail()
            if self._closed:
                return
            self._closed = True
        self.flusher.forget(self)
        try:
            self.raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _fail(self) -> None:
        """Nothing more can or will be written (peer gone, or torn down)."""
        self._accepting = self._clear = False
        self._queue.clear()
        self._by_key.clear()
        self._pending = 0
        self._drained.set()


def write_each(outboxes, frames: list[tuple[object, bytes]]) -> tuple[int, list]:
    """Write the same ``frames`` to each of ``outboxes``, whose ``lock`` the caller holds.

    Returns how many took them (sent or queued; an outbox going away refuses
    them), and ``(outbox, todo)`` for each one the caller must hand to
    ``after_write`` once it released the lock (reporting a slow client closes
    it, which takes the lock).
    """
    data = frames[0][1] if len(frames) == 1 else b"".join(f for _, f in frames)
    size = len(data)
    written = 0
    follow: list = []
    for outbox in outboxes:
        if outbox._clear:  # the steady state, for every client of every event
            written += 1
            try:
                sent = outbox.raw.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                outbox._fail()
                continue
            if sent == size:
                continue
            todo = outbox._enqueue(outbox._left_over(frames, sent), True)
        elif outbox._accepting:
            written += 1
            todo = outbox._enqueue(frames, False)
        else:
            continue
        if todo:
            follow.append((outbox, todo))
    return written, follow


class Flusher:
    """One thread that drains every client outbox and watches for stalled clients."""

    def __init__(self, stall_timeout: float, on_stalled: Callable[[Outbox], None]):
        self.stall_timeout = stall_timeout
        self.on_stalled = on_stalled
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self.write_lock = threading.Lock()  # every outbox's (see the module docstring)
        self._lock = threading.Lock()
        self._changes: deque[tuple[str, Outbox]] = deque()
        self._watched: set[Outbox] = set()
        self._running = False
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._run, name="darkroom-flusher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        self._wake()
        if self._thread:
            self._thread.join(timeout=2)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def watch(self, sock: Outbox) -> None:
        self._change("watch", sock)

    def forget(self, sock: Outbox) -> None:
        self._change("forget", sock)

    def _change(self, what: str, sock: Outbox) -> None:
        with self._lock:
            self._changes.append((what, sock))
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # a wake-up byte is already pending, or we are shutting down

    def _apply_changes(self) -> None:
        with self._lock:
            changes, self._changes = self._changes, deque()
        for what, sock in changes:
            if what == "watch" and sock not in self._watched:
                try:
                    self._selector.register(sock.raw, selectors.EVENT_WRITE, sock)
                except (ValueError, KeyError, OSError):
                    continue  # socket already closed
                self._watched.add(sock)
            elif what == "forget" and sock in self._watched:
                self._unwatch(sock)

    def _unwatch(self, sock: Outbox) -> None:
        self._watched.discard(sock)
        try:
            self._selector.unregister(sock.raw)
        except (KeyError, ValueError, OSError):
            pass

    def _run(self) -> None:
        tick = min(0.25, self.stall_timeout / 4)
        while self._running:
            try:
                ready = self._selector.select(timeout=tick)
            except OSError:
                ready = []
            for key, _ in ready:
                if key.data is None:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                    continue
                sock: Outbox = key.data
                if sock.flush():
                    self._unwatch(sock)
            self._apply_changes()
            now = time.monotonic()
            for sock in list(self._watched):
                if sock.pending() == 0 and sock.flush():
                    self._unwatch(sock)
                elif sock.stalled_for(now) > self.stall_timeout:
                    self._unwatch(sock)
                    self.on_stalled(sock)
