"""The hub's link to Redis alone: buffering, refusing, withdrawing, following the stream,
and storing a batch exactly once when its reply is lost (through ``LossyProxy``)."""

from __future__ import annotations

import queue
import time
import uuid

import pytest
from harness import free_port, need
from lossy_proxy import LossyProxy
from scale_support import SHARED_REDIS, delete_prefix, redis_problem

from darkroom.realtime.hub import Receipt
from darkroom.realtime.stream_rows import Outgoing


def _link(url: str, prefix: str, buffer_limit: int):
    from darkroom.realtime import redis_log
    from darkroom.realtime.redis_link import RedisLink

    event_log = redis_log.RedisEventLog(redis_log.connect(url), redis_log.Keys(prefix), 1000)
    return RedisLink(url, event_log, buffer_limit)


def _row(n: int) -> Outgoing:
    return Outgoing("system", "note", "", time.time(), b'{"type":"note","seq":',
                    b',"n":' + str(n).encode() + b"}", Receipt())


@pytest.fixture
def prefix():
    problem = redis_problem()
    need(problem is None, problem or "")
    name = f"unit-{uuid.uuid4().hex[:12]}"
    yield name
    delete_prefix(SHARED_REDIS, name)


@pytest.fixture
def proxy(prefix):
    lossy = LossyProxy(int(SHARED_REDIS.rsplit(":", 1)[1].split("/")[0]))
    yield lossy
    lossy.close()


def _stored_seqs(prefix: str) -> list[int]:
    import redis

    from darkroom.realtime.redis_log import Keys

    client = redis.Redis.from_url(SHARED_REDIS)
    entries = client.xrange(Keys(prefix).stream)
    client.close()
    return [int(entry_id.split(b"-")[0]) for entry_id, _ in entries]


def test_without_redis_sending_never_blocks_and_overflow_is_refused_and_counted(prefix):
    link = _link(f"redis://127.0.0.1:{free_port()}/0", prefix, buffer_limit=20)
    feed: queue.SimpleQueue = queue.SimpleQueue()
    link.start(0, feed.put, lambda epoch: None)
    rows = [_row(n) for n in range(30)]
    started = time.monotonic()
    link.send(rows)
    assert time.monotonic() - started < 0.5
    assert all(r.receipt.wait(0) and not r.receipt.stored for r in rows[20:])
    assert link.dropped == 10
    deadline = time.monotonic() + 10
    while link.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    health = link.health()
    assert health["kind"] == "redis" and not health["connected"]
    assert health["buffered"] + sum(r.receipt.wait(0) for r in rows[:20]) <= 20
    assert "ConnectionError" in health["last_error"]
    waiting = next(r for r in rows[:20] if not r.receipt.wait(0))
    deadline = time.monotonic() + 10
    while not link.withdraw(waiting.receipt):  # it may be in a failing attempt right now
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert waiting.receipt.wait(0) and not waiting.receipt.stored
    link.stop()
    assert all(r.receipt.wait(0) and not r.receipt.stored for r in rows)  # nothing left hanging


def test_with_redis_receipts_settle_once_stored_and_the_reader_brings_them_back_in_order(prefix):
    link = _link(SHARED_REDIS, prefix, buffer_limit=1000)
    seq = link.log.open()
    feed: queue.SimpleQueue = queue.SimpleQueue()
    link.start(seq, feed.put, lambda epoch: None)
    rows = [_row(n) for n in range(700)]  # more than one script call
    link.send(rows[:400])
    link.send(rows[400:])
    assert all(r.receipt.wait(10) and r.receipt.stored for r in rows)
    assert [r.receipt.seq for r in rows] == list(range(1, 701))
    got = []
    while len(got) < 700:
        got += feed.get(timeout=10)
    assert [g.seq for g in got] == list(range(1, 701))
    assert got[5].data == b'{"type":"note","seq":6,"n":5}'
    assert link.health()["connected"] and link.health()["buffered"] == 0
    assert not link.withdraw(rows[0].receipt)  # stored: nothing to take back
    link.stop()


def _losing_a_reply(prefix: str, proxy: LossyProxy, then_refuse: bool = False):
    """A started link whose first batch (5 events) Redis stores but whose reply is lost."""
    link = _link(proxy.url, prefix, buffer_limit=100)
    link.start(link.log.open(), lambda rows: None, lambda epoch: None)
    proxy.lose_next_script_reply(then_refuse=then_refuse)
    rows = [_row(n) for n in range(5)]
    link.send(rows)
    assert proxy.lost.wait(10)  # Redis ran the script; the link never heard
    return link, rows


def _stored_once_then_continues(link, rows: list[Outgoing], prefix: str) -> None:
    assert all(r.receipt.wait(10) and r.receipt.stored for r in rows)
    assert [r.receipt.seq for r in rows] == [1, 2, 3, 4, 5]
    later = _row(5)
    link.send([later])
    assert later.receipt.wait(10) and later.receipt.seq == 6
    assert _stored_seqs(prefix) == [1, 2, 3, 4, 5, 6]  # nothing twice
    link.stop()


def test_a_batch_whose_reply_was_lost_is_stored_once_under_the_seqs_it_got(prefix, proxy):
    link, rows = _losing_a_reply(prefix, proxy)
    _stored_once_then_continues(link, rows, prefix)  # sent again, found, not stored again


def test_a_batch_whose_reply_was_lost_when_redis_lost_its_data_is_not_stored_again(prefix, proxy):
    link, rows = _losing_a_reply(prefix, proxy, then_refuse=True)
    delete_prefix(SHARED_REDIS, prefix)  # Redis lost its data, the 5 events with it
    proxy.forward()
    assert all(r.receipt.wait(10) and not r.receipt.stored for r in rows)
    assert link.health()["dropped"] == 5
    after = _row(9)
    link.send([after])
    assert after.receipt.wait(10) and after.receipt.stored and after.receipt.seq == 1
    assert _stored_seqs(prefix) == [1]  # the new epoch starts with what came after the loss
    link.stop()


def test_a_batch_whose_reply_was_lost_waits_apart_while_redis_stays_unreachable(prefix, proxy):
    link, rows = _losing_a_reply(prefix, proxy, then_refuse=True)
    deadline = time.monotonic() + 10
    while proxy.refused < 4:  # the link tries again and again, and gets no connection
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert link.health()["buffered"] == 0  # the batch waits as it is, never copied back
    assert not link.withdraw(rows[0].receipt)  # and cannot be taken back: it may be stored
    proxy.forward()
    _stored_once_then_continues(link, rows, prefix)
