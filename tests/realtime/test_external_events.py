"""Events a client posts to /websocket/broadcast: delivered and logged, never the server's state,
and a 200 is a promise that the event is in the durable log."""

from __future__ import annotations

import signal
import threading

import psutil
import requests

import websocket_events as events

FAIL_APPENDS = ("CREATE TRIGGER fail_appends BEFORE INSERT ON event_log "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END")


def snapshot(server, *channels: str) -> list[dict]:
    c = server.ws()
    c.send({"type": "subscribe", "channels": list(channels), "snapshot": True})
    c.recv_type("subscription_confirmed")
    server.hub.publish("marker", channels[0], {})  # the snapshot comes before any live event
    got = []
    while (m := c.recv())["type"] != "marker":
        got.append(m)
    c.close()
    return got


def logged_notes(server) -> set[int]:
    """The seq of every "note" event in the durable log, read page by page."""
    logged: set[int] = set()
    since = 0
    while True:
        page = server.get(f"/api/events?since={since}&channels=system&limit=1000").json()
        logged |= {e["seq"] for e in page["events"] if e["type"] == "note"}
        since = page["next_since"]
        if not page["has_more"]:
            return logged


def test_an_external_catalogue_event_never_becomes_snapshot_state(live_server):
    events.broadcast_job_progress(job_id=1, stage="rendering", progress=40.0)
    events.broadcast_queue_status(pending=2, processing=1, completed=0, failed=0)
    forged = [
        {"type": "job_progress", "data": {"job_id": 1, "stage": "rendering", "progress": 99.0}},
        {"type": "job_progress", "data": {"job_id": 666, "stage": "loading", "progress": 1.0}},
        {"type": "job_completed", "data": {"job_id": 1, "photo_id": 1, "result": {}}},
        {"type": "queue_status", "data": {"pending": 0, "processing": 0, "completed": 9,
                                          "failed": 0}},
    ]
    for body in forged:
        r = live_server.post("/websocket/broadcast", body)
        assert r.status_code == 200, r.text
    state = snapshot(live_server, "jobs", "queue")
    assert all(m.get("source") is None for m in state)
    progress = {m["job_id"]: m["progress"] for m in state if m["type"] == "job_progress"}
    assert progress == {1: 40.0}  # not 99, not ended, no job 666
    assert [m["pending"] for m in state if m["type"] == "queue_status"] == [2]


def test_an_external_event_never_replaces_the_pipelines_state_in_an_outbox(live_server):
    c = live_server.ws()
    c.subscribe("jobs")
    events.broadcast_job_progress(job_id=5, stage="rendering", progress=10.0)
    live_server.post("/websocket/broadcast", {"type": "job_progress", "data": {
        "job_id": 5, "stage": "rendering", "progress": 80.0}})
    got = c.events(2)
    assert [(m["progress"], m.get("source")) for m in got] == [(10.0, None), (80.0, "external")]


def test_a_200_carries_the_seq_and_the_event_is_already_in_the_log(live_server):
    seqs = []
    for i in range(20):
        r = live_server.post("/websocket/broadcast", {"type": "note", "channel": "system",
                                                      "data": {"i": i}})
        assert r.status_code == 200
        seq = r.json()["seq"]
        history = live_server.get(f"/api/events?since={seq - 1}&limit=1").json()
        assert [e["seq"] for e in history["events"]] == [seq]
        seqs.append(seq)
    assert seqs == sorted(seqs)


def test_an_event_the_log_refused_is_503_not_stored(live_server):
    with live_server.runtime.db.engine.begin() as conn:
        conn.exec_driver_sql(FAIL_APPENDS)
    r = live_server.post("/websocket/broadcast", {"type": "note", "channel": "system", "data": {}})
    assert r.status_code == 503 and r.json()["code"] == "not_stored"


def test_no_acknowledged_event_is_lost_to_kill_9(start_app, tmp_path):
    data = tmp_path / "data"
    app = start_app(data_dir=data)
    acknowledged: list[int] = []
    lock = threading.Lock()

    def post(n: int) -> None:
        for i in range(n):
            r = app.post("/websocket/broadcast", {"type": "note", "channel": "system",
                                                  "data": {"i": i}})
            if r.status_code == 200:
                with lock:
                    acknowledged.append(r.json()["seq"])

    threads = [threading.Thread(target=post, args=(40,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    master = psutil.Process(app.proc.pid)
    tree = [*master.children(recursive=True), master]
    for process in tree:  # the whole server, at once, as a crash would
        process.send_signal(signal.SIGKILL)
    app.proc.wait(timeout=10)
    psutil.wait_procs(tree, timeout=10)
    assert len(acknowledged) == 320
    again = start_app(data_dir=data)
    assert set(acknowledged) <= logged_notes(again)


def test_sigterm_keeps_every_acknowledged_event_and_refuses_the_rest(start_app, tmp_path):
    data = tmp_path / "data"
    app = start_app(data_dir=data)
    acknowledged: list[int] = []
    answers: list[int] = []
    lock = threading.Lock()
    half = threading.Event()

    def post() -> None:
        for i in range(400):
            try:
                r = app.post("/websocket/broadcast", {"type": "note", "channel": "system",
                                                      "data": {"i": i}}, timeout=5)
            except requests.RequestException:
                return  # the server has gone
            with lock:
                answers.append(r.status_code)
                if r.status_code == 200:
                    acknowledged.append(r.json()["seq"])
                if len(acknowledged) >= 100:
                    half.set()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    assert half.wait(30)
    app.terminate(signal.SIGTERM)
    for t in threads:
        t.join()
    assert set(answers) <= {200, 503}
    again = start_app(data_dir=data)
    assert set(acknowledged) <= logged_notes(again)
