"""The hub: who is connected, who listens to what, and one ordered, durable fan-out.

``publish`` hands an event to one dispatcher thread and returns; it never
touches a socket. The dispatcher, in order:

1. coalesces state events (progress, counts; see coalesce.py),
2. stamps each event with the next ``seq`` and serialises it once,
3. hands the batch to the durable event log (group_commit.py: committed
   behind delivery, many events per commit; every read of the log waits for
   what was handed over),
4. frames it once per transport kind and writes the same bytes to every
   subscriber's ``Outbox`` (outbox.py), so a slow client only ever fills its
   own bounded outbox.

The hub is a library: it knows clients only through the ``Transport`` seam
(transport.py) and events only through the policy it is given (which are
state, their keys and phases, which end which; the catalogue's ``EVENTS``).

Subscriptions go through the dispatcher too, so a client that resumes with
``since`` gets the missed events from the log and then the live stream with
nothing lost or doubled in between: live frames wait in the client's backlog
while a replay thread sends the log's, paced by the client's outbox.

With a shared ``stream`` (several processes on Redis: redis_link.py), steps 2
and 3 happen in the stream instead: the dispatcher hands each coalesced event,
serialised around its future ``seq``, to the stream, and delivers what the
stream's reader brings back, stamped, in the stream's order, like every other
process. ``seq``, the state and the counters then follow the stream.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Callable, Hashable, Mapping, Optional, Protocol

import orjson

from darkroom.realtime.coalesce import Coalescer
from darkroom.realtime.eventlog import EventLog, LogRow
from darkroom.realtime.outbox import Flusher, Outbox, write_each
from darkroom.realtime.protocol import reply, utc_timestamp
from darkroom.realtime.stream_rows import Outgoing
from darkroom.realtime.transport import END_REASONS, Transport

log = logging.getLogger("darkroom.hub")

# What the limits refuse, as counted in ``/websocket/stats`` ``refused``.
REFUSALS = ("too_many_clients", "rate_limited", "message_too_big", "too_many_channels",
            "body_too_large", "json_too_deep", "header_timeout")

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_AGAIN = 1013

_CLOSE_TEXT = {"slow": "Client too slow", "too_big": "Message is too big",
               "rate_limited": "Rate limit exceeded"}

_STOP = object()
_BATCH = 1024  # events the dispatcher takes, logs and writes in one go
_REPLAY_PAGE = 1000  # log rows a replay reads and writes at a time
_REPLAY_THREADS = 4


def _encode(message: dict) -> bytes:
    """Compact UTF-8 JSON; anything JSON has no type for (a Path, a datetime) as text.

    What orjson refuses (an integer beyond 64 bits, a lone surrogate, very deep
    nesting) goes through the standard library, escaped to ASCII.
    """
    try:
        return orjson.dumps(message, default=str)
    except orjson.JSONEncodeError:
        return json.dumps(message, separators=(",", ":"), default=str).encode()


class EventRule(Protocol):
    """What the hub needs to know of one event type (a catalogue entry provides it)."""

    phase: Optional[str]  # payload field whose changes are never coalesced away
    ends: Any  # truthy for a terminal event, which ends the state ``ended_key`` names

    def key(self, payload: Mapping[str, Any]) -> Optional[Hashable]:
        """The state this event sets (the latest per key is current), or None."""

    def ended_key(self, payload: Mapping[str, Any]) -> Optional[Hashable]:
        """The state this terminal event ends, or None."""


class Client:
    """One connected client, as the hub sees it, whatever its transport."""

    # Slots, like the Outbox's: the fan-out reads these for every client of every event.
    __slots__ = ("id", "transport", "outbox", "framer", "remote", "client_type", "client_name",
                 "connected_at", "last_ping", "channels", "end_reason", "closing", "gone",
                 "lock", "backlog", "backlog_bytes")

    def __init__(self, client_id: str, transport: Transport, remote: str):
        self.id = client_id
        self.transport = transport
        self.outbox: Outbox = transport.outbox
        self.framer = transport.framer
        self.remote = remote
        self.client_type = "unknown"
        self.client_name: Optional[str] = None
        self.connected_at = utc_timestamp()
        self.last_ping: Optional[str] = None
        self.channels: frozenset[str] = frozenset()
        self.end_reason: Optional[str] = None
        self.closing = False  # the server has sent (or queued) its close frame
        self.gone = False
        # While a replay runs, live frames wait here (bounded by the outbox limit).
        self.lock = threading.Lock()
        self.backlog: Optional[list] = None
        self.backlog_bytes = 0

    def send(self, message: dict) -> bool:
        """Send one reply (not an event) through the client's single write path."""
        return self.outbox.write([(None, self.framer(_encode(message)))])

    def deliver(self, frames: list) -> bool:
        """Write event frames, or hold them in the backlog while a replay runs."""
        if self.backlog is not None:
            with self.lock:
                if self.backlog is not None:
                    self.backlog.extend(frames)
                    self.backlog_bytes += sum(len(f) for _, f in frames)
                    return True
        return self.outbox.write(frames)

    def info(self) -> dict:
        return {
            "id": self.id,
            "transport": self.transport.kind,
            "client_type": self.client_type,
            "client_name": self.client_name,
            "connected_at": self.connected_at,
            "last_ping": self.last_ping,
            "subscriptions": sorted(self.channels),
        }


