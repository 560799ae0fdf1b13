"""The event log as one Redis Stream, shared by every process of a studio install.

Each event is one stream entry whose id is ``<seq>-0``: a Lua script takes the
next ``seq`` numbers (INCRBY) and appends the entries (XADD) atomically, so the
stream's order *is* ``seq`` order whichever process published, and replay is
an XRANGE from ``since + 1``. Entry fields: ``c`` channel, ``t`` type, ``s``
source (empty for the pipeline's own events), ``w`` wall time it was
published, ``d`` the event's JSON exactly as clients receive it (the script
writes the ``seq`` into it, between the publisher's two halves).

The epoch is a key created with SET NX: it lives as long as the stream's data
does, so a Redis that lost its data (no persistence) starts a new epoch and
clients resync instead of resuming across the hole.

Appends are exactly once while Redis keeps its data: the script records each
process's last batch id (``{prefix}:batch:<process>``), so a batch sent again
after its reply was lost gets the seqs it was stored under instead of new ones.
A batch sent again under another epoch is not stored: whether or not it was,
it belonged to the history Redis lost.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Collection, Optional

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from darkroom.realtime.stream_rows import Outgoing, TextRow, entry_row

IO_TIMEOUT = 2.0  # seconds one Redis command may take before the link counts as down
_TRIM_PAGE = 500
_BATCH_TTL = 86400  # seconds a process's last batch id is kept (refreshed by each append)
STREAM_GONE = -1  # the script's answer to a batch sent again under another epoch

# KEYS: seq, stream, epoch, this process's last batch. ARGV: maxlen, epoch
# candidate, expected epoch ('' for any), batch id, batch TTL, then 6 per event:
# channel, type, source, wall time, JSON before the seq, JSON after it.
_APPEND = """
local last = redis.call('GET', KEYS[4])
if last then
  local sep = string.find(last, ':', 1, true)
  if string.sub(last, 1, sep - 1) == ARGV[4] then
    return tonumber(string.sub(last, sep + 1))
  end
end
local epoch = redis.call('GET', KEYS[3])
if ARGV[3] ~= '' and epoch ~= ARGV[3] then
  return -1
end
if not epoch then
  redis.call('SET', KEYS[3], ARGV[2])
end
local n = (#ARGV - 5) / 6
local first = redis.call('INCRBY', KEYS[1], n) - n + 1
for i = 0, n - 1 do
  local b = 6 + i * 6
  local seq = string.format('%.0f', first + i)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], seq .. '-0',
             'c', ARGV[b], 't', ARGV[b + 1], 's', ARGV[b + 2], 'w', ARGV[b + 3],
             'd', ARGV[b + 4] .. seq .. ARGV[b + 5])
end
redis.call('SET', KEYS[4], ARGV[4] .. ':' .. string.format('%.0f', first), 'EX', ARGV[5])
return first
"""


def process_id() -> str:
    """Host and pid, and a random part: two hubs of one process (tests) and a reused pid differ."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


class Keys:
    """Every key of one install; the braces keep them in one Redis Cluster slot."""

    def __init__(self, prefix: str):
        base = "{" + prefix + "}"
        self.stream = f"{base}:events"
        self.seq = f"{base}:seq"
        self.epoch = f"{base}:epoch"
        self.processes = f"{base}:processes"
        self._base = base

    def presence(self, process: str) -> str:
        return f"{self._base}:presence:{process}"

    def control(self, process: str) -> str:
        return f"{self._base}:control:{process}"

    def batch(self, process: str) -> str:
        return f"{self._base}:batch:{process}"


def connect(url: str, timeout: float = IO_TIMEOUT) -> redis.Redis:
    """A client that fails fast and never retries by itself (the callers decide: an
    append retried blindly after a timeout could store an event twice)."""
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                retry=Retry(NoBackoff(), 0), health_check_interval=0)


