"""Nothing lost: the durable log, resume with ``since``, snapshots, coalescing, restarts."""

from __future__ import annotations

import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed

import websocket_events as events
from darkroom.db import Database
from darkroom.realtime.coalesce import Coalescer
from darkroom.realtime.eventlog import LogRow, SqlEventLog


def resume(server, since: dict, *channels, snapshot=False):
    client = server.ws()
    client.send({"type": "subscribe", "channels": list(channels), "since": since,
                 "snapshot": snapshot})
    return client, client.recv_type("subscription_confirmed")


def custom(server, n: int, channel: str = "jobs", **extra) -> None:
    for i in range(n):
        server.hub.publish("tick", channel, {"i": i, **extra})


def test_fifty_clients_get_every_event_exactly_once_in_order(live_server):
    clients = [live_server.ws() for _ in range(50)]
    for c in clients:
        c.subscribe("jobs")
    start = live_server.hub.seq
    custom(live_server, 1000)
    for c in clients:
        got = c.events(1000, timeout=30)
        assert [m["i"] for m in got] == list(range(1000))
        seqs = [m["seq"] for m in got]
        assert seqs == list(range(seqs[0], seqs[0] + 1000)) and seqs[0] > start


def test_client_away_for_500_events_resumes_with_all_of_them(live_server):
    c = live_server.ws()
    c.subscribe("jobs")
    custom(live_server, 10, phase="before")
    last = c.events(10)[-1]
    c.close()
    custom(live_server, 500, phase="away")
    custom(live_server, 5, channel="photos")  # not asked for: never replayed
    back, confirmed = resume(live_server, {"epoch": c.welcome["epoch"], "seq": last["seq"]},
                             "jobs")
    assert confirmed["recovered"] is True and confirmed["epoch"] == live_server.hub.epoch
    got = back.events(500)
    assert [m["i"] for m in got] == list(range(500)) and {m["phase"] for m in got} == {"away"}
    assert [m["seq"] for m in got] == list(range(last["seq"] + 1, last["seq"] + 501))
    custom(live_server, 3, phase="live")
    assert [m["phase"] for m in back.events(3)] == ["live"] * 3


def test_resume_from_another_epoch_or_before_retention_is_not_recovered(make_server):
    server = make_server(log_max_events=50)
    custom(server, 200)
    server.wait_for(lambda: server.hub.seq >= 200, 5, "published")
    gone = server.hub.log.trim(50, 3600)
    assert gone > 0
    for since in ({"epoch": "someotherepoch", "seq": 150}, {"epoch": server.hub.epoch, "seq": 3}):
        c, confirmed = resume(server, since, "jobs")
        assert confirmed["recovered"] is False and confirmed["channels"] == ["jobs"]
        with pytest.raises(TimeoutError):
            c.recv_type("tick", timeout=0.3)  # nothing partial
    c, confirmed = resume(server, {"epoch": server.hub.epoch, "seq": server.hub.seq - 10}, "jobs")
    assert confirmed["recovered"] is True and len(c.events(10)) == 10


def test_replay_and_live_never_interleave_out_of_order(live_server):
    c = live_server.ws()
    c.subscribe("jobs")
    custom(live_server, 1)
    mark = c.events(1)[0]
    c.close()
    custom(live_server, 3000)
    stop = threading.Event()

    def keep_publishing():
        n = 0
        while not stop.is_set() and n < 20000:
            live_server.hub.publish("tick", "jobs", {"i": -1})
            n += 1
            time.sleep(0.0002)

    publisher = threading.Thread(target=keep_publishing)
    publisher.start()
    try:
        back, confirmed = resume(live_server, {"epoch": mark.get("epoch", live_server.hub.epoch),
                                               "seq": mark["seq"]}, "jobs")
        assert confirmed["recovered"] is True
        got = back.events(4000, timeout=30)
    finally:
        stop.set()
        publisher.join()
    seqs = [m["seq"] for m in got]
    assert seqs == list(range(mark["seq"] + 1, mark["seq"] + 4001))


