"""Server-Sent Events (``GET /events``) on real servers with a raw-socket reader: the records,
resume with Last-Event-ID or ``?since=``, resync, heartbeats, the hub's client list, the
slow-client rules, the end of a stream from either side, and refusals.

Where the server matters (taking over the socket, the response head, the end of a
stream) the test runs on both: Werkzeug (``live_server``) and gunicorn (``python app.py``).
"""

from __future__ import annotations

import socket

import pytest
from streamclients import SseClient

from darkroom.realtime.transports import sse


def broadcast(server, n: int, channel: str = "jobs", type_: str = "tick", **data) -> int:
    r = server.post("/websocket/broadcast", {"type": type_, "channel": channel,
                                             "data": {"n": n, **data}})
    assert r.status_code == 200, r.text
    return r.json()["seq"]


@pytest.fixture(params=["werkzeug", "gunicorn"])
def server(request, make_server, start_app):
    if request.param == "werkzeug":
        return make_server()
    return start_app()


def open_stream(server, **query) -> SseClient:
    """A stream on ``query``'s channels, past its greeting and subscription."""
    client = SseClient(server, query)
    assert client.status == 200, client.buffer
    assert client.record()["event"] == "connection_established"
    client.confirmed = client.until("subscription_confirmed")
    return client


def test_records_carry_the_websocket_json_an_id_and_the_type(server):
    stream = SseClient(server, {"channels": "jobs,photos", "client_type": "mobile",
                                "client_name": "Wall"})
    assert stream.status == 200
    assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.headers["x-accel-buffering"] == "no"
    hello = stream.record()
    assert hello["event"] == "connection_established" and hello["id"] is None
    assert "hint" not in hello["data"]  # it asked for channels
    confirmed = stream.record()
    epoch = hello["data"]["epoch"]
    assert confirmed["event"] == "subscription_confirmed"
    assert confirmed["data"]["channels"] == ["jobs", "photos"]
    # The live stream starts after this position: a reconnect before any event resumes here.
    assert confirmed["id"] == f"{epoch}:{confirmed['data']['seq']}"

    ws = server.ws()
    ws.subscribe("jobs", "photos")
    seq = broadcast(server, 1, text="line one\nline two")
    seq2 = broadcast(server, 2, channel="photos", type_="snap")
    frames = [stream.record(), stream.record()]
    on_ws = [ws.conn.recv(timeout=5) for _ in range(2)]
    assert [f["event"] for f in frames] == ["tick", "snap"]
    assert [f["id"] for f in frames] == [f"{epoch}:{seq}", f"{epoch}:{seq2}"]
    # Exactly the bytes /ws carries, on one data: line.
    assert [f["raw"].decode() for f in frames] == on_ws
    assert all(f["data_lines"] == 1 for f in frames)

    listed = [c for c in server.get("/websocket/clients").json()["clients"] if c["transport"] == "sse"]
    assert len(listed) == 1
    assert listed[0]["client_type"] == "mobile" and listed[0]["client_name"] == "Wall"
    assert listed[0]["subscriptions"] == ["jobs", "photos"]
    assert server.stats()["clients_by_type"].get("mobile") == 1
    stream.close()
    server.wait_for(lambda: not [c for c in server.get("/websocket/clients").json()["clients"]
                                 if c["transport"] == "sse"], what="the SSE client gone")
    assert server.stats()["disconnected"]["gone"] >= 1


def test_reconnect_with_last_event_id_gets_exactly_the_missed_events(server):
    stream = open_stream(server, channels="jobs")
    for n in range(3):
        broadcast(server, n)
    seen = stream.events(3)
    last_id = stream.last_id
    stream.close()
    for n in range(3, 8):  # while it is away
        broadcast(server, n)
    # ?since= is only the first connect's: the browser's Last-Event-ID wins.
    again = SseClient(server, {"channels": "jobs", "since": f"{last_id.split(':')[0]}:0"},
                      headers={"Last-Event-ID": last_id})
    assert again.record()["event"] == "connection_established"
    confirmed = again.until("subscription_confirmed")
    assert confirmed["data"]["recovered"] is True and confirmed["id"] is None
    broadcast(server, 8)
    missed = again.events(6)
    assert [m["n"] for m in seen + missed] == list(range(9))  # nothing lost, nothing twice
    seqs = [m["seq"] for m in seen + missed]
    assert seqs == sorted(set(seqs))
    assert server.stats()["replays"]["recovered"] >= 1