class Receipt:
    """What became of one published event: filled in by the dispatcher after the log commit.

    Many callers waiting at once share one commit (the dispatcher logs a batch
    at a time), so acknowledging only stored events costs no extra writes.
    """

    __slots__ = ("seq", "stored", "_done")

    def __init__(self):
        self.seq: Optional[int] = None
        self.stored = False
        self._done = threading.Event()

    def wait(self, timeout: float) -> bool:
        """True once the event was handled (stored, or refused: see ``stored``)."""
        return self._done.wait(timeout)

    def _settle(self, seq: Optional[int], stored: bool) -> None:
        self.seq, self.stored = seq, stored
        self._done.set()


@dataclass(frozen=True)
class _Subscribe:
    client: Client
    channels: frozenset
    since: Optional[dict]
    snapshot: bool
    position: bool = False
    waited: bool = False  # it waited for this process to catch up with ``since`` (stream)


@dataclass(frozen=True)
class _Unsubscribe:
    client: Client
    channels: frozenset


@dataclass(frozen=True)
class _Stamped:
    """Events the shared stream stored (and stamped), in its order."""

    rows: list


@dataclass(frozen=True)
class _NewEpoch:
    epoch: str


LOCAL_BUS = {"kind": "local", "connected": True, "lag_ms": 0.0, "reconnects": 0,
             "buffered": 0, "dropped": 0, "last_error": None}
STREAM_POLL = 0.05  # seconds between looks at the link while a broadcast waits
AHEAD_WAIT = 5.0  # seconds a resume from ahead of this process waits for it to catch up


