"""What the stream promises when things go wrong: no resume across a log hole,
and not one byte after a close frame."""

from __future__ import annotations

import struct
import threading

from rawws import RawClient

FAIL_APPENDS = ("CREATE TRIGGER fail_appends BEFORE INSERT ON event_log "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END")


def _sql(server, statement: str) -> None:
    with server.runtime.db.engine.begin() as conn:
        conn.exec_driver_sql(statement)


def test_a_batch_the_log_failed_to_store_is_never_resumed_across(live_server):
    hub = live_server.hub
    for i in range(5):
        hub.publish("tick", "jobs", {"i": i})
    live_server.wait_for(lambda: hub.seq == 5, what="five published")
    hub.log.flush()  # and committed
    _sql(live_server, FAIL_APPENDS)  # the database refuses writes, as a full disk would
    for i in range(3):
        hub.publish("tick", "jobs", {"i": 5 + i})
    live_server.wait_for(lambda: hub.seq == 8, what="three delivered live only")
    hub.log.flush()  # the log's writer has tried them
    assert live_server.stats()["log_failures"] >= 1
    _sql(live_server, "DROP TRIGGER fail_appends")
    for i in range(2):
        hub.publish("tick", "jobs", {"i": 8 + i})
    live_server.wait_for(lambda: hub.seq == 10, what="logging again")

    c = live_server.ws()
    confirmed = c.request({"type": "subscribe", "channels": ["jobs"],
                           "since": {"epoch": hub.epoch, "seq": 5}}, "subscription_confirmed")
    assert confirmed["recovered"] is False  # events 6-8 are in no log
    history = live_server.get("/api/events?since=5").json()
    assert history["complete"] is False

    after = live_server.ws()
    confirmed = after.request({"type": "subscribe", "channels": ["jobs"],
                               "since": {"epoch": hub.epoch, "seq": 8}}, "subscription_confirmed")
    assert confirmed["recovered"] is True
    assert [m["i"] for m in after.events(2)] == [8, 9]


def test_nothing_is_written_after_the_close_frame(live_server):
    """Clients close while events stream to them; each close echo must be the last frame.

    The race is between the echo and the hub's next write, so it is run many times.
    """
    hub = live_server.hub
    stop = threading.Event()

    def publish() -> None:
        n = 0
        while not stop.is_set() and n < 2_000_000:
            hub.publish("tick", "jobs", {"n": n})
            n += 1

    publisher = threading.Thread(target=publish)
    publisher.start()
    try:
        for _ in range(4):
            _close_while_streaming(live_server)
    finally:
        stop.set()
        publisher.join()


def _close_while_streaming(server) -> None:
    raw = RawClient("127.0.0.1", server.port, rcvbuf=1 << 20)
    try:
        raw.send_json({"type": "subscribe", "channels": ["jobs"]})
        opcode, _ = raw._frame()  # the first frame after subscribing: events are flowing
        raw.sock.sendall(bytes((0x88, 0x82)) + b"\0\0\0\0" + struct.pack("!H", 1000))
        code, _ = raw.read_until_close()
        assert code == 1000
        trailing = raw.buffer
        while chunk := raw.sock.recv(65536):
            trailing += chunk
        assert trailing == b"", f"{len(trailing)} bytes after the close frame"
    finally:
        raw.close()
