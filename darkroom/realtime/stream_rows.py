"""The rows of a shared event stream, on their way in and on their way out.

No Redis here: the hub builds ``Outgoing`` rows without needing the client
library, which only a studio install (``redis_url``) has to have.
"""

from __future__ import annotations

from typing import NamedTuple


class Outgoing:
    """An event on its way to the stream: its ``seq`` is known once ``append`` stored it."""

    __slots__ = ("channel", "type", "source", "created", "head", "tail", "receipt", "seq")

    def __init__(self, channel: str, type_: str, source: str, created: float,
                 head: bytes, tail: bytes, receipt=None):
        self.channel, self.type, self.source, self.created = channel, type_, source, created
        self.head, self.tail, self.receipt = head, tail, receipt
        self.seq = 0

    @property
    def data(self) -> str:
        return (self.head + str(self.seq).encode() + self.tail).decode()


class StreamRow(NamedTuple):
    """One stored event as read back (``data`` stays bytes: it goes to sockets as is)."""

    seq: int
    channel: str
    type: str
    created: float
    data: bytes
    source: str


def entry_row(entry_id: bytes, fields: dict) -> StreamRow:
    return StreamRow(int(entry_id.split(b"-", 1)[0]), fields[b"c"].decode(), fields[b"t"].decode(),
                     float(fields[b"w"]), fields[b"d"], fields[b"s"].decode())


class TextRow(NamedTuple):
    """A row as the SQL log gives it (``data`` as text), for readers that expect that."""

    seq: int
    channel: str
    type: str
    created: float
    data: str