class Hub:
    """Registry, channel index, dispatcher and event log of one server process.

    ``events`` maps an event name to its ``EventRule``; events it does not name
    (custom ones) are delivered and logged but are never state. ``stream``: the
    link to a stream shared with other processes (``RedisLink``), whose log
    ``event_log`` then is; None stamps here and hands each batch to
    ``event_log``, a ``GroupCommitLog``.
    """

    def __init__(self, config, event_log: EventLog, events: Mapping[str, EventRule],
                 stream=None):
        self.config = config
        self.log = event_log
        self.stream = stream
        self.presence = None  # every process's clients (presence.py), with a shared stream
        self._events = events
        self.epoch = ""
        self.close_code = CLOSE_GOING_AWAY
        self.flusher = Flusher(config.stall_timeout, self._on_stalled)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._coalescer = Coalescer(config.coalesce_interval)
        self._seq = 0
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._index: dict[str, tuple[Client, ...]] = {}
        self._state: dict[Hashable, tuple[int, str, bytes]] = {}  # state key -> (seq, channel, JSON)
        self._dispatcher: Optional[threading.Thread] = None
        self._replays: Optional[ThreadPoolExecutor] = None
        self._started_at = time.monotonic()
        self._running = False
        self.published: Counter[str] = Counter()
        self.delivered = 0
        self.disconnected: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # what the limits refused, by limit
        # Called with (seconds, seq advanced) when a replay has caught a client up.
        self.replay_observers: list[Callable[[float, int], None]] = []
        self.high_water = 0
        self.log_failures = 0
        self.replays: Counter[str] = Counter()
        # Called (without arguments) when a client comes, goes or changes subscriptions.
        self.membership_observers: list[Callable[[], None]] = []
        # Resumes from a position this process's reader has not reached yet: (deadline, command).
        self._ahead: list[tuple[float, _Subscribe]] = []

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self._seq = self.log.open()
        self.epoch = self.log.epoch
        self._running = True
        self._started_at = time.monotonic()
        self.flusher.start()
        self._replays = ThreadPoolExecutor(_REPLAY_THREADS, thread_name_prefix="darkroom-replay")
        self._dispatcher = threading.Thread(target=self._dispatch_loop,
                                            name="darkroom-dispatcher", daemon=True)
        self._dispatcher.start()
        if self.stream is not None:
            self.stream.start(self._seq, self._feed, self._new_epoch, self._queue.qsize)
        log.info("hub started", extra={"epoch": self.epoch, "seq": self._seq})

    def stop(self) -> None:
        """Publish and log what waits, close every client with ``close_code``, stop threads."""
        if not self._running:
            return
        self._running = False
        self._queue.put(_STOP)
        if self._dispatcher:
            self._dispatcher.join(timeout=2)
        if self.stream is not None:
            self.stream.stop()
        self._refuse_unsent()
        self.log.close()
        if self._replays:
            self._replays.shutdown(wait=False, cancel_futures=True)
        for client in self.clients():
            self.close(client, self.close_code, "Server shutting down")
        deadline = time.monotonic() + self.config.close_linger + 1.5
        while self._clients and time.monotonic() < deadline:
            time.sleep(0.02)
        self.flusher.stop()
        log.info("hub stopped", extra={"seq": self._seq, "delivered": self.delivered})

    def _refuse_unsent(self) -> None:
        """Events that raced the stop were never logged: tell whoever waits for them."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, tuple) and item[5] is not None:
                item[5]._settle(None, False)

    # --- publishing --------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def dispatcher_alive(self) -> bool:
        """Whether the thread that logs and delivers every event is running."""
        return self._dispatcher is not None and self._dispatcher.is_alive()

    @property
    def seq(self) -> int:
        """The ``seq`` of the newest event published so far."""
        return self._seq

    def publish(self, name: str, channel: str, payload: dict, source: Optional[str] = None,
                receipt: Optional[Receipt] = None) -> None:
        """Queue an event for every subscriber of ``channel``. Never blocks.

        An event with a ``source`` (``"external"``: posted by a client) is
        delivered and logged but never coalesced, never state and never ends
        state: only the pipeline speaks for the pipeline. ``receipt`` learns
        its ``seq`` once it is in the log.
        """
        self._queue.put((name, channel, utc_timestamp(), payload, source, receipt))

    def subscribe(self, client: Client, channels, since: Optional[dict] = None,
                  snapshot: bool = False, position: bool = False) -> None:
        """Add channels in publish order; the dispatcher confirms (and replays or snapshots).

        ``position``: the confirmation carries ``epoch`` and ``seq`` (the newest event
        before the subscription starts) even without ``since``, so a transport that
        tracks the client's position for it (SSE's event ids) has one from the start.
        """
        self._queue.put(_Subscribe(client, frozenset(channels), since, snapshot, position))

    def _dispatch_loop(self) -> None:
        get, get_nowait, empty = self._queue.get, self._queue.get_nowait, self._queue.empty
        coalescer = self._coalescer
        while True:
            wait = coalescer.next_due(time.monotonic())
            if self._ahead:
                wait = STREAM_POLL if wait is None else min(wait, STREAM_POLL)
            items = []
            try:
                items.append(get(timeout=wait) if wait is None or wait > 0 else get_nowait())
            except queue.Empty:
                pass
            # Only this thread takes from the queue, so "not empty" means get_nowait has an
            # item: no queue.Empty raised after every event (~25 us, cold, on this VM).
            while items and len(items) < _BATCH and not empty():
                items.append(get_nowait())
            try:
                if self._dispatch(items):
                    return
            except Exception:
                log.exception("dispatcher failed on a batch")

    def _dispatch(self, items: list) -> bool:
        """Handle one batch; True when told to stop."""
        now = time.monotonic()
        ready: list = []
        stop = False
        for item in items:
            if item is _STOP:
                stop = True
            elif isinstance(item, _Stamped):
                self._apply(item.rows)
            elif isinstance(item, _NewEpoch):
                self._restart_epoch(item.epoch)
            elif isinstance(item, (_Subscribe, _Unsubscribe)):
                self._emit(ready)
                ready = []
                try:
                    self._command(item)
                except Exception:
                    log.exception("subscription change failed", extra={"client_id": item.client.id})
                    self.kick(item.client, "server_error", CLOSE_SERVER_ERROR)
            else:
                ready.extend(self._offer(item, now))
        ready.extend(self._coalescer.due(now))
        if stop:
            ready.extend(self._coalescer.flush())
        self._emit(ready)
        if self._ahead:
            self._resume_caught_up(now)
        return stop

    def _offer(self, item, now: float) -> list:
        etype = self._events.get(item[0])
        if etype is None or item[4] is not None:
            return [item]
        payload = item[3]
        phase = payload.get(etype.phase) if etype.phase else None
        return self._coalescer.offer(item, etype.key(payload), phase,
                                     etype.ended_key(payload), now)

    def _emit(self, items: list) -> None:
        """Stamp, serialise, log, then count, remember state and deliver ``items`` in order.

        The log commits behind delivery; whoever reads it (``/api/events``, a
        resuming client) waits for what was handed over, so finds every event
        up to the ``seq`` it saw. A receipt is settled once its batch is committed.
        """
        if not items:
            return
        if self.stream is not None:
            self.stream.send(self._outgoing(items))
            return
        rows: list[LogRow] = []
        out: list[tuple[str, Optional[EventRule], dict, bytes]] = []
        receipts: list[tuple[Receipt, int]] = []
        wall = time.time()
        seq = self._seq
        for name, channel, timestamp, payload, source, receipt in items:
            message = {"type": name, "timestamp": timestamp, "channel": channel, "seq": seq + 1}
            message.update(payload)
            if source:
                message["source"] = source
            try:
                data = _encode(message)
            except Exception:  # one bad event must not take its batch with it
                log.exception("event could not be encoded; dropped", extra={"type": name})
                if receipt is not None:
                    receipt._settle(None, False)
                continue
            seq += 1
            rows.append(LogRow(seq, channel, name, wall, data.decode()))
            out.append((channel, None if source else self._events.get(name), payload, data))
            if receipt is not None:
                receipts.append((receipt, seq))
        if not rows:
            return
        self.log.append(rows, lambda stored: self._settle(stored, receipts), urgent=bool(receipts))
        self._seq = seq  # after the hand-over: whoever reads ``seq`` then reads the log
        keyed = []
        for (channel, etype, payload, data), row in zip(out, rows, strict=True):
            self.published[channel] += 1
            key = etype.key(payload) if etype else None
            if key is not None:
                self._state[key] = (row.seq, channel, data)
            if etype is not None and etype.ends:
                self._state.pop(etype.ended_key(payload), None)
            keyed.append((channel, key, data))
        self._deliver(keyed)

    def _settle(self, stored: bool, receipts: list[tuple[Receipt, int]]) -> None:
        """The log took a batch, or refused it (the log's writer thread; it logs why)."""
        if not stored:
            self.log_failures += 1
        for receipt, event_seq in receipts:
            receipt._settle(event_seq, stored)

    # --- the shared stream ---------------------------------------------------------

    def _outgoing(self, items: list) -> list[Outgoing]:
        """Serialise ``items`` as the local path would, in two halves around the ``seq``."""
        out = []
        wall = time.time()
        for name, channel, timestamp, payload, source, receipt in items:
            message = {"type": name, "timestamp": timestamp, "channel": channel, "seq": 0}
            message.update(payload)
            if source:
                message["source"] = source
            head = {key: message[key] for key in ("type", "timestamp", "channel")}
            rest = {key: value for key, value in message.items()
                    if key not in ("type", "timestamp", "channel", "seq")}
            try:
                head_json, rest_json = _encode(head), _encode(rest)
            except Exception:  # one bad event must not take its batch with it
                log.exception("event could not be encoded; dropped", extra={"type": name})
                if receipt is not None:
                    receipt._settle(None, False)
                continue
            tail = b"}" if rest_json == b"{}" else b"," + rest_json[1:]
            out.append(Outgoing(channel, name, source or "", wall,
                                head_json[:-1] + b',"seq":', tail, receipt))
        return out

    def _feed(self, rows: list) -> None:
        """The stream's reader hands over stored events (runs in the reader's thread)."""
        self._queue.put(_Stamped(rows))

    def _new_epoch(self, epoch: str) -> None:
        self._queue.put(_NewEpoch(epoch))

    def _apply(self, rows: list) -> None:
        """Make stored events current here: ``seq``, counters, state, then deliver them."""
        keyed = []
        for row in rows:
            if row.seq <= self._seq:
                continue  # read again after a reconnect
            self._seq = row.seq
            self.published[row.channel] += 1
            etype = None if row.source else self._events.get(row.type)
            key = None
            if etype is not None:
                payload = orjson.loads(row.data)
                key = etype.key(payload)
                if key is not None:
                    self._state[key] = (row.seq, row.channel, row.data)
                if etype.ends:
                    self._state.pop(etype.ended_key(payload), None)
            keyed.append((row.channel, key, row.data))
        if keyed:
            self._deliver(keyed)

    def _restart_epoch(self, epoch: str) -> None:
        """Redis lost the stream: positions under the old epoch mean nothing any more, so
        every client reconnects (1012) and learns the new epoch, as after a restart."""
        self.epoch = epoch
        self._seq = 0
        self._state.clear()
        for client in self.clients():
            self.close(client, 1012, "Event stream restarted")

    def bus_health(self) -> dict:
        """The link to the shared stream, as ``/websocket/stats`` shows it in ``bus``."""
        return dict(LOCAL_BUS) if self.stream is None else self.stream.health()

    def wait_stored(self, receipt: Receipt, timeout: float) -> bool:
        """Wait for ``receipt``; True once settled (see ``receipt.stored``).

        With a shared stream whose link is down, a buffered event is taken back
        at once (settled as not stored) instead of waiting: a caller told "not
        stored" must never see it published later.
        """
        if self.stream is None:
            return receipt.wait(timeout)
        deadline = time.monotonic() + timeout
        while not receipt.wait(STREAM_POLL):
            late = time.monotonic() > deadline
            if (late or not self.stream.connected) and self.stream.withdraw(receipt):
                return True
            if late and time.monotonic() > deadline + timeout:
                return False
        return True

    def _deliver(self, out: list[tuple[str, Optional[Hashable], bytes]]) -> None:
        """Frame each event once per framer in use, then write each client's frames in one go."""
        index = self._index
        if len(out) == 1:  # the steady state: one event, the same frames for everyone
            channel, key, data = out[0]
            self._deliver_one(index.get(channel, ()), key, data)
            return
        per_client: dict[Client, list] = {}
        for channel, key, data in out:
            members = index.get(channel)
            if not members:
                continue
            framed: dict = {}
            for client in members:
                framer = client.framer
                frame = framed.get(framer)
                if frame is None:
                    frame = framed[framer] = framer(data)
                frames = per_client.get(client)
                if frames is None:
                    per_client[client] = [(key, frame)]
                else:
                    frames.append((key, frame))
        delivered = 0
        limit = self.config.outbox_limit
        for client, frames in per_client.items():
            if client.deliver(frames):
                delivered += len(frames)
                if client.backlog is not None and client.backlog_bytes > limit:
                    self.kick(client, "slow")
        self.delivered += delivered

    def _deliver_one(self, members: tuple, key: Optional[Hashable], data: bytes) -> None:
        """The steady state: one event, written to every socket under one hold of the
        write lock (``write_each``); a client in a replay, or on another kind of
        outbox, after it."""
        lock = self.flusher.write_lock
        groups: dict = {}  # framer -> (its frames, the socket outboxes that get them)
        later: list = []  # (client, frames) for client.deliver
        last = group = None  # the framer of the client before, and its group
        for client in members:
            framer = client.framer
            if framer is not last:  # clients of one transport come in a row, mostly
                group = groups.get(framer)
                if group is None:
                    group = groups[framer] = ([(key, framer(data))], [])
                last = framer
            outbox = client.outbox
            if client.backlog is None and outbox.lock is lock:
                group[1].append(outbox)
            else:
                later.append((client, group[0]))
        delivered = 0
        follow: list = []
        with lock:
            for frames, outboxes in groups.values():
                if outboxes:
                    written, todo = write_each(outboxes, frames)
                    delivered += written
                    follow += todo
        for outbox, todo in follow:
            outbox.after_write(todo)
        limit = self.config.outbox_limit
        for client, frames in later:
            if client.deliver(frames):
                delivered += 1
                if client.backlog is not None and client.backlog_bytes > limit:
                    self.kick(client, "slow")
        self.delivered += delivered

    # --- subscriptions, replay and snapshots ---------------------------------------

    def _command(self, cmd) -> None:
        """Change a client's subscriptions at this point of the stream, and confirm."""
        client = cmd.client
        if client.gone:
            return
        if isinstance(cmd, _Unsubscribe):
            with self._lock:
                client.channels = client.channels - cmd.channels
                self._rebuild_index()
            self._membership_changed()
            client.send(reply("unsubscription_confirmed", channels=sorted(client.channels)))
            return
        recovered = None
        if (cmd.since is not None and self.stream is not None and not cmd.waited
                and cmd.since.get("epoch") == self.epoch and cmd.since["seq"] > self._seq):
            # It saw more of the stream (on another process) than this reader yet has.
            self._ahead.append((time.monotonic() + AHEAD_WAIT, cmd))
            return
        if cmd.since is not None:
            recovered = client.backlog is None and self._recoverable(cmd.since)
        with self._lock:
            client.channels = client.channels | cmd.channels
            self._rebuild_index()
        self._membership_changed()
        confirmed = reply("subscription_confirmed", channels=sorted(client.channels))
        if recovered is not None:
            confirmed.update(recovered=recovered, epoch=self.epoch, seq=self._seq)
            self.replays["recovered" if recovered else "not_recovered"] += 1
        elif cmd.position:
            confirmed.update(epoch=self.epoch, seq=self._seq)
        since_seq = cmd.since["seq"] if recovered else self._seq
        if since_seq < self._seq:
            with client.lock:
                client.backlog, client.backlog_bytes = [], 0
            client.send(confirmed)
            self._replays.submit(self._replay, client, since_seq, self._seq, cmd.channels)
            return
        client.send(confirmed)
        if cmd.snapshot and not recovered:
            state = sorted(v for v in self._state.values() if v[1] in cmd.channels)
            if state:
                # State events are older than the stream's position: a transport whose
                # frames carry the position (SSE ids) frames them without it.
                framer = getattr(client.transport, "snapshot_framer", None) or client.framer
                client.deliver([(None, framer(data)) for _, _, data in state])

    def _resume_caught_up(self, now: float) -> None:
        """Run the resumes this process has caught up with (or waited for long enough)."""
        waiting, self._ahead = self._ahead, []
        for deadline, cmd in waiting:
            if cmd.since["seq"] <= self._seq or now > deadline or cmd.since.get("epoch") != self.epoch:
                try:
                    self._command(replace(cmd, waited=True))
                except Exception:
                    log.exception("subscription change failed", extra={"client_id": cmd.client.id})
                    self.kick(cmd.client, "server_error", CLOSE_SERVER_ERROR)
            else:
                self._ahead.append((deadline, cmd))

    def _recoverable(self, since: dict) -> bool:
        """Can every event after ``since`` still be sent? (same epoch, all in the log)"""
        return (since.get("epoch") == self.epoch and since["seq"] <= self._seq
                and self.log_holds_all_after(since["seq"]))

    def log_holds_all_after(self, seq: int) -> bool:
        """Whether the log has every event after ``seq``: none trimmed, none it failed to store."""
        if seq >= self._seq:
            return True
        oldest = self.log.oldest_seq()  # first: it waits for the batches handed over
        if seq < self.log.lost_before:
            return False
        return oldest is not None and seq >= oldest - 1

    def _replay(self, client: Client, since: int, until: int, channels) -> None:
        """Send the log's events in (since, until], then the live backlog, paced by the outbox."""
        pos = since
        started = time.monotonic()
        try:
            while pos < until and not client.gone:
                rows = self.log.read(pos, until, channels, _REPLAY_PAGE)
                if not rows:
                    break
                oldest = self.log.oldest_seq()
                if oldest is None or oldest > pos + 1:
                    raise RuntimeError("the log was trimmed under a running replay")
                if not self._paced_write(client, [(None, client.framer(r.data.encode()))
                                                  for r in rows]):
                    return
                self.replays["events"] += len(rows)
                pos = rows[-1].seq
            self._release_backlog(client)
            for observe in self.replay_observers:
                observe(time.monotonic() - started, pos - since)
        except Exception:
            log.exception("replay failed", extra={"client_id": client.id})
            self.kick(client, "replay_failed", CLOSE_SERVER_ERROR)

    def _room(self, client: Client) -> bool:
        """Wait until the client's outbox is at most half full; kick it if it stalls."""
        half = self.config.outbox_limit // 2
        deadline = time.monotonic() + self.config.stall_timeout
        while client.outbox.pending() > half:
            if client.gone:
                return False
            if time.monotonic() > deadline:
                self.kick(client, "slow")
                return False
            time.sleep(0.005)
        return not client.gone

    def _paced_write(self, client: Client, frames: list) -> bool:
        """Write ``frames`` in chunks of a quarter of the outbox limit, each when there is room."""
        chunk, size, most = [], 0, self.config.outbox_limit // 4
        for frame in frames:
            chunk.append(frame)
            size += len(frame[1])
            if size >= most:
                if not self._room(client):
                    return False
                client.outbox.write(chunk)
                chunk, size = [], 0
        if chunk:
            if not self._room(client):
                return False
            client.outbox.write(chunk)
        return True

    def _release_backlog(self, client: Client) -> None:
        """Hand over to live delivery: drain the backlog in paced chunks, then drop it.

        Each chunk is written under the client's lock, so the dispatcher (which
        appends to the backlog under that lock) can never write a newer frame
        first; the backlog goes away only once it is empty.
        """
        most = self.config.outbox_limit // 4
        while self._room(client):
            with client.lock:
                backlog = client.backlog or []
                size, n = 0, 0
                while n < len(backlog) and size < most:
                    size += len(backlog[n][1])
                    n += 1
                if n:
                    client.outbox.write(backlog[:n])
                    del backlog[:n]
                    client.backlog_bytes -= size
                if not backlog:
                    client.backlog, client.backlog_bytes = None, 0
                    return

    # --- clients -----------------------------------------------------------------

    def new_outbox(self, raw) -> Outbox:
        """The bounded write path for a new connection's socket (a transport wraps it)."""
        return Outbox(raw, self.flusher, self.config.outbox_limit, self.on_overflow)

    def connect(self, transport: Transport, remote: str) -> Client:
        client = Client(uuid.uuid4().hex, transport, remote)
        transport.outbox.owner = client
        with self._lock:
            self._clients[client.id] = client
        self._membership_changed()
        log.info("client connected", extra={"client_id": client.id, "remote": remote,
                                            "transport": transport.kind})
        return client

    def clients(self) -> list[Client]:
        return list(self._clients.values())

    def client_count(self) -> int:
        return len(self._clients)

    def get(self, client_id: str) -> Optional[Client]:
        return self._clients.get(client_id)

    def unsubscribe(self, client: Client, channels) -> None:
        """Drop channels in publish order; the dispatcher confirms."""
        self._queue.put(_Unsubscribe(client, frozenset(channels)))

    def _membership_changed(self) -> None:
        for observe in self.membership_observers:
            observe()

    def _rebuild_index(self) -> None:
        index: dict[str, list[Client]] = {}
        for client in self._clients.values():
            for channel in client.channels:
                index.setdefault(channel, []).append(client)
        self._index = {channel: tuple(members) for channel, members in index.items()}

    def close(self, client: Client, code: int, reason: str) -> None:
        """Start closing ``client`` with ``code``; its handler thread finishes the teardown."""
        client.closing = True
        client.transport.close(code, reason)

    def kick(self, client: Client, reason: str, code: int = CLOSE_TRY_AGAIN) -> None:
        if client.end_reason is None:
            client.end_reason = reason
            log.warning("disconnecting client", extra={"client_id": client.id, "reason": reason,
                                                        "pending": client.outbox.pending()})
            self.close(client, code, _CLOSE_TEXT.get(reason, reason))

    def _on_stalled(self, outbox: Outbox) -> None:
        owner = outbox.owner
        if owner is not None and owner.end_reason is None:
            self.kick(owner, "slow")
        else:
            outbox.shutdown()  # even the close frame could not be delivered

    def on_overflow(self, outbox: Outbox) -> None:
        if outbox.owner is not None:
            self.kick(outbox.owner, "slow")

    def disconnect(self, client: Client) -> None:
        """Forget ``client`` and release its connection (runs in its handler thread)."""
        client.gone = True
        with self._lock:
            self._clients.pop(client.id, None)
            if client.channels:
                self._rebuild_index()
        self._membership_changed()
        transport = client.transport
        reason = client.end_reason or transport.end_reason()
        self.disconnected[reason] += 1
        self.high_water = max(self.high_water, client.outbox.high_water)
        if transport.open:
            self.close(client, CLOSE_SERVER_ERROR, "Unexpected server error")
        transport.release(self.config.close_linger)
        log.info("client disconnected", extra={"client_id": client.id, "reason": reason})

    # --- introspection -----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        clients = self.clients()
        by_type = Counter(c.client_type for c in clients)
        channels = sorted(ch for ch, members in self._index.items() if members)
        high_water = max([self.high_water] + [c.outbox.high_water for c in clients])
        return {
            "total_clients": len(clients),
            "clients_by_type": dict(by_type),
            "active_channels": channels,
            "channel_count": len(channels),
            "events_published": dict(self.published),
            "events_published_total": sum(self.published.values()),
            "messages_delivered": self.delivered,
            "disconnected": {**{key: 0 for key in END_REASONS}, **self.disconnected},
            "refused": {**{key: 0 for key in REFUSALS}, **self.refused},
            "outbox_high_water_bytes": high_water,
            "superseded_in_outboxes": sum(c.outbox.superseded for c in clients),
            "replays": {key: self.replays.get(key, 0)
                        for key in ("recovered", "not_recovered", "events")},
            "log_failures": self.log_failures,
            "uptime_seconds": round(time.monotonic() - self._started_at, 3),
            "seq": self._seq,
            "epoch": self.epoch,
            "bus": self.bus_health(),
        }
