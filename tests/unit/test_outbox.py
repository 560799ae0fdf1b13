"""The outbox over a real socketpair: order, superseding, limits, stalls and the close."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from darkroom.realtime.outbox import Flusher, Outbox


@pytest.fixture
def pair():
    ours, peer = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    peer.settimeout(5)
    yield ours, peer
    ours.close()
    peer.close()


@pytest.fixture
def flusher():
    stalled: list[Outbox] = []
    flusher = Flusher(stall_timeout=0.3, on_stalled=stalled.append)
    flusher.stalled = stalled
    flusher.start()
    yield flusher
    flusher.stop()


def make(pair, flusher, limit: int = 1 << 20) -> tuple[Outbox, socket.socket, list]:
    ours, peer = pair
    slow: list[Outbox] = []
    return Outbox(ours, flusher, limit, slow.append), peer, slow


def read_exactly(peer: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = peer.recv(65536)
        assert chunk, "peer closed early"
        out += chunk
    return out


def fill(outbox: Outbox) -> bytes:
    """Write until the kernel holds no more and something waits in the outbox."""
    sent = b""
    i = 0
    while outbox.pending() == 0:
        frame = b"F%05d" % i + b"." * 994
        outbox.write([(None, frame)])
        sent += frame
        i += 1
    return sent


def fill_kernel(sock: socket.socket) -> int:
    """Send around the outbox until the kernel's buffer is full; the bytes it took."""
    taken = 0
    try:
        while True:
            taken += sock.send(b"k" * 4096)
    except BlockingIOError:
        return taken


def test_frames_arrive_whole_and_in_order_when_the_kernel_is_full(pair, flusher):
    outbox, peer, _ = make(pair, flusher)
    sent = fill(outbox)
    extra = [b"after-%d" % i for i in range(50)]
    for frame in extra:
        assert outbox.write([(None, frame)]) is True
    expected = sent + b"".join(extra)
    assert read_exactly(peer, len(expected)) == expected
    assert outbox.wait_drained(5) and outbox.pending() == 0
    assert outbox.high_water > 0


def test_a_waiting_state_frame_is_replaced_by_the_newer_one(pair, flusher):
    outbox, peer, _ = make(pair, flusher)
    sent = fill(outbox)
    outbox.write([(("job", 1), b"<job1 10%>")])
    outbox.write([(None, b"<other>")])
    outbox.write([(("job", 1), b"<job1 20%>")])
    expected = sent + b"<other><job1 20%>"
    assert read_exactly(peer, len(expected)) == expected
    assert outbox.superseded == 1


def test_a_partly_written_frame_is_never_superseded(pair, flusher):
    ours, peer = pair
    outbox, _, _ = make(pair, flusher)
    big = b"S" * 200_000  # far more than the kernel takes: its head goes out, the rest waits
    outbox.write([(("k",), big)])
    assert 0 < outbox.pending() < len(big)
    outbox.write([(("k",), b"newer")])
    expected = big + b"newer"
    assert read_exactly(peer, len(expected)) == expected


def test_an_outbox_over_its_limit_reports_the_client_slow(pair, flusher):
    outbox, _, slow = make(pair, flusher, limit=10_000)
    fill(outbox)
    for _ in range(20):
        outbox.write([(None, b"x" * 1000)])
    assert slow and set(slow) == {outbox}


def test_an_outbox_that_makes_no_progress_is_reported_stalled(pair, flusher):
    outbox, _, _ = make(pair, flusher)
    fill(outbox)  # the peer never reads
    deadline = threading.Event()
    for _ in range(100):
        if flusher.stalled:
            break
        deadline.wait(0.05)
    assert flusher.stalled == [outbox]


def test_close_with_drops_waiting_frames_sends_the_close_last_and_refuses_more(pair, flusher):
    outbox, peer, _ = make(pair, flusher)
    sent = fill(outbox)
    outbox.write([(None, b"never-sent")])
    outbox.close_with(b"<close>")
    assert outbox.write([(None, b"after-close")]) is False
    got = b""
    peer.settimeout(1)
    while not got.endswith(b"<close>"):
        got += peer.recv(65536)
    assert b"never-sent" not in got and b"after-close" not in got
    assert got.endswith(b"<close>") and sent.startswith(got[:len(got) - len(b"<close>")][:1000])
    assert outbox.wait_drained(5)


def test_a_close_the_kernel_takes_only_in_part_is_sent_in_full_by_the_flusher(pair, flusher):
    outbox, peer, _ = make(pair, flusher)
    close = b"<close>" + b"C" * 200_000  # nothing waits, but the kernel takes only its head
    outbox.close_with(close)
    assert 0 < outbox.pending() < len(close)
    assert read_exactly(peer, len(close)) == close
    assert outbox.wait_drained(5)


def test_once_the_flusher_drained_the_outbox_the_next_frame_goes_straight_to_the_socket(
        pair, flusher):
    outbox, peer, _ = make(pair, flusher)
    sent = fill(outbox)
    assert read_exactly(peer, len(sent)) == sent
    assert outbox.wait_drained(5)
    outbox.write([(None, b"next")])
    assert outbox.pending() == 0  # sent by the write itself, not left for the flusher
    assert read_exactly(peer, 4) == b"next"


def test_an_outbox_that_stopped_accepting_sends_nothing_more(pair, flusher):
    outbox, peer, _ = make(pair, flusher)
    outbox.write([(None, b"hello")])
    outbox.stop_accepting()
    assert outbox.write([(None, b"late")]) is False
    assert read_exactly(peer, 5) == b"hello"
    peer.settimeout(0.2)
    with pytest.raises(TimeoutError):
        peer.recv(10)


def test_a_close_behind_frames_not_yet_started_is_sent_at_once():
    ours, peer = socket.socketpair()
    idle = Flusher(stall_timeout=30, on_stalled=lambda _: None)  # never started: nothing drains
    try:
        outbox = Outbox(ours, idle, 1 << 20, lambda _: None)
        filler = fill_kernel(ours)  # so the next frame waits whole
        outbox.write([(None, b"queued")])
        assert outbox.pending() == len(b"queued")
        peer.settimeout(5)
        read_exactly(peer, filler)
        outbox.close_with(b"<close>")
        assert outbox.pending() == 0
        assert read_exactly(peer, 7) == b"<close>"
    finally:
        idle.stop()
        ours.close()
        peer.close()


def test_shutdown_refuses_writes_and_ends_the_connection(pair, flusher):
    outbox, peer, _ = make(pair, flusher)
    outbox.write([(None, b"hello")])
    outbox.shutdown()
    assert outbox.write([(None, b"late")]) is False
    assert read_exactly(peer, 5) == b"hello"
    assert peer.recv(10) == b""


def test_a_long_idle_outbox_is_not_stalled_by_its_first_congested_write(pair, flusher):
    outbox, _, _ = make(pair, flusher)
    fill_kernel(outbox.raw)  # the kernel's buffer full, and nothing waiting in the outbox
    outbox.last_progress -= 3600  # an hour since the outbox last wrote anything
    outbox.write([(None, b"first frame in an hour")])
    assert outbox.pending() > 0
    assert outbox.stalled_for(time.monotonic()) < 1.0
