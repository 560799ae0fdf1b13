"""The long-polling client's outbox (darkroom/realtime/memory_outbox.py): Outbox's rules
without a socket."""

from __future__ import annotations

import threading
import time

from darkroom.realtime.memory_outbox import MemoryOutbox


def outbox(limit: int = 1000):
    slow = []
    return MemoryOutbox(limit, slow.append), slow


def test_frames_wait_whole_and_in_order_until_taken():
    box, _ = outbox()
    assert box.write([(None, b"a"), (None, b"bb")]) and box.write([(None, b"c")])
    assert box.pending() == 4 and box.high_water == 4
    assert not box.wait_drained(0)
    assert box.take(0) == [b"a", b"bb", b"c"]
    assert box.pending() == 0 and box.wait_drained(0) and box.take(0) == []


def test_a_state_frame_supersedes_the_one_still_waiting_and_goes_last():
    box, _ = outbox()
    box.write([(("job", 1), b"p10"), (None, b"other"), (("job", 2), b"q10")])
    box.write([(("job", 1), b"p20")])
    assert box.take(0) == [b"other", b"q10", b"p20"]
    assert box.superseded == 1 and box.pending() == 0


def test_over_the_limit_the_client_is_reported_slow():
    box, slow = outbox(limit=10)
    box.write([(None, b"x" * 10)])
    assert slow == []
    box.write([(None, b"y")])
    assert slow == [box]


def test_take_waits_for_the_first_frame_and_no_longer_than_its_timeout():
    box, _ = outbox()
    t0 = time.monotonic()
    assert box.take(0.2) == [] and time.monotonic() - t0 >= 0.19
    got = []
    taker = threading.Thread(target=lambda: got.append(box.take(10)))
    taker.start()
    while not box._taker:  # the taker is in
        time.sleep(0.001)
    box.write([(None, b"now")])
    taker.join(timeout=5)
    assert got == [[b"now"]]


def test_a_newer_take_sends_the_older_one_away_empty():
    box, _ = outbox()
    got = []
    first = threading.Thread(target=lambda: got.append(box.take(10)))
    first.start()
    while box._taker != 1:
        time.sleep(0.001)
    t0 = time.monotonic()
    assert box.take(0.05) == []
    first.join(timeout=5)
    assert got == [[]] and time.monotonic() - t0 < 5


def test_close_drops_what_waits_queues_the_notice_and_refuses_more():
    box, _ = outbox()
    box.write([(None, b"a")])
    box.close_with(b"close")
    assert box.closed and not box.accepting
    assert box.write([(None, b"late")]) is False
    assert box.take(0) == [b"close"]
    assert box.take(5) == []  # nothing more will come: no wait


def test_shutdown_wakes_a_waiting_take():
    box, _ = outbox()
    got = []
    taker = threading.Thread(target=lambda: got.append(box.take(10)))
    taker.start()
    while not box._taker:
        time.sleep(0.001)
    box.shutdown()
    taker.join(timeout=5)
    assert got == [[]] and box.write([(None, b"x")]) is False


def test_intercept_takes_frames_out_of_the_queue():
    box, _ = outbox()
    box.intercept = lambda frame: frame == b"reply"
    box.write([(None, b"event"), (None, b"reply"), (("k",), b"reply")])
    assert box.take(0) == [b"event", b"reply"]  # a keyed frame is state, never a reply
