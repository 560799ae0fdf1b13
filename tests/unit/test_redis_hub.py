"""The hub on a shared stream, alone: a real Hub and real Redis, a client on an in-memory outbox.

Another process's publishes are appended to the stream directly (as its link
would); this hub's reader is off, and the test hands it the stream's entries
(what its reader would do), so the test decides how far behind it is.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from harness import need
from scale_support import SHARED_REDIS, delete_prefix, redis_problem

import websocket_events
from darkroom.config import Config
from darkroom.realtime.hub import Hub
from darkroom.realtime.memory_outbox import MemoryOutbox
from darkroom.realtime.stream_rows import Outgoing, entry_row


class MemoryTransport:
    """The smallest transport: frames are the JSON bytes, kept in a MemoryOutbox."""

    kind = "test"

    def __init__(self):
        self.outbox = MemoryOutbox(1 << 20, lambda outbox: None)
        self.framer = bytes
        self.open = True

    def receive(self, timeout: float):
        return None

    def close(self, code: int, reason: str) -> None:
        self.open = False

    def end_reason(self) -> str:
        return "closed"

    def release(self, linger: float) -> None:
        pass

    def messages(self, count: int, timeout: float = 10) -> list[dict]:
        out: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            assert time.monotonic() < deadline, f"got {out}"
            out += [json.loads(f) for f in self.outbox.take(0.1)]
        return out


@pytest.fixture
def shared(tmp_path):
    problem = redis_problem()
    need(problem is None, problem or "")
    from darkroom.realtime import redis_log
    from darkroom.realtime.redis_link import RedisLink

    prefix = f"unit-{uuid.uuid4().hex[:12]}"
    keys = redis_log.Keys(prefix)
    here = redis_log.RedisEventLog(redis_log.connect(SHARED_REDIS), keys, 1000)
    hub = Hub(Config(data_dir=tmp_path), here, websocket_events.EVENTS,
              stream=RedisLink(SHARED_REDIS, here, 100, read=False))
    hub.start()
    elsewhere = redis_log.RedisEventLog(redis_log.connect(SHARED_REDIS), keys, 1000)
    elsewhere.open()
    yield hub, elsewhere
    hub.stop()
    elsewhere.close()
    delete_prefix(SHARED_REDIS, prefix)


def _published_elsewhere(event_log, count: int) -> list:
    rows = [Outgoing("system", "note", "external", time.time(),
                     b'{"type":"note","timestamp":"t","channel":"system","seq":',
                     b',"n":' + str(n).encode() + b"}") for n in range(count)]
    event_log.append(rows)
    return [entry_row(i, f) for i, f in event_log.redis.xrange(event_log.keys.stream)]


def test_a_resume_from_further_than_this_process_has_read_waits_for_its_reader(shared):
    hub, elsewhere = shared
    stored = _published_elsewhere(elsewhere, 10)
    assert hub.seq == 0  # this process has read none of them yet
    transport = MemoryTransport()
    client = hub.connect(transport, "127.0.0.1")
    hub.subscribe(client, ["system"], since={"epoch": hub.epoch, "seq": 6})
    assert transport.outbox.take(0.3) == []  # no answer while it cannot know
    hub._feed(stored[:8])  # the reader catches up past the client's position...
    confirmed, *events = transport.messages(3)
    assert confirmed["type"] == "subscription_confirmed" and confirmed["recovered"] is True
    assert [e["seq"] for e in events] == [7, 8]  # ... the client gets only what it missed
    hub._feed(stored[8:])
    assert [e["seq"] for e in transport.messages(2)] == [9, 10]


def test_a_resume_from_beyond_the_stream_is_not_recovered_once_the_wait_is_over(shared,
                                                                               monkeypatch):
    from darkroom.realtime import hub as hub_module

    monkeypatch.setattr(hub_module, "AHEAD_WAIT", 0.2)
    hub, _ = shared
    transport = MemoryTransport()
    client = hub.connect(transport, "127.0.0.1")
    hub.subscribe(client, ["system"], since={"epoch": hub.epoch, "seq": 500})
    [confirmed] = transport.messages(1)
    assert confirmed["recovered"] is False


def test_stream_events_become_this_process_s_seq_state_and_counters(shared):
    hub, elsewhere = shared
    transport = MemoryTransport()
    client = hub.connect(transport, "127.0.0.1")
    hub.subscribe(client, ["system"])
    transport.messages(1)
    stored = _published_elsewhere(elsewhere, 3)
    hub._feed(stored)
    hub._feed(stored)  # read again after a reconnect: never delivered twice
    assert [e["n"] for e in transport.messages(3)] == [0, 1, 2]
    assert transport.outbox.take(0.2) == []
    assert hub.seq == 3 and hub.stats()["events_published"] == {"system": 3}
    assert hub.stats()["bus"]["kind"] == "redis"