def test_since_in_the_query_resumes_like_last_event_id(live_server):
    first = broadcast(live_server, 0)
    for n in range(1, 4):
        broadcast(live_server, n)
    epoch = live_server.hub.epoch
    stream = open_stream(live_server, channels="jobs", since=f"{epoch}:{first}")
    assert stream.confirmed["data"]["recovered"] is True
    assert [m["n"] for m in stream.events(3)] == [1, 2, 3]


@pytest.mark.parametrize("last_id", ["0123456789abcdef:3", "not an id", "x:1:2"])
def test_a_position_that_cannot_be_recovered_gets_resync_with_the_new_position(live_server, last_id):
    broadcast(live_server, 0)
    stream = SseClient(live_server, {"channels": "jobs"}, headers={"Last-Event-ID": last_id})
    stream.record()
    confirmed = stream.until("subscription_confirmed")
    assert confirmed["data"]["recovered"] is False
    resync = stream.record()
    assert resync["event"] == "resync"
    position = f"{live_server.hub.epoch}:{live_server.hub.seq}"
    assert resync["id"] == confirmed["id"] == position
    assert resync["data"]["reason"] == "not_recovered"
    broadcast(live_server, 1)
    assert stream.events(1)[0]["n"] == 1
    assert live_server.stats()["replays"]["not_recovered"] == 1


def test_snapshot_state_comes_without_ids_so_the_position_never_goes_back(live_server):
    live_server.hub.publish("queue_status", "queue", {"pending": 1, "processing": 0,
                                                     "completed": 0, "failed": 0, "total": 1})
    broadcast(live_server, 0, channel="queue")
    stream = open_stream(live_server, channels="queue", snapshot="1")
    state = stream.record()
    assert state["event"] == "queue_status" and state["id"] is None
    assert stream.last_id == stream.confirmed["id"]


def test_heartbeat_comments_at_the_ping_interval(make_server):
    server = make_server(ping_interval=0.2)
    stream = open_stream(server, channels="jobs")
    assert stream.heartbeat() == b": heartbeat"
    assert stream.heartbeat() == b": heartbeat"


def test_the_server_ends_a_stream_with_a_close_record(server):
    stream = open_stream(server, channels="jobs")
    client_id = [c["id"] for c in server.get("/websocket/clients").json()["clients"]
                 if c["transport"] == "sse"][0]
    assert server.post(f"/websocket/disconnect/{client_id}").status_code == 200
    close = stream.until("close")
    assert close["data"]["code"] == 1000 and close["id"] is None
    assert stream.ended()
    server.wait_for(lambda: server.stats()["total_clients"] == 0, what="client removed")
    assert server.stats()["disconnected"]["closed"] == 1


def test_a_slow_reader_is_dropped_alone_and_resumes(make_server):
    server = make_server(outbox_limit=64 * 1024, stall_timeout=30)
    slow = SseClient(server, {"channels": "jobs"}, rcvbuf=4096)
    server.wait_for(lambda: any(c.channels for c in server.hub.clients()), what="subscribed")
    # A congested link: the kernel holds little for this client, so its outbox fills.
    next(c for c in server.hub.clients()).outbox.raw.setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    healthy = open_stream(server, channels="jobs")
    payload = "x" * 1000
    for n in range(600):  # ~600 KB: far past the slow reader's socket buffers and outbox
        server.hub.publish("tick", "jobs", {"n": n, "pad": payload})
    assert [m["n"] for m in healthy.events(600, timeout=30)] == list(range(600))
    server.wait_for(lambda: server.stats()["disconnected"]["slow"] == 1, timeout=10,
                    what="the slow reader dropped")
    assert server.stats()["total_clients"] == 1
    assert server.stats()["outbox_high_water_bytes"] > 64 * 1024
    # What it did get is whole and in order, then the close record (1013), then the end.
    got, close = [], None
    while close is None:
        rec = slow.record(timeout=10)
        if rec["event"] == "close":
            close = rec["data"]
        elif "channel" in rec["data"]:
            got.append(rec["data"]["n"])
    assert close["code"] == 1013 and slow.ended()
    assert got == list(range(len(got))) and len(got) < 600
    # Back with its last id: exactly the rest.
    again = SseClient(server, {"channels": "jobs"}, headers={"Last-Event-ID": slow.last_id})
    assert again.until("subscription_confirmed")["data"]["recovered"] is True
    assert got + [m["n"] for m in again.events(600 - len(got), timeout=30)] == list(range(600))


