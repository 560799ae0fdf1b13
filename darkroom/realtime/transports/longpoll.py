"""The long-polling transport: a hub client made of short HTTP requests, for clients that
cannot hold a connection open (Lightroom's ``LrHttp``).

- ``handshake`` makes the client (``POST /ws/handshake``); it is in the hub's
  registry like any other, with a ``MemoryOutbox`` in place of a socket: the
  hub writes the same frames (the JSON itself: the framer is the identity) and
  they wait, bounded by the outbox limit, superseded by key, until a poll.
- ``send`` carries one protocol message (``POST /ws/send``) through the same
  parser, inbound rate and replies as ``/ws``, and returns the reply: the
  reply frame is taken off the outbox's way while the request waits for it.
- ``poll`` (``GET /ws/poll``) returns every message that waits, at once if
  any, else the first that comes within ``wait`` s. With ``since`` (the last
  event the client has) it first gives back, from the durable log, the events
  it was already handed after ``since`` (a response the client never got).
- A poller that has not polled for ``2 x heartbeat`` expires (``dead``). When
  the server closes a poller (slow, shutdown, disconnect), its next poll gets
  a ``close`` message, ``{"type":"close","code","reason"}``, then the id is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Collection, Optional

import orjson

from darkroom.periodic import Periodic
from darkroom.realtime import protocol, replies
from darkroom.realtime.hub import Client, Hub
from darkroom.realtime.memory_outbox import MemoryOutbox
from darkroom.realtime.protocol import ProtocolError, Request, reply
from darkroom.realtime.ratelimit import TokenBucket
from darkroom.realtime.transport import TransportClosed

log = logging.getLogger("darkroom.longpoll")

KIND = "longpoll"
DEFAULT_WAIT = 25.0
MAX_WAIT = 30.0  # seconds a poll may be held
DEFAULT_HEARTBEAT = 15.0  # when the server's ping interval is off
REPLY_TIMEOUT = 10.0  # seconds /ws/send waits for the hub to confirm a (un)subscribe
FILL_LIMIT = 10_000  # events a poll's ``since`` may ask back from the log
REPLY_TYPES = frozenset({"registration_confirmed", "subscription_confirmed",
                         "unsubscription_confirmed", "pong", "error"})


def identity(data: bytes) -> bytes:
    return data


def _decode(frame: bytes) -> Any:
    try:
        return orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None


def _event_seq(msg: Any) -> Optional[int]:
    if isinstance(msg, dict) and "channel" in msg:
        seq = msg.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            return seq
    return None


class _ReplyWaiter:
    """Catches the first reply the client's outbox is given while a request waits.

    It runs under the outbox's lock, so the position a subscription sets is
    noted before any frame that follows it (a replay) can be taken.
    """

    def __init__(self, transport: "LongPollTransport"):
        self.transport = transport
        self.since: Optional[dict] = None  # of the subscribe being answered
        self.reply: Optional[bytes] = None
        self.done = threading.Event()

    def offer(self, frame: bytes) -> bool:
        if self.reply is not None:
            return False
        msg = _decode(frame)
        if not isinstance(msg, dict) or msg.get("type") not in REPLY_TYPES:
            return False
        if msg.get("type") == "subscription_confirmed" and msg.get("recovered") is True \
                and self.since is not None:
            self.transport.given_seq = self.since["seq"]  # the replay hands over the rest
        else:
            self.transport.note(msg)
        self.reply = frame
        self.done.set()
        return True


class LongPollTransport:
    """One long-polling client, as the hub sees it."""

    kind = KIND
    framer = staticmethod(identity)

    def __init__(self, registry: "LongPollRegistry", outbox: MemoryOutbox, inbound: TokenBucket):
        self.registry = registry
        self.outbox = outbox
        self.inbound = inbound
        self.client: Optional[Client] = None
        self.on_flood = None
        self.ended: Optional[str] = None  # "closed" or "dead"
        self.closed_at: Optional[float] = None
        self.polls = 0  # polls waiting now
        self.last_poll = time.monotonic()
        self.given_seq = 0  # the newest event handed to the client (or its subscription point)
        self.send_lock = threading.Lock()
        self._waiter: Optional[_ReplyWaiter] = None

    def admit(self, n: int = 1) -> bool:
        if self.inbound.take(n):
            return True
        if self.inbound.flooded and self.on_flood is not None:
            self.on_flood()
        return False

    @property
    def open(self) -> bool:
        return self.ended is None and self.outbox.accepting

    def receive(self, timeout: float) -> None:
        raise TransportClosed()  # messages arrive as requests (``LongPollRegistry.send``)

    def close(self, code: int, reason: str) -> None:
        self.outbox.close_with(orjson.dumps({"type": "close", "timestamp": protocol.utc_timestamp(),
                                             "code": code, "reason": reason}))
        if self.ended is None:
            self.ended = "closed"
        self.closed_at = time.monotonic()
        waiter = self._waiter
        if waiter is not None:
            waiter.done.set()
        # No handler thread waits on a poller: the hub forgets it now.
        client = self.client
        if client is not None and not client.gone:
            self.registry.hub.disconnect(client)

    def end_reason(self) -> str:
        return self.ended or "closed"

    def release(self, linger: float) -> None:
        """The close notice stays for the next poll (the registry drops it after a while)."""
        if not self.outbox.closed:
            self.outbox.shutdown()
            self.registry.forget(self)

    # --- what the registry does with it -----------------------------------------------

    def note(self, msg: Any) -> None:
        """Track the position of what the client was handed."""
        seq = _event_seq(msg)
        if seq is None and isinstance(msg, dict) and msg.get("type") == "subscription_confirmed" \
                and msg.get("recovered") is not True and isinstance(msg.get("seq"), int):
            seq = msg["seq"]
        if seq is not None and seq > self.given_seq:
            self.given_seq = seq


class LongPollRegistry(Periodic):
    """The pollers of one hub, and the service that expires the silent ones."""

    def __init__(self, hub: Hub, channels: Collection[str]):
        heartbeat = hub.config.ping_interval or DEFAULT_HEARTBEAT
        tick = min(1.0, max(heartbeat / 4, 0.05))
        super().__init__("longpoll", tick, first=tick)
        self.hub = hub
        self.channels = tuple(channels)
        self.heartbeat = heartbeat
        self._lock = threading.Lock()
        self._pollers: dict[str, LongPollTransport] = {}

    @property
    def expiry(self) -> float:
        return 2 * self.heartbeat

    # --- service -------------------------------------------------------------------------

    def tick(self) -> None:
        self.expire(time.monotonic())

    def expire(self, now: float) -> None:
        """Drop pollers silent for ``expiry`` s, and close notices nobody came for."""
        with self._lock:
            pollers = list(self._pollers.values())
        for transport in pollers:
            if transport.ended is not None:
                if transport.closed_at is not None and now - transport.closed_at > self.expiry:
                    self.forget(transport)
            elif transport.polls == 0 and now - transport.last_poll > self.expiry:
                log.info("poller expired", extra={"client_id": transport.client.id})
                transport.ended = "dead"
                transport.outbox.shutdown()
                self.hub.disconnect(transport.client)
                self.forget(transport)

    # --- clients -------------------------------------------------------------------------

    def handshake(self, remote: str, register: Optional[Request]) -> Client:
        hub = self.hub
        config = hub.config
        transport = LongPollTransport(self, MemoryOutbox(config.outbox_limit, hub.on_overflow),
                                      TokenBucket(config.inbound_rate, config.inbound_burst))
        client = hub.connect(transport, remote)
        transport.client = client
        transport.on_flood = replies.on_flood(hub, client)
        transport.given_seq = hub.seq
        with self._lock:
            self._pollers[client.id] = transport
        if register is not None:
            replies.apply(hub, client, register, quiet=True)
        return client

    def get(self, client_id: str) -> Optional[LongPollTransport]:
        return self._pollers.get(client_id)

    def forget(self, transport: LongPollTransport) -> None:
        with self._lock:
            if transport.client is not None:
                self._pollers.pop(transport.client.id, None)

    def count(self) -> int:
        return len(self._pollers)

    def send(self, transport: LongPollTransport, message: Any) -> tuple[bool, dict]:
        """Carry out one message as ``/ws`` would; (whether it was refused, the reply)."""
        hub, client = self.hub, transport.client
        decoded = not isinstance(message, (str, bytes, bytearray))
        with transport.send_lock:
            waiter = _ReplyWaiter(transport)
            transport._waiter = waiter
            transport.outbox.intercept = waiter.offer
            try:
                if not replies.admitted(hub, client):
                    got = waiter.reply
                    return True, (orjson.loads(got) if got else protocol.error_message(
                        ProtocolError("rate_limited", "slow down or be disconnected")))
                req = replies.parse(hub, client, message, self.channels, decoded)
                if req is not None:
                    waiter.since = req.since
                    replies.apply(hub, client, req, position=True)
                waiter.done.wait(REPLY_TIMEOUT)
            finally:
                transport.outbox.intercept = None
                transport._waiter = None
        if waiter.reply is None:
            if not transport.open:
                return True, reply("error", code="closed", error="the server closed this client",
                                   request_type=getattr(req, "type", None))
            return True, reply("error", code="timeout", error="no reply in time: try again",
                               request_type=getattr(req, "type", None))
        answer = orjson.loads(waiter.reply)
        return answer.get("type") == "error", answer

    def poll(self, transport: LongPollTransport, wait: float,
             since: Optional[dict] = None) -> tuple[list[bytes], bool]:
        """(the messages, whether the client is closed and its id now gone)."""
        transport.polls += 1
        try:
            fill = self._fill(transport, since) if since is not None else []
            frames = fill + transport.outbox.take(0 if fill else min(max(wait, 0.0), MAX_WAIT))
        finally:
            transport.polls -= 1
            transport.last_poll = time.monotonic()
        for frame in frames[len(fill):]:
            transport.note(_decode(frame))
        closed = transport.ended is not None
        if closed:
            self.forget(transport)
        return frames, closed

    def _fill(self, transport: LongPollTransport, since: dict) -> list[bytes]:
        """The events after ``since`` the client was already handed (from the log), or a
        ``resync`` message when they cannot all be given back."""
        hub = self.hub
        client = transport.client
        given = transport.given_seq
        if since["epoch"] == hub.epoch and since["seq"] >= given:
            return []
        if (since["epoch"] == hub.epoch and given - since["seq"] <= FILL_LIMIT
                and hub.log_holds_all_after(since["seq"])):
            channels = sorted(client.channels)
            if not channels:
                return []
            rows = hub.log.read(since["seq"], given, channels, FILL_LIMIT)
            return [r.data.encode() for r in rows]
        return [orjson.dumps(reply("resync", reason="not_recovered", epoch=hub.epoch,
                                   seq=given))]