class RedisEventLog:
    """The ``EventLog`` the hub replays from, kept in the stream (see the module docstring)."""

    lost_before = 0  # an event is delivered only once the stream holds it

    def __init__(self, client: redis.Redis, keys: Keys, max_events: int, process: str = ""):
        self.redis = client
        self.keys = keys
        self.max_events = max_events
        self.process = process or process_id()
        self.epoch = ""
        self._append = client.register_script(_APPEND)

    def ensure_epoch(self, client: Optional[redis.Redis] = None) -> str:
        """The stream's epoch, created now if Redis has none (a new or emptied Redis)."""
        client = client or self.redis
        client.set(self.keys.epoch, uuid.uuid4().hex[:16], nx=True)
        return client.get(self.keys.epoch).decode()

    def open(self) -> int:
        """Load or create the epoch; return the newest ``seq`` (0 for a new stream).

        A process cannot know its position without Redis, so it does not start without it.
        """
        try:
            self.epoch = self.ensure_epoch()
            return int(self.redis.get(self.keys.seq) or 0)
        except redis.RedisError as exc:
            where = self.redis.connection_pool.connection_kwargs
            raise RuntimeError(f"the event stream's Redis ({where.get('host')}:{where.get('port')}) "
                               f"is unreachable: {exc}") from None

    def append(self, rows: list[Outgoing], batch: str = "", expect_epoch: str = "",
               client: Optional[redis.Redis] = None) -> bool:
        """Store ``rows`` in one atomic script call and give each its ``seq``.

        ``batch``: this process's id for the call; the same id sent again (its reply
        was lost) gets the seqs it was stored under. ``expect_epoch``: the epoch it
        was first sent under; False (nothing stored) if the stream is another epoch's now.
        """
        if not rows:
            return True
        args: list = [self.max_events, uuid.uuid4().hex[:16], expect_epoch,
                      batch or uuid.uuid4().hex, _BATCH_TTL]
        for row in rows:
            args += [row.channel, row.type, row.source, repr(row.created), row.head, row.tail]
        keys = [self.keys.seq, self.keys.stream, self.keys.epoch, self.keys.batch(self.process)]
        first = int(self._append(keys=keys, args=args, client=client))
        if first == STREAM_GONE:
            return False
        for i, row in enumerate(rows):
            row.seq = first + i
        return True

    def read(self, since: int, until: Optional[int], channels: Optional[Collection[str]],
             limit: int) -> list[TextRow]:
        """Events with ``since < seq <= until`` on ``channels`` (all if None), oldest first."""
        wanted = None if channels is None else set(channels)
        end = "+" if until is None else str(until)
        out: list[TextRow] = []
        start = since + 1
        while len(out) < limit:
            entries = self.redis.xrange(self.keys.stream, str(start), end, count=max(limit, 100))
            for entry_id, fields in entries:
                row = entry_row(entry_id, fields)
                if wanted is None or row.channel in wanted:
                    out.append(TextRow(row.seq, row.channel, row.type, row.created,
                                       row.data.decode()))
                    if len(out) == limit:
                        break
            if len(entries) < max(limit, 100):
                break
            start = entry_row(*entries[-1]).seq + 1
        return out

    def oldest_seq(self) -> Optional[int]:
        entries = self.redis.xrange(self.keys.stream, "-", "+", count=1)
        return entry_row(*entries[0]).seq if entries else None

    def trim(self, max_events: int, max_age: float) -> int:
        """Drop events beyond the retention (count exactly, then age); the newest stays."""
        stream = self.keys.stream
        gone = self.redis.xtrim(stream, maxlen=max(max_events, 1), approximate=False)
        newest = self.redis.xrevrange(stream, "+", "-", count=1)
        if not newest:
            return gone
        newest_seq = entry_row(*newest[0]).seq
        cutoff = time.time() - max_age
        start = "-"
        while True:
            entries = self.redis.xrange(stream, start, "+", count=_TRIM_PAGE)
            keep = next((entry_row(i, f).seq for i, f in entries
                         if float(f[b"w"]) >= cutoff), None)
            if keep is not None or len(entries) < _TRIM_PAGE:
                break
            start = str(entry_row(*entries[-1]).seq + 1)
        keep = newest_seq if keep is None else min(keep, newest_seq)
        return gone + self.redis.xtrim(stream, minid=str(keep), approximate=False)

    def close(self) -> None:
        self.redis.close()