def test_snapshot_reflects_running_jobs_and_current_state(live_server):
    events.broadcast_job_progress(job_id=1, stage="rendering", progress=40.0, message="a")
    events.broadcast_job_progress(job_id=2, stage="loading", progress=5.0)
    events.broadcast_job_progress(job_id=3, stage="writing", progress=90.0)
    events.broadcast_job_completed(job_id=3, photo_id=3, result={})
    events.broadcast_queue_status(pending=4, processing=2, completed=1, failed=0)
    events.broadcast_session_updated(session_id=9, total_photos=10, processed_photos=3,
                                     status="processing")
    events.broadcast_system_status(status="ok", details={"cpu_percent": 3})
    events.broadcast_approval_queue_updated(queue_count=2, session_id=9)
    live_server.wait_for(lambda: live_server.stats()["events_published"].get("system", 0) >= 1,
                         5, "published")
    c = live_server.ws()
    c.send({"type": "subscribe", "channels": ["jobs", "queue", "sessions", "system", "approval"],
            "snapshot": True})
    c.recv_type("subscription_confirmed")
    live_server.hub.publish("marker", "jobs", {})  # the snapshot comes before any live event
    got = []
    while (m := c.recv())["type"] != "marker":
        got.append(m)
    progress = {m["job_id"]: m for m in got if m["type"] == "job_progress"}
    assert set(progress) == {1, 2} and progress[1]["progress"] == 40.0
    latest = {m["type"]: m for m in got}
    assert latest["queue_status"]["processing"] == 2
    assert latest["session_updated"]["session_id"] == 9
    assert latest["system_status"]["status"] == "ok"
    assert latest["approval_queue_updated"]["queue_count"] == 2
    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)


def test_progress_flood_is_coalesced_with_the_final_one_last(live_server):
    c = live_server.ws()
    c.subscribe("jobs")
    for i in range(10000):
        events.broadcast_job_progress(job_id=77, stage="rendering", progress=i / 100,
                                      message=f"row {i}")
    events.broadcast_job_progress(job_id=77, stage="writing", progress=100.0)
    events.broadcast_job_completed(job_id=77, photo_id=1, result={"ok": True})
    got = []
    while not got or got[-1]["type"] != "job_completed":
        got.extend(c.events(1, timeout=10))
    progress = [m for m in got if m["type"] == "job_progress"]
    assert len(progress) <= 40
    rendering = [m for m in progress if m["stage"] == "rendering"]
    assert rendering[0]["message"] == "row 0" and rendering[-1]["message"] == "row 9999"
    assert progress[-1]["stage"] == "writing" and got[-1]["type"] == "job_completed"


def test_slow_client_under_progress_floods_is_not_disconnected(make_server):
    server = make_server(outbox_limit=64 * 1024, coalesce_interval=0.0)
    slow = server.ws()
    slow.subscribe("jobs")
    for i in range(3000):
        events.broadcast_job_progress(job_id=i % 5, stage="rendering", progress=(i % 100) * 1.0,
                                      message="m" * 2000)
    events.broadcast_job_completed(job_id=4, photo_id=1, result={})
    server.wait_for(lambda: server.stats()["superseded_in_outboxes"] > 0, 5, "superseding")
    time.sleep(0.5)
    got = []
    while not got or got[-1]["type"] != "job_completed":
        got.extend(slow.events(1, timeout=10))
    assert server.stats()["disconnected"]["slow"] == 0
    seqs = [m["seq"] for m in got]
    assert seqs == sorted(seqs)
    last = {m["job_id"]: m["progress"] for m in got if m["type"] == "job_progress"}
    assert last == {j: float((2995 + j) % 100) for j in range(5)}


def test_history_over_http(live_server):
    custom(live_server, 30, channel="export")
    custom(live_server, 5, channel="photos")
    live_server.wait_for(lambda: live_server.stats()["events_published"].get("photos") == 5, 5,
                         "published")
    page = live_server.get("/api/events?since=0&channels=export&limit=20").json()
    assert page["success"] and page["has_more"] and len(page["events"]) == 20
    assert page["epoch"] == live_server.hub.epoch and page["complete"]
    rest = live_server.get(f"/api/events?since={page['next_since']}&channels=export").json()
    assert [e["i"] for e in page["events"] + rest["events"]] == list(range(30))
    assert not rest["has_more"]
    assert live_server.get("/api/events?channels=nope").status_code == 400
    assert live_server.get("/api/events?since=x").status_code == 400
    assert live_server.get(f"/api/events?since={2**63}").status_code == 400  # beyond any seq


