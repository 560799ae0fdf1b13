"""The WebSocket transport: the only code that knows flask-sock, simple-websocket and wsproto.

flask-sock builds a ``simple_websocket.Server`` over the socket it finds in the
WSGI environ, and that library's ``send`` is neither thread-safe nor complete on
partial writes (shared/research/flask_sock.md). So before the upgrade
``adopt_socket`` puts a ``LibrarySocket`` in the environ: simple-websocket's
handshake, pongs, pings and close frames then go through the client's
``Outbox`` like the hub's pre-framed events, and its reader thread blocks in
``recv`` as it expects. ``WebSocketTransport`` is what the hub holds.

Frames from a server are never masked (RFC 6455 section 5.1) and
permessage-deflate is never negotiated, so one event's frame is the same bytes
for every client.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import Callable, Optional

from simple_websocket import ConnectionClosed
from wsproto.utilities import LocalProtocolError

from darkroom.realtime.outbox import Outbox
from darkroom.realtime.ratelimit import TokenBucket
from darkroom.realtime.transport import TransportClosed

KIND = "websocket"
_TEXT = 0x81  # FIN + text opcode
_CLOSE_OPCODE = 0x8
_PONG_OPCODE = 0xA
NO_STATUS = 1005  # RFC 6455: the peer's close frame carried no code, or none came
_SOCKET_KEYS = ("werkzeug.socket", "gunicorn.socket")
_ENVIRON_KEY = "darkroom.socket"


def text_frame(payload: bytes) -> bytes:
    """One unfragmented server text frame carrying ``payload`` (UTF-8 bytes)."""
    length = len(payload)
    if length < 126:
        header = bytes((_TEXT, length))
    elif length < 1 << 16:
        header = struct.pack("!BBH", _TEXT, 126, length)
    else:
        header = struct.pack("!BBQ", _TEXT, 127, length)
    return header + payload


def frame_opcodes(data: bytes) -> list[int]:
    """The opcodes of the server frames in ``data`` (unmasked, whole), in order."""
    out = []
    i = 0
    while i + 2 <= len(data):
        opcode, length, i = data[i] & 0x0F, data[i + 1] & 0x7F, i + 2
        out.append(opcode)
        if length == 126:
            length, i = int.from_bytes(data[i:i + 2], "big"), i + 2
        elif length == 127:
            length, i = int.from_bytes(data[i:i + 8], "big"), i + 8
        i += length
    return out


def has_close_frame(data: bytes) -> bool:
    """Whether server frames in ``data`` (unmasked, whole) include a close frame."""
    return _CLOSE_OPCODE in frame_opcodes(data)


def _wait_readable(sock: socket.socket) -> None:
    # poll, not select: select cannot watch descriptors above 1024.
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLPRI)
        poller.poll()
    else:
        select.select([sock], [], [])


class LibrarySocket:
    """The socket simple-websocket is given: writes go to the outbox, reads block.

    After the handshake, a close frame the library sends by itself (its echo
    of the client's close, 1008 on a ping timeout, 1009 for a message too big)
    is the last thing queued: nothing is written after it. Each pong it
    writes answers one ping from the client, so pongs are counted against the
    client's ``inbound`` rate from the first ping on, before the handler has
    even registered the client; refused ones are not sent.
    """

    def __init__(self, outbox: Outbox, inbound: TokenBucket):
        self.outbox = outbox
        self.raw = outbox.raw
        self.inbound = inbound
        self._upgraded = False  # the first send is the HTTP 101 response
        self.reader_done = threading.Event()
        self.on_reader_exit: Optional[Callable[[], None]] = None
        self._on_flood: Optional[Callable[[], None]] = None

    @property
    def on_flood(self) -> Optional[Callable[[], None]]:
        return self._on_flood

    @on_flood.setter
    def on_flood(self, callback: Optional[Callable[[], None]]) -> None:
        """Called once the client floods; at once if it already has (before it was set)."""
        self._on_flood = callback
        if callback is not None and self.inbound.flooded:
            callback()

    def admit(self, n: int = 1) -> bool:
        """Whether ``n`` more messages from the client fit its inbound rate.

        Past a whole burst of refusals the client is flooding: ``on_flood``.
        """
        if self.inbound.take(n):
            return True
        if self.inbound.flooded and self._on_flood is not None:
            self._on_flood()
        return False

    def send(self, data: bytes) -> int:
        data = bytes(data)
        if not self._upgraded:
            self._upgraded = True
            self.outbox.write([(None, data)])
            return len(data)
        opcodes = frame_opcodes(data)
        if _CLOSE_OPCODE in opcodes:
            self.outbox.close_with(data)
        elif _PONG_OPCODE not in opcodes or self.admit(opcodes.count(_PONG_OPCODE)):
            self.outbox.write([(None, data)])
        return len(data)

    sendall = send

    def recv(self, size: int) -> bytes:
        while True:
            try:
                return self.raw.recv(size)
            except (BlockingIOError, InterruptedError):
                _wait_readable(self.raw)

    def fileno(self) -> int:
        return self.raw.fileno()

    def close(self) -> None:
        """simple-websocket's reader thread is done; the transport owns the real socket."""
        self.reader_done.set()
        if self.on_reader_exit:
            self.on_reader_exit()

    def __getattr__(self, name):
        return getattr(self.raw, name)


def adopt_socket(environ: dict, make_outbox: Callable[[socket.socket], Outbox],
                 inbound: TokenBucket) -> bool:
    """Before flask-sock answers an upgrade: no deflate, and our socket in the environ.

    ``inbound``: the client's message rate, which its pings count against from the start.

    False when the server does not expose its sockets (then no upgrade can work).
    """
    # Deflate costs CPU and memory per connection and forbids pre-encoded frames.
    environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
    for key in _SOCKET_KEYS:
        raw = environ.get(key)
        if raw is not None:
            wrapped = LibrarySocket(make_outbox(raw), inbound)
            environ[key] = wrapped
            environ[_ENVIRON_KEY] = wrapped
            return True
    return False


# --- simple-websocket 1.1 internals -------------------------------------------------
# The library documents no way to wake a handler blocked in ``receive`` from
# another thread, nor to learn why a connection ended; these three functions
# are the only places that read or set its undocumented attributes, and
# tests/unit/test_websocket_transport.py fails if a release renames them.


def _wake_handler(ws) -> None:
    """Make a ``receive`` blocked in the handler thread return now."""
    ws.event.set()


def _ending(ws) -> tuple[int, bool, int]:
    """(close code the peer sent or 1005, whether the last ping got its pong, bytes of
    the message being received)."""
    return ws.close_reason, ws.pong_received, ws.incoming_message_len


def _reader_thread(ws) -> Optional[threading.Thread]:
    return getattr(ws, "thread", None)


class WebSocketTransport:
    """One WebSocket client's connection, as the hub sees it."""

    kind = KIND
    framer = staticmethod(text_frame)

    def __init__(self, ws, environ: dict, max_message_size: int):
        self.ws = ws
        self.sock: LibrarySocket = environ[_ENVIRON_KEY]
        self.outbox = self.sock.outbox
        self.max_message_size = max_message_size
        self.sock.on_reader_exit = lambda: _wake_handler(ws)

    @property
    def inbound(self) -> TokenBucket:
        return self.sock.inbound

    @property
    def on_flood(self) -> Optional[Callable[[], None]]:
        return self.sock.on_flood

    @on_flood.setter
    def on_flood(self, callback: Optional[Callable[[], None]]) -> None:
        self.sock.on_flood = callback

    def admit(self, n: int = 1) -> bool:
        """Whether ``n`` more messages from the client fit its inbound rate (see LibrarySocket)."""
        return self.sock.admit(n)

    def too_big(self, message: str | bytes) -> bool:
        """Over the size limit in bytes (the library counts text in characters)."""
        if isinstance(message, str):
            if len(message) * 4 <= self.max_message_size:
                return False
            return len(message.encode("utf-8", "surrogatepass")) > self.max_message_size
        return len(message) > self.max_message_size

    @property
    def open(self) -> bool:
        return self.ws.connected

    def receive(self, timeout: float):
        try:
            return self.ws.receive(timeout=timeout)
        except ConnectionClosed:
            raise TransportClosed() from None

    def close(self, code: int, reason: str) -> None:
        try:
            self.ws.close(code, reason)  # its close frame goes through LibrarySocket.send
        except (ConnectionClosed, LocalProtocolError):
            self.outbox.stop_accepting()  # a close handshake is already under way
        _wake_handler(self.ws)

    def end_reason(self) -> str:
        close_code, pong_received, incoming = _ending(self.ws)
        if self.max_message_size and incoming > self.max_message_size:
            return "too_big"
        if close_code == NO_STATUS:
            return "gone" if pong_received else "dead"
        return "closed"

    def release(self, linger: float) -> None:
        if self.outbox.wait_drained(linger):
            self.sock.reader_done.wait(1.0)
        self.outbox.shutdown()
        thread = _reader_thread(self.ws)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)
