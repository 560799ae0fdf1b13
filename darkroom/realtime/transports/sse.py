"""The Server-Sent Events transport: ``GET /events`` as a hub client on the raw socket.

The route takes over the connection the way flask-sock does for a WebSocket:
it finds the socket in the WSGI environ (``werkzeug.socket`` or
``gunicorn.socket``), and from then on every byte goes through the client's
``Outbox``: the HTTP response head, then one SSE record per message, with
heartbeat comments in between. The hub's bounded outbox and slow-client rules
apply unchanged; the handler thread waits for the socket to become readable,
which for an SSE client only ever means it went away (EOF) or ``close`` woke it.

Records (one framer per event-log epoch, shared by every SSE client):

- an event: ``id: <epoch>:<seq>``, ``event: <type>``, one ``data:`` line with
  exactly the JSON the event has on ``/ws``;
- a protocol reply (``connection_established``, ``subscription_confirmed``, ...):
  ``event: <type>`` and ``data:``, no ``id`` (the browser's ``Last-Event-ID``
  stays at the last event), except the ``subscription_confirmed`` of a fresh or
  unrecovered subscription, whose ``id`` is where its live stream starts; when
  the subscription asked to resume and could not, a ``resync`` record (same ``id``)
  follows: reload the state over HTTP;
- a snapshot's state events: as events, without ``id`` (they are older);
- the end: ``event: close`` with ``{"type":"close","code","reason"}``.
"""

from __future__ import annotations

import functools
import re
import select
import socket
import time
from typing import Callable, Optional

import orjson

from darkroom.realtime.outbox import Outbox
from darkroom.realtime.transport import TransportClosed

KIND = "sse"
HEARTBEAT = b": heartbeat\n\n"
CONTENT_TYPE = "text/event-stream; charset=utf-8"
_SOCKET_KEYS = ("werkzeug.socket", "gunicorn.socket")
_NAME = re.compile(rb"^[A-Za-z0-9_.-]{1,64}$")


def raw_socket(environ: dict) -> Optional[socket.socket]:
    """The connection's socket, from the servers that expose it (as flask-sock finds it)."""
    for key in _SOCKET_KEYS:
        raw = environ.get(key)
        if raw is not None:
            return raw
    return None


def response_head(http_version: str = "HTTP/1.1", extra: tuple = ()) -> bytes:
    """The response head: the stream ends when the connection does (no length, no chunks)."""
    version = "HTTP/1.1" if http_version == "HTTP/1.1" else "HTTP/1.0"
    lines = [f"{version} 200 OK", f"Content-Type: {CONTENT_TYPE}", "Cache-Control: no-cache",
             "X-Accel-Buffering: no", "X-Content-Type-Options: nosniff",
             "Referrer-Policy: no-referrer", "Connection: close", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def record(event: bytes, data: bytes, event_id: Optional[bytes] = None) -> bytes:
    """One SSE record; ``data`` on one line (JSON from the hub never holds a line break)."""
    if b"\n" in data or b"\r" in data:
        data = b"\ndata: ".join(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"))
    head = b"id: " + event_id + b"\n" if event_id is not None else b""
    return head + b"event: " + event + b"\ndata: " + data + b"\n\n"


def _name(kind) -> bytes:
    if isinstance(kind, str):
        name = kind.encode("utf-8", "replace")
        if _NAME.match(name):
            return name
    return b"message"


def _is_seq(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _frame(epoch: bytes, data: bytes, with_id: bool) -> bytes:
    try:
        msg = orjson.loads(data)
    except orjson.JSONDecodeError:
        msg = None
    if not isinstance(msg, dict):
        return record(b"message", data)
    kind, seq = msg.get("type"), msg.get("seq")
    name = _name(kind)
    if "channel" in msg and _is_seq(seq):  # an event
        return record(name, data, epoch + b":%d" % seq if with_id else None)
    if kind == "subscription_confirmed" and _is_seq(seq) and msg.get("recovered") is not True:
        position = str(msg.get("epoch", "")).encode() + b":%d" % seq
        out = record(name, data, position)
        if msg.get("recovered") is False:
            out += record(b"resync", orjson.dumps({
                "type": "resync", "timestamp": msg.get("timestamp"), "reason": "not_recovered",
                "epoch": msg.get("epoch"), "seq": seq}), position)
        return out
    return record(name, data)


@functools.lru_cache(maxsize=16)
def framers(epoch: str) -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    """The framer and snapshot framer of one epoch: the same two functions for every client."""
    tag = epoch.encode()

    def frame(data: bytes) -> bytes:
        return _frame(tag, data, True)

    def frame_snapshot(data: bytes) -> bytes:
        return _frame(tag, data, False)

    return frame, frame_snapshot


def close_record(code: int, reason: str) -> bytes:
    return record(b"close", orjson.dumps({"type": "close", "code": code, "reason": reason}))


def _readable(sock: socket.socket, timeout: Optional[float]) -> bool:
    # poll, not select: select cannot watch descriptors above 1024.
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))
    return bool(select.select([sock], [], [sock], timeout)[0])


class SseTransport:
    """One SSE client's connection, as the hub sees it."""

    kind = KIND
    inbound = None

    def __init__(self, outbox: Outbox, epoch: str):
        self.outbox = outbox
        self.raw = outbox.raw
        self.framer, self.snapshot_framer = framers(epoch)
        self._closing = False
        self._gone = False

    @classmethod
    def take_over(cls, outbox: Outbox, epoch: str, http_version: str) -> "SseTransport":
        """Answer the request on the socket: the response head goes first, through the outbox."""
        outbox.write([(None, response_head(http_version))])
        return cls(outbox, epoch)

    def admit(self, n: int = 1) -> bool:
        return True  # an SSE client sends nothing after its request

    @property
    def open(self) -> bool:
        return not (self._closing or self._gone)

    def receive(self, timeout: Optional[float]) -> None:
        """Wait up to ``timeout`` s for the peer; raise TransportClosed once it went away
        or the server closed. Anything the client sends is read and ignored."""
        if not self.open:
            raise TransportClosed()
        if not _readable(self.raw, timeout):
            return None
        try:
            data = self.raw.recv(4096)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            data = b""
        if not data or self._closing:
            self._gone = self._gone or not self._closing
            raise TransportClosed()
        return None

    def serve(self, heartbeat: Optional[float], clock=None) -> None:
        """Hold the connection until it ends; a heartbeat comment every ``heartbeat`` s."""
        clock = clock or time.monotonic
        due = clock() + heartbeat if heartbeat else None
        while self.open:
            try:
                self.receive(None if due is None else max(0.0, due - clock()))
            except TransportClosed:
                return
            if due is not None and clock() >= due:
                self.outbox.write([(None, HEARTBEAT)])
                due = clock() + heartbeat

    def close(self, code: int, reason: str) -> None:
        self._closing = True
        self.outbox.close_with(close_record(code, reason))
        try:
            self.raw.shutdown(socket.SHUT_RD)  # wakes the handler waiting in receive
        except OSError:
            pass

    def end_reason(self) -> str:
        return "closed" if self._closing else "gone"

    def release(self, linger: float) -> None:
        self.outbox.wait_drained(linger)
        self.outbox.shutdown()
