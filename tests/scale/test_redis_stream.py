"""Several web processes on one Redis stream keep one process's guarantees.

Real gunicorn web processes (tests/support/scale_support.py) on one PostgreSQL
database and one Redis prefix; real WebSocket and HTTP clients.
"""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from lossy_proxy import LossyProxy
from prometheus_client.parser import text_string_to_metric_families
from scale_support import SHARED_REDIS
from websockets.exceptions import ConnectionClosed

# Several real processes on a shared, loaded machine: more than the 60 s default.
pytestmark = pytest.mark.timeout(150)


def _tags(events: list[dict]) -> list[tuple[str, int]]:
    return [(e["tag"], e["n"]) for e in events]


def _assert_contiguous(events: list[dict]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


def test_a_client_on_a_receives_everything_published_on_b_in_stream_order(studio):
    a, b = studio.webs(2)
    on_a, on_b = a.ws(), b.ws()
    on_a.subscribe("system")
    on_b.subscribe("system")
    b.publish(150, tag="b")
    a.publish(50, tag="a")
    acked = [b.post("/websocket/broadcast", {"type": "note", "channel": "system",
                                               "data": {"tag": "x", "n": n}}).json()["seq"]
             for n in range(10)]
    got_a, got_b = on_a.events(210, timeout=30), on_b.events(210, timeout=30)
    assert [e["seq"] for e in got_a] == [e["seq"] for e in got_b]  # one order everywhere
    _assert_contiguous(got_a)
    tags = _tags(got_a)
    for tag, count in (("b", 150), ("a", 50), ("x", 10)):
        assert [n for t, n in tags if t == tag] == list(range(count))
    assert [e["seq"] for e in got_a if e["tag"] == "x"] == acked
    assert on_a.welcome["epoch"] == on_b.welcome["epoch"]
    history = a.get("/api/events?since=0&limit=1000").json()
    assert [e["seq"] for e in history["events"]] == [e["seq"] for e in got_a]
    assert a.stats()["bus"]["kind"] == "redis"


def test_a_client_moves_from_a_to_b_mid_stream_and_resumes_without_loss_or_doubles(studio):
    a, b = studio.webs(2)
    first = a.ws()
    first.subscribe("system")
    epoch = first.welcome["epoch"]
    b.publish(300, tag="m", interval=0.002)
    seen = first.events(60, timeout=30)
    first.close()
    second = b.ws()
    confirmed = second.request({"type": "subscribe", "channels": ["system"],
                                "since": {"epoch": epoch, "seq": seen[-1]["seq"]}},
                               "subscription_confirmed")
    assert confirmed["recovered"] is True
    rest = second.events(300 - len(seen), timeout=30)
    everything = seen + rest
    _assert_contiguous(everything)
    assert _tags(everything) == [("m", n) for n in range(300)]


def test_redis_killed_and_restarted_mid_stream_loses_no_acknowledged_event(private_studio):
    a, b = private_studio.webs(2)
    watcher = a.ws()
    watcher.subscribe("system")
    epoch = watcher.welcome["epoch"]
    acked: list[tuple[int, int]] = []  # (seq, n) of every 200
    refused = []
    halfway = threading.Event()
    done = threading.Event()

    def post_all():
        for n in range(120):
            if n == 40:
                halfway.set()
            answer = b.post("/websocket/broadcast", {"type": "note", "channel": "system",
                                                      "data": {"tag": "r", "n": n}}, timeout=30)
            if answer.status_code == 200:
                acked.append((answer.json()["seq"], n))
            else:
                assert answer.json()["code"] == "not_stored", answer.text
                refused.append(n)
        done.set()

    poster = threading.Thread(target=post_all, daemon=True)
    poster.start()
    assert halfway.wait(30)
    private_studio.redis.kill()
    private_studio.redis.start()
    assert done.wait(50)
    assert len(acked) > 40
    # Every acknowledged event is in the stream after the restart, in seq order ...
    history = []
    since = 0
    while True:
        page = a.get(f"/api/events?since={since}&limit=1000").json()
        history += page["events"]
        if not page["has_more"]:
            break
        since = page["next_since"]
    assert page["epoch"] == epoch  # AOF kept the epoch: positions stay valid
    stored = {e["seq"]: e["n"] for e in history}
    assert all(stored.get(seq) == n for seq, n in acked), (acked, stored)
    assert [e["seq"] for e in history] == sorted(stored)
    # ... and reached the client that stayed on A, in order.
    last = max(seq for seq, _ in acked)
    got = []
    while not got or got[-1]["seq"] < last:
        got += watcher.events(1, timeout=30)
    got_seqs = [e["seq"] for e in got]
    assert got_seqs == sorted(set(got_seqs))
    assert {seq for seq, _ in acked} <= set(got_seqs)


def test_redis_down_for_5_seconds_publishers_do_not_block_and_buffered_events_arrive(
        private_studio):
    a, b = private_studio.webs(2)
    watcher = a.ws()
    watcher.subscribe("system")
    b.publish(5, tag="before")
    assert _tags(watcher.events(5, timeout=20)) == [("before", n) for n in range(5)]
    private_studio.redis.kill()
    started = time.monotonic()
    answer = b.publish(50, tag="during")  # the pipeline's way: fire and forget
    assert answer["seconds"] < 2.0
    seen: list[dict] = []

    def all_buffered() -> bool:
        seen[:] = [b.stats()["bus"]]
        return seen[0]["buffered"] == 50 and not seen[0]["connected"]

    b.wait_for(all_buffered, timeout=20,
               what=lambda: f"50 events buffered while Redis is down (last seen: {seen})")
    t0 = time.monotonic()
    refused = b.post("/websocket/broadcast", {"type": "note", "channel": "system",
                                              "data": {"tag": "ack", "n": 0}}, timeout=30)
    assert refused.status_code == 503 and refused.json()["code"] == "not_stored"
    assert time.monotonic() - t0 < 3.0  # promptly, not after the 10 s store timeout
    bus = b.stats()["bus"]
    assert bus["last_error"] and bus["dropped"] == 0
    not_ready = b.get("/readyz")
    assert not_ready.status_code == 503 and "redis" in not_ready.json()["failing"]
    time.sleep(max(0.0, 5.0 - (time.monotonic() - started)))  # the outage lasts 5 s
    private_studio.redis.start()
    got = watcher.events(50, timeout=40)
    assert _tags(got) == [("during", n) for n in range(50)]
    _assert_contiguous(got)
    b.wait_for(lambda: b.stats()["bus"]["connected"], timeout=20, what="B reconnected")
    bus = b.stats()["bus"]
    assert bus["buffered"] == 0 and bus["reconnects"] >= 1
    assert b.get("/readyz").status_code == 200
    a.wait_for(lambda: a.stats()["bus"]["reconnects"] >= 1, timeout=20, what="A's reader back")


def test_after_an_outage_with_nothing_buffered_broadcasts_are_taken_again(private_studio):
    a = private_studio.web()
    private_studio.redis.kill()
    a.wait_for(lambda: not a.stats()["bus"]["connected"], timeout=20, what="link down")
    note = {"type": "note", "channel": "system", "data": {"tag": "late", "n": 0}}
    assert a.post("/websocket/broadcast", note).status_code == 503
    private_studio.redis.start()
    a.wait_for(lambda: a.stats()["bus"]["connected"], timeout=20, what="link up again")
    answer = a.post("/websocket/broadcast", note)
    assert answer.status_code == 200, answer.text
    history = a.get("/api/events?since=0").json()["events"]
    assert [e["tag"] for e in history] == ["late"]  # the refused one was never published


def test_buffer_overflow_is_counted_and_refused(private_studio):
    b = private_studio.web(DARKROOM_REDIS_BUFFER="20")
    private_studio.redis.kill()
    assert b.publish(30, tag="o")["seconds"] < 2.0
    b.wait_for(lambda: b.stats()["bus"]["dropped"] == 10, timeout=20, what="10 refused")
    assert b.stats()["bus"]["buffered"] <= 20


def test_clients_and_stats_list_every_process_and_disconnect_reaches_any(studio):
    a, b = studio.webs(2)
    on_a = a.ws()
    on_a.request({"type": "register", "client_type": "gui", "client_name": "wall"},
                 "registration_confirmed")
    on_b = b.ws()
    on_b.request({"type": "register", "client_type": "mobile", "client_name": "phone"},
                 "registration_confirmed")
    ids = {on_a.welcome["client_id"], on_b.welcome["client_id"]}

    def listed(server):
        clients = server.get("/websocket/clients").json()["clients"]
        return {c["id"]: c for c in clients}

    for server in (a, b):
        server.wait_for(lambda s=server: set(listed(s)) == ids
                        and {c["client_type"] for c in listed(s).values()} == {"gui", "mobile"},
                        timeout=20, what="both processes' clients listed")
    clients = listed(a)
    assert clients[on_a.welcome["client_id"]]["process"] != clients[on_b.welcome["client_id"]]["process"]
    stats = a.stats()
    assert stats["total_clients"] == 2
    assert stats["clients_by_type"] == {"gui": 1, "mobile": 1}
    assert len(stats["processes"]) == 2
    answer = a.post(f"/websocket/disconnect/{on_b.welcome['client_id']}")
    assert answer.status_code == 200, answer.text
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            on_b.recv(timeout=20)
    assert closed.value.rcvd.code == 1000
    missing = a.post("/websocket/disconnect/" + "0" * 32)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_client"


def test_a_redis_that_lost_its_data_starts_a_new_epoch_and_clients_resync(private_studio):
    a, b = private_studio.webs(2)
    watcher = a.ws()
    watcher.subscribe("system")
    old_epoch = watcher.welcome["epoch"]
    b.publish(5, tag="old")
    assert watcher.events(5, timeout=20)[-1]["seq"] == 5
    private_studio.redis.kill()
    shutil.rmtree(private_studio.redis.directory / "appendonlydir")
    private_studio.redis.start()
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            watcher.recv(timeout=30)
    assert closed.value.rcvd.code == 1012  # positions under the old epoch mean nothing now
    for server in (a, b):
        server.wait_for(lambda s=server: s.stats()["epoch"] != old_epoch, timeout=20,
                        what="the new epoch")
    again = a.ws()
    assert again.welcome["epoch"] == b.stats()["epoch"] != old_epoch
    confirmed = again.request({"type": "subscribe", "channels": ["system"],
                               "since": {"epoch": old_epoch, "seq": 5}}, "subscription_confirmed")
    assert confirmed["recovered"] is False
    b.publish(3, tag="new")
    assert [(e["seq"], e["tag"]) for e in again.events(3, timeout=20)] == [
        (1, "new"), (2, "new"), (3, "new")]


def test_an_event_whose_reply_redis_lost_is_stored_delivered_and_counted_once(studio):
    proxy = LossyProxy(int(SHARED_REDIS.rsplit(":", 1)[1].split("/")[0]))
    try:
        a = studio.web(REDIS_URL=proxy.url)
        watcher = a.ws()
        watcher.subscribe("system")
        proxy.lose_next_script_reply()
        answer = a.post("/websocket/broadcast",
                        {"type": "note", "channel": "system", "data": {"tag": "once", "n": 0}})
        assert answer.status_code == 200, answer.text
        assert proxy.lost.is_set()  # stored by Redis, the reply lost on its way back
        seq = answer.json()["seq"]
        a.publish(1, tag="after")
        assert [(e["seq"], e["tag"]) for e in watcher.events(2, timeout=20)] == [
            (seq, "once"), (seq + 1, "after")]
        history = a.get(f"/api/events?since={seq - 1}").json()["events"]
        assert [(e["seq"], e["tag"]) for e in history] == [(seq, "once"), (seq + 1, "after")]
        published = [s.value for f in text_string_to_metric_families(a.get("/metrics").text)
                     for s in f.samples if s.name == "darkroom_events_published_total"
                     and s.labels == {"channel": "system", "type": "note"}]
        assert published == [2.0]
    finally:
        proxy.close()


def test_sse_and_long_polling_resume_on_another_process(studio):
    from tests.realtime.streamclients import Poller, SseClient

    a, b = studio.webs(2)
    on_a = a.ws()
    on_a.subscribe("system")
    epoch = on_a.welcome["epoch"]
    a.publish(20, tag="h")
    seen = on_a.events(20, timeout=20)
    middle = seen[9]["seq"]
    sse = SseClient(b, {"channels": "system"}, headers={"Last-Event-ID": f"{epoch}:{middle}"})
    assert sse.status == 200
    assert [e["seq"] for e in sse.events(10, timeout=20)] == [e["seq"] for e in seen[10:]]
    sse.close()
    poller = Poller(b)
    reply = poller.subscribe("system", since={"epoch": epoch, "seq": middle})
    assert reply["recovered"] is True
    assert [e["seq"] for e in poller.events(10, timeout=20)] == [e["seq"] for e in seen[10:]]
