"""The Redis Stream event log alone, against the real Redis at 127.0.0.1:6379."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from harness import need
from scale_support import SHARED_REDIS, delete_prefix, redis_problem

from darkroom.realtime.stream_rows import Outgoing


@pytest.fixture
def stream_log():
    problem = redis_problem()
    need(problem is None, problem or "")
    from darkroom.realtime import redis_log

    prefix = f"unit-{uuid.uuid4().hex[:12]}"
    event_log = redis_log.RedisEventLog(redis_log.connect(SHARED_REDIS), redis_log.Keys(prefix),
                                        max_events=1000)
    yield event_log
    event_log.close()
    delete_prefix(SHARED_REDIS, prefix)


def _row(n: int, channel: str = "system", created: float = 0.0, source: str = "") -> Outgoing:
    head = b'{"type":"note","timestamp":"t","channel":"' + channel.encode() + b'","seq":'
    return Outgoing(channel, "note", source, created or time.time(), head,
                    b',"n":' + str(n).encode() + b"}")


def test_append_stamps_consecutive_seqs_into_the_json_and_the_entry_ids(stream_log):
    assert stream_log.open() == 0
    rows = [_row(n) for n in range(3)]
    stream_log.append(rows)
    assert [r.seq for r in rows] == [1, 2, 3]
    more = [_row(3)]
    stream_log.append(more)
    assert more[0].seq == 4
    ids = [i for i, _ in stream_log.redis.xrange(stream_log.keys.stream)]
    assert ids == [b"1-0", b"2-0", b"3-0", b"4-0"]
    stored = stream_log.read(0, None, None, 10)
    assert [json.loads(r.data) for r in stored] == [
        {"type": "note", "timestamp": "t", "channel": "system", "seq": s, "n": s - 1}
        for s in (1, 2, 3, 4)]
    assert stream_log.open() == 4  # a process that starts now continues from here


def test_read_is_exclusive_of_since_inclusive_of_until_and_filters_channels(stream_log):
    stream_log.open()
    stream_log.append([_row(n, "jobs" if n % 3 == 0 else "system") for n in range(300)])
    assert [r.seq for r in stream_log.read(10, 14, None, 100)] == [11, 12, 13, 14]
    jobs = stream_log.read(0, None, ["jobs"], 50)
    assert [r.seq for r in jobs] == [1 + 3 * k for k in range(50)]  # past one XRANGE page
    assert stream_log.read(300, None, None, 10) == []
    assert stream_log.oldest_seq() == 1


def test_trim_keeps_the_newest_by_count_and_by_age_and_never_the_last_one(stream_log):
    stream_log.open()
    old = time.time() - 1000
    stream_log.append([_row(n, created=old) for n in range(20)] + [_row(20), _row(21)])
    assert stream_log.trim(max_events=15, max_age=3600) == 7
    assert stream_log.oldest_seq() == 8
    assert stream_log.trim(max_events=15, max_age=500) == 13  # the 13 old ones left
    assert stream_log.oldest_seq() == 21
    assert stream_log.trim(max_events=15, max_age=0) == 1
    assert [r.seq for r in stream_log.read(0, None, None, 10)] == [22]


def test_the_epoch_lasts_as_long_as_the_data_and_is_new_after_it_is_lost(stream_log):
    stream_log.open()
    epoch = stream_log.epoch
    assert stream_log.ensure_epoch() == epoch
    stream_log.redis.delete(stream_log.keys.epoch, stream_log.keys.seq, stream_log.keys.stream)
    assert stream_log.open() == 0
    assert stream_log.epoch != epoch


def test_without_redis_a_process_does_not_start_and_says_why():
    from harness import free_port

    from darkroom.realtime import redis_log

    port = free_port()
    event_log = redis_log.RedisEventLog(redis_log.connect(f"redis://127.0.0.1:{port}/0"),
                                        redis_log.Keys("nowhere"), 10)
    with pytest.raises(RuntimeError, match=f"127.0.0.1:{port}.*unreachable"):
        event_log.open()
