"""The seam between the hub and the wire: what the hub needs of a client's connection.

The hub knows a client only through a ``Transport``: a ``framer`` that turns an
encoded message (compact JSON bytes) into the bytes this wire carries, a
bounded non-blocking ``Outbox`` every byte goes through, and a way to close.
Each wire (WebSocket today; Server-Sent Events, long polling) is one adapter
module in ``darkroom/realtime/transports/``; nothing else in the realtime core
knows a web library.

``framer`` must be a plain function of the bytes alone, the same object for
every client of one kind: the hub frames each event once per framer and writes
the same bytes to all of them. A transport whose frames carry the client's
position in the stream (SSE's ``id:``) may also have a ``snapshot_framer``, used
for the state events a ``snapshot`` subscription sends (they are older than the
position; see ``Hub.subscribe``).

The outbox may be any object with ``Outbox``'s interface: the long-polling
transport has no socket, and its ``MemoryOutbox`` holds the frames until the
client polls (``darkroom/realtime/memory_outbox.py``).
"""

from __future__ import annotations

from typing import Callable, Optional, Protocol

from darkroom.realtime.outbox import Outbox

# Why a connection ended, as counted in ``/websocket/stats`` ``disconnected``.
END_REASONS = ("slow", "dead", "too_big", "rate_limited", "closed", "gone", "replay_failed",
               "server_error")


class TransportClosed(Exception):
    """The connection is closed: nothing more will be received on it."""


class Transport(Protocol):
    kind: str
    outbox: Outbox  # or an object with its interface (MemoryOutbox)
    framer: Callable[[bytes], bytes]

    @property
    def open(self) -> bool:
        """Neither side has started to close the connection."""

    def receive(self, timeout: float) -> Optional[str | bytes]:
        """The next message from the client, None after ``timeout`` s; raises TransportClosed."""

    def close(self, code: int, reason: str) -> None:
        """Start a clean close (queued behind nothing: frames not yet started are dropped)."""

    def end_reason(self) -> str:
        """Once the connection is over: one of ``END_REASONS`` (closed, gone, dead, too_big)."""

    def release(self, linger: float) -> None:
        """Let the close reach the peer (at most ``linger`` s), then free the socket and threads."""