@pytest.mark.parametrize("query, code", [
    ({}, "missing_field"),
    ({"channels": ""}, "missing_field"),
    ({"channels": "jobs,nope"}, "unknown_channel"),
    ({"channels": "jobs", "client_type": "toaster"}, "unknown_client_type"),
    ({"channels": "jobs", "since": "nonsense"}, "invalid_field"),
])
def test_bad_requests_are_400_before_any_stream(live_server, query, code):
    r = live_server.get("/events", params=query)
    assert r.status_code == 400 and r.json()["code"] == code, r.text
    assert live_server.stats()["total_clients"] == 0


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "null"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Host": "evil.example:80"}, 403),
])
def test_foreign_pages_cannot_follow_the_stream(live_server, headers, status):
    stream = SseClient(live_server, {"channels": "jobs"}, headers=headers)
    assert stream.status == status
    assert live_server.stats()["total_clients"] == 0


def test_own_origin_and_loopback_origins_are_allowed(live_server):
    for origin in (live_server.url, f"http://localhost:{live_server.port}"):
        stream = SseClient(live_server, {"channels": "jobs"}, headers={"Origin": origin})
        assert stream.status == 200
        stream.close()


def test_a_full_or_stopping_server_ends_the_stream_at_once_with_a_retry(make_server):
    # Not a 503: EventSource gives up for good on anything but a 200 event stream.
    server = make_server(max_clients=1)
    first = open_stream(server, channels="jobs")
    full = SseClient(server, {"channels": "jobs"})
    assert full.status == 200 and full.headers["content-type"].startswith("text/event-stream")
    close = full.until("close")
    assert close["data"]["code"] == 1013 and close["data"]["error_code"] == "too_many_clients"
    assert full.retry == 10000
    assert full.ended()
    assert server.stats()["refused"]["too_many_clients"] == 1
    first.close()
    server.wait_for(lambda: server.stats()["total_clients"] == 0, what="first gone")
    server.hub.stop()
    stopping = SseClient(server, {"channels": "jobs"})
    assert stopping.until("close")["data"]["code"] == 1001


def test_lan_mode_needs_the_token(make_server):
    server = make_server(lan=True, host="127.0.0.1")
    token = (server.config.data_dir / "token").read_text().strip()
    refused = SseClient(server, {"channels": "jobs"})
    assert refused.status == 401
    wrong = SseClient(server, {"channels": "jobs"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    server.token = token
    stream = open_stream(server, channels="jobs")
    broadcast(server, 1)
    assert stream.events(1)[0]["n"] == 1


def test_lan_mode_takes_the_token_in_the_query_for_event_source(make_server):
    server = make_server(lan=True, host="127.0.0.1")
    token = (server.config.data_dir / "token").read_text().strip()
    stream = SseClient(server, {"channels": "jobs", "token": token})
    assert stream.status == 200


def test_one_framer_per_epoch_shared_by_every_client():
    frame, snapshot = sse.framers("e1")
    assert sse.framers("e1") == (frame, snapshot)
    assert sse.framers("e2")[0] is not frame
    event = b'{"type":"tick","timestamp":"t","channel":"jobs","seq":7,"n":1}'
    assert frame(event) == b"id: e1:7\nevent: tick\ndata: " + event + b"\n\n"
    assert snapshot(event) == b"event: tick\ndata: " + event + b"\n\n"