def test_server_restart_mid_stream_loses_nothing(start_app, tmp_path):
    app = start_app()
    c = app.ws()
    c.subscribe("system")
    for i in range(50):
        app.post("/websocket/broadcast", {"type": "custom_event", "channel": "system",
                                          "data": {"n": i}})
    got = c.events(50, type_="custom_event")
    epoch = c.welcome["epoch"]
    app.terminate()
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            c.recv(timeout=5)
    assert closed.value.rcvd.code == 1001
    app2 = start_app(port=app.port, data_dir=tmp_path / "data")
    for i in range(50, 80):
        app2.post("/websocket/broadcast", {"type": "custom_event", "channel": "system",
                                           "data": {"n": i}})
    back, confirmed = resume(app2, {"epoch": epoch, "seq": got[-1]["seq"]}, "system")
    assert confirmed["recovered"] is True and confirmed["epoch"] == epoch
    assert back.welcome["epoch"] == epoch and back.welcome["seq"] > got[-1]["seq"]
    more = back.events(30, type_="custom_event")
    everything = got + more
    assert [m["n"] for m in everything] == list(range(80))
    seqs = [m["seq"] for m in everything]
    assert len(set(seqs)) == 80 and seqs == sorted(seqs)


def test_new_database_means_new_epoch(tmp_path):
    a = SqlEventLog(Database(f"sqlite:///{tmp_path / 'a.db'}"))
    a.open()
    a.append([LogRow(1, "jobs", "tick", time.time(), "{}")])
    a.db.dispose()
    again = SqlEventLog(Database(f"sqlite:///{tmp_path / 'a.db'}"))
    assert again.open() == 1
    other = SqlEventLog(Database(f"sqlite:///{tmp_path / 'b.db'}"))
    assert other.open() == 0 and other.epoch != again.epoch == a.epoch


def test_trim_keeps_the_newest_event(tmp_path):
    log = SqlEventLog(Database(f"sqlite:///{tmp_path / 'log.db'}"))
    log.open()
    log.append([LogRow(s, "jobs", "t", time.time() - 100, "{}") for s in range(1, 11)])
    assert log.trim(max_events=100, max_age=10) == 9
    assert log.oldest_seq() == 10
    log.append([LogRow(s, "jobs", "t", time.time(), "{}") for s in range(11, 21)])
    assert log.trim(max_events=5, max_age=3600) == 6
    assert log.oldest_seq() == 16


def test_coalescer_keeps_first_and_last_of_each_phase():
    co = Coalescer(interval=0.1)
    out = co.offer("a1", ("p", 1), "load", None, 0.0)
    out += co.offer("a2", ("p", 1), "load", None, 0.01)
    out += co.offer("a3", ("p", 1), "load", None, 0.02)
    assert out == ["a1"] and co.next_due(0.02) == pytest.approx(0.08)
    out = co.offer("b1", ("p", 1), "render", None, 0.03)
    assert out == ["a3", "b1"]
    assert co.offer("b2", ("p", 1), "render", None, 0.04) == []
    assert co.offer("other", None, None, None, 0.05) == ["other"]
    assert co.offer("done", None, None, ("p", 1), 0.06) == ["b2", "done"]
    assert co.offer("q1", ("q",), None, None, 0.0) == ["q1"]
    assert co.offer("q2", ("q",), None, None, 0.05) == []
    assert co.due(0.09) == [] and co.due(0.1) == ["q2"]
    assert co.offer("q3", ("q",), None, None, 0.15) == []
    assert co.flush() == ["q3"]


def test_a_large_replay_is_paced_not_kicked(make_server):
    server = make_server(outbox_limit=256 * 1024)
    c = server.ws()
    c.subscribe("jobs")
    custom(server, 1)
    mark = c.events(1)[0]
    c.close()
    custom(server, 3000, pad="p" * 1600)  # ~5 MB to replay through a 256 KiB outbox
    back, confirmed = resume(server, {"epoch": server.hub.epoch, "seq": mark["seq"]}, "jobs")
    assert confirmed["recovered"] is True
    got = back.events(3000, timeout=30)
    assert [m["i"] for m in got] == list(range(3000))
    assert server.stats()["disconnected"]["slow"] == 0
