"""Long polling (``/ws/handshake``, ``/ws/send``, ``/ws/poll``, ``/ws/disconnect``) on real
servers with a real HTTP client: the same protocol and replies as /ws, nothing lost between
polls, the bounded outbox and slow-client rule, resume with ``since``, expiry, the limits,
Lua's JSON shapes, and LAN mode's token and the Origin rules."""

from __future__ import annotations

import time

import pytest
import requests
from streamclients import Poller, position

from darkroom.realtime.transports import longpoll


def broadcast(server, n: int, channel: str = "jobs", type_: str = "tick", **data) -> int:
    r = server.post("/websocket/broadcast", {"type": type_, "channel": channel,
                                             "data": {"n": n, **data}})
    assert r.status_code == 200, r.text
    return r.json()["seq"]


def pollers_of(server) -> list[dict]:
    return [c for c in server.get("/websocket/clients").json()["clients"]
            if c["transport"] == "longpoll"]


@pytest.fixture(params=["werkzeug", "gunicorn"])
def server(request, make_server, start_app):
    if request.param == "werkzeug":
        return make_server()
    return start_app()


def test_handshake_send_and_poll_speak_the_websocket_protocol(server):
    p = Poller(server, client_type="lightroom", client_name="Lightroom Classic")
    shake = p.handshake
    assert shake["success"] is True and shake["client_id"]
    assert shake["heartbeat_interval"] == 15.0 and isinstance(shake["seq"], int) and shake["epoch"]
    assert "subscribe" in shake["hint"]
    [listed] = pollers_of(server)
    assert listed["id"] == p.id and listed["client_type"] == "lightroom"
    assert listed["client_name"] == "Lightroom Classic"

    ws = server.ws()
    for message, reply_type in [
        ({"type": "ping"}, "pong"),
        ({"type": "register", "client_type": "lightroom", "client_name": "LrC"},
         "registration_confirmed"),
        ({"type": "subscribe", "channels": ["jobs", "photos"]}, "subscription_confirmed"),
        ({"type": "unsubscribe", "channels": ["photos"]}, "unsubscription_confirmed"),
    ]:
        over_http = p.send(message)["reply"]
        over_ws = ws.request(message, reply_type)
        assert over_http["type"] == over_ws["type"] == reply_type
        # The same fields (a poller's subscription also says where its stream starts).
        assert set(over_http) - {"client_id", "epoch", "seq"} == set(over_ws) - {"client_id"}
        if reply_type.endswith("confirmed") and "channels" in over_ws:
            assert over_http["channels"] == over_ws["channels"]
    # A JSON text is a message too, and bad input is /ws's error, answered, not fatal.
    assert p.send('{"type": "ping"}')["reply"]["type"] == "pong"
    bad = p.send({"type": "subscribe", "channels": "jobs"}, status=400)
    assert bad["code"] == "invalid_channels" and bad["reply"]["type"] == "error"
    assert p.send({"type": "dance"}, status=400)["code"] == "unknown_type"
    assert p.send("not json", status=400)["code"] == "invalid_json"

    seq = broadcast(server, 1)
    first = p.poll(wait=5)
    assert first["success"] is True
    assert [m["seq"] for m in first["messages"]] == [seq]
    assert first["messages"][0] == ws.events(1)[0]  # the same JSON as /ws
    assert pollers_of(server)[0]["subscriptions"] == ["jobs"]
    assert p.disconnect().json() == {"success": True, "client_id": p.id}
    assert pollers_of(server) == []
    assert p.poll(status=404)["code"] == "unknown_client"


def test_a_poll_returns_at_once_when_events_wait_and_else_holds_until_one_comes(live_server):
    p = Poller(live_server)
    p.subscribe("jobs")
    broadcast(live_server, 0)
    t0 = time.monotonic()
    assert [m["n"] for m in p.poll(wait=20)["messages"]] == [0]
    assert time.monotonic() - t0 < 5
    registry = live_server.app.extensions["darkroom_streams"].pollers
    thread, out = p.poll_in_background(wait=20)
    live_server.wait_for(lambda: registry.get(p.id).polls == 1, what="the poll waiting")
    broadcast(live_server, 1)
    thread.join(timeout=10)
    assert [m["n"] for m in out[0]["messages"]] == [1]


def test_a_poll_with_nothing_to_say_ends_after_wait(live_server):
    p = Poller(live_server)
    p.subscribe("jobs")
    t0 = time.monotonic()
    assert p.poll(wait=0.3)["messages"] == []
    assert 0.25 < time.monotonic() - t0 < 5
    assert p.poll(wait=-3)["messages"] == []  # clamped to [0, 30]
    assert live_server.get("/ws/poll", params={"client_id": p.id, "wait": "soon"}).status_code == 400
    assert live_server.get("/ws/poll", params={"client_id": p.id, "wait": "nan"}).status_code == 400
    assert longpoll.MAX_WAIT == 30.0


def test_a_newer_poll_takes_over_from_a_waiting_one(live_server):
    p = Poller(live_server)
    p.subscribe("jobs")
    registry = live_server.app.extensions["darkroom_streams"].pollers
    thread, out = p.poll_in_background(wait=20)
    live_server.wait_for(lambda: registry.get(p.id).polls == 1, what="the first poll waiting")
    t0 = time.monotonic()
    second, later = p.poll_in_background(wait=20)
    thread.join(timeout=5)
    assert out[0]["messages"] == [] and time.monotonic() - t0 < 5
    broadcast(live_server, 1)
    second.join(timeout=10)
    assert [m["n"] for m in later[0]["messages"]] == [1]


def test_events_between_polls_are_kept_in_order(server):
    p = Poller(server)
    p.subscribe("jobs", "photos")
    seqs = [broadcast(server, n, channel="jobs" if n % 2 else "photos") for n in range(30)]
    got = p.events(30)
    assert [m["n"] for m in got] == list(range(30)) and [m["seq"] for m in got] == seqs


def test_state_waiting_in_the_outbox_is_superseded_by_key(make_server):
    server = make_server(coalesce_interval=0)  # every progress reaches the outbox
    p = Poller(server)
    p.subscribe("jobs")
    other = server.ws()
    other.subscribe("jobs")
    for progress in range(0, 100, 10):
        server.hub.publish("job_progress", "jobs", {"job_id": 7, "stage": "rendering",
                                                    "progress": float(progress)})
    server.hub.publish("job_completed", "jobs", {"job_id": 7, "photo_id": 1, "result": {}})
    assert len(other.events(11)) == 11  # all published; the poller has not polled
    assert server.stats()["superseded_in_outboxes"] == 9
    got = p.poll(wait=5)["messages"]
    assert [(m["type"], m.get("progress")) for m in got] == [("job_progress", 90.0),
                                                             ("job_completed", None)]


def test_an_outbox_over_its_limit_drops_the_poller_as_slow_and_it_resumes(make_server):
    server = make_server(outbox_limit=32 * 1024)
    p = Poller(server)
    p.subscribe("jobs")
    start = position(p.handshake)
    other = server.ws()
    other.subscribe("jobs")
    for n in range(100):  # ~100 KB, never polled
        server.hub.publish("tick", "jobs", {"n": n, "pad": "x" * 1000})
    assert len(other.events(100)) == 100  # nobody else noticed
    server.wait_for(lambda: server.stats()["disconnected"]["slow"] == 1, what="dropped as slow")
    assert pollers_of(server) == []
    last = p.poll(wait=5)
    assert last["closed"] is True and last["messages"][-1]["type"] == "close"
    assert last["messages"][-1]["code"] == 1013
    assert p.poll(status=404)["code"] == "unknown_client"
    # A new handshake, subscribe with since: the whole stream again, nothing missing.
    again = Poller(server)
    epoch, seq = start.split(":")
    assert again.subscribe("jobs", since={"epoch": epoch, "seq": int(seq)})["recovered"] is True
    assert [m["n"] for m in again.events(100, timeout=20)] == list(range(100))


def test_a_lost_poll_response_is_given_again_with_since(live_server):
    p = Poller(live_server)
    p.subscribe("jobs")
    broadcast(live_server, 0)
    kept = p.poll(wait=5)["messages"]
    for n in range(1, 4):
        broadcast(live_server, n)
    p.poll(wait=5)  # this response "never reached the client"
    broadcast(live_server, 4)
    epoch = p.handshake["epoch"]
    again = p.poll(wait=5, since=position(kept[-1], epoch))["messages"]
    assert [m["n"] for m in again] == [1, 2, 3, 4]  # from the log, then what waited
    # Up to date: nothing is given twice.
    broadcast(live_server, 5)
    assert [m["n"] for m in p.poll(wait=5, since=position(again[-1], epoch))["messages"]] == [5]


def test_a_restarted_client_resumes_with_since_on_its_first_poll(live_server):
    p = Poller(live_server)
    p.subscribe("jobs")
    broadcast(live_server, 0)
    last = p.poll(wait=5)["messages"][-1]
    p.disconnect()  # Lightroom quits
    for n in range(1, 4):
        broadcast(live_server, n)
    restarted = Poller(live_server)
    assert restarted.subscribe("jobs")["seq"] == live_server.hub.seq
    got = restarted.poll(wait=5, since=position(last, p.handshake["epoch"]))["messages"]
    broadcast(live_server, 4)
    got += restarted.poll(wait=5)["messages"]
    assert [m["n"] for m in got] == [1, 2, 3, 4]


def test_since_from_another_epoch_gets_resync(live_server):
    p = Poller(live_server)
    p.subscribe("jobs")
    [msg] = p.poll(wait=5, since="0123456789abcdef:5")["messages"]
    assert msg["type"] == "resync" and msg["epoch"] == live_server.hub.epoch
    reply = p.subscribe("jobs", since={"epoch": "0123456789abcdef", "seq": 5})
    assert reply["recovered"] is False
    assert p.poll(status=400, since="five")["code"] == "invalid_field"


def test_a_poller_that_stops_polling_expires(make_server):
    server = make_server(ping_interval=0.3)
    silent = Poller(server)
    assert silent.handshake["heartbeat_interval"] == 0.3
    silent.subscribe("jobs")
    active = Poller(server)
    deadline = time.monotonic() + 10
    while silent.id in [c["id"] for c in pollers_of(server)]:
        assert time.monotonic() < deadline, "the silent poller never expired"
        active.poll(wait=0.1)
    assert [c["id"] for c in pollers_of(server)] == [active.id]
    assert server.stats()["disconnected"]["dead"] == 1
    assert silent.poll(status=404)["code"] == "unknown_client"


def test_a_waiting_poll_keeps_the_poller_alive(make_server):
    server = make_server(ping_interval=0.3)
    p = Poller(server)
    p.subscribe("jobs")
    out = p.poll(wait=1.5)  # five times the expiry's half: still here afterwards
    assert out["messages"] == [] and [c["id"] for c in pollers_of(server)] == [p.id]


def test_the_server_closing_a_poller_tells_its_next_poll(server):
    p = Poller(server)
    p.subscribe("jobs")
    assert server.post(f"/websocket/disconnect/{p.id}").status_code == 200
    assert pollers_of(server) == []
    out = p.poll(wait=5)
    assert out["closed"] is True and out["messages"][-1]["code"] == 1000
    assert server.stats()["disconnected"]["closed"] == 1


def test_shutdown_closes_pollers_with_1001(make_server):
    server = make_server()
    p = Poller(server)
    p.subscribe("jobs")
    thread, out = p.poll_in_background(wait=20)
    registry = server.app.extensions["darkroom_streams"].pollers
    server.wait_for(lambda: registry.get(p.id).polls == 1, what="the poll waiting")
    t0 = time.monotonic()
    server.runtime.stop(1001)
    thread.join(timeout=5)
    assert time.monotonic() - t0 < 3
    assert out[0]["messages"][-1]["code"] == 1001 and out[0]["closed"] is True


def test_a_flood_of_messages_is_rate_limited_like_websocket(make_server):
    server = make_server(inbound_rate=1, inbound_burst=5)
    p = Poller(server)
    for _ in range(5):
        p.send({"type": "ping"})
    refused = p.send({"type": "ping"}, status=429)
    assert refused["code"] == "rate_limited"
    assert p.send({"type": "ping"}, status=429)["code"] == "rate_limited"  # answered every time
    for _ in range(10):
        r = server.post("/ws/send", {"client_id": p.id, "message": {"type": "ping"}})
        if r.status_code in (404, 410):
            break
    server.wait_for(lambda: server.stats()["disconnected"]["rate_limited"] == 1, what="1008")


def test_limits_and_bad_requests(make_server):
    server = make_server(max_clients=1)
    p = Poller(server)
    r = server.post("/ws/handshake", {})
    assert r.status_code == 503 and r.json()["code"] == "too_many_clients"
    assert server.post("/ws/send", {"message": {"type": "ping"}}).status_code == 400
    assert server.post("/ws/send", {"client_id": "nope", "message": {}}).status_code == 404
    assert server.post("/ws/send", {"client_id": p.id}).json()["code"] == "missing_field"
    assert server.get("/ws/poll").status_code == 400
    assert server.post("/ws/handshake", {"client_type": "toaster"}).status_code == 400
    big = server.post("/ws/send", {"client_id": p.id, "message": {"type": "ping",
                                                                  "pad": "x" * 70_000}})
    assert big.status_code == 413
    assert server.post("/ws/disconnect", {"client_id": "nope"}).status_code == 404


def test_lua_shapes_are_accepted(live_server):
    # An empty Lua table is [] or {}; nil fields are left out; numbers may be floats;
    # timestamps are epoch seconds.
    empty = requests.post(live_server.url + "/ws/handshake", data=b"",
                          headers={"Content-Type": "application/json"}, timeout=10)
    assert empty.status_code == 200 and empty.json()["success"] is True
    listed = requests.post(live_server.url + "/ws/handshake", data=b"[]",
                           headers={"Content-Type": "application/json"}, timeout=10)
    assert listed.status_code == 200
    p = Poller(live_server, body={"client_type": "lightroom", "timestamp": 1764950400})
    assert p.send({"type": "subscribe", "channels": {}})["reply"]["channels"] == []
    assert p.send({"type": "subscribe", "channels": ["jobs"], "since": {}})["reply"]["channels"] == ["jobs"]
    first = broadcast(live_server, 0)
    broadcast(live_server, 1)
    resumed = p.send({"type": "subscribe", "channels": ["jobs"], "timestamp": 1764950400.25,
                      "since": {"epoch": live_server.hub.epoch, "seq": float(first)}})["reply"]
    assert resumed["recovered"] is True
    assert p.send({"type": "unsubscribe", "channels": []})["reply"]["channels"] == ["jobs"]
    assert p.send({"type": "ping", "timestamp": 1764950400})["reply"]["type"] == "pong"
    r = live_server.post("/websocket/broadcast", {"type": "lr_note", "channel": "jobs", "data": [],
                                                  "timestamp": 1764950400})
    assert r.status_code == 200, r.text


def test_lan_mode_needs_the_token_on_every_endpoint(make_server):
    server = make_server(lan=True, host="127.0.0.1")
    token = (server.config.data_dir / "token").read_text().strip()
    assert server.post("/ws/handshake", {}).status_code == 401
    bearer = {"Authorization": f"Bearer {token}"}
    p = Poller(server, headers=bearer)
    for method, path, body in [("post", "/ws/send", {"client_id": p.id, "message": {"type": "ping"}}),
                               ("post", "/ws/disconnect", {"client_id": p.id})]:
        assert getattr(server, method)(path, body).status_code == 401
    assert server.get("/ws/poll", params={"client_id": p.id, "wait": 0}).status_code == 401
    assert server.get("/ws/poll", params={"client_id": p.id, "wait": 0, "token": "x"}).status_code == 401
    p.subscribe("jobs")
    server.token = token
    broadcast(server, 1)
    assert [m["n"] for m in p.events(1)] == [1]


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"}])
def test_foreign_pages_can_neither_write_nor_poll(live_server, headers):
    p = Poller(live_server)
    p.subscribe("jobs")
    assert live_server.post("/ws/handshake", {}, headers=headers).status_code == 403
    assert live_server.post("/ws/send", {"client_id": p.id, "message": {"type": "ping"}},
                            headers=headers).status_code == 403
    broadcast(live_server, 1)
    assert live_server.get("/ws/poll", params={"client_id": p.id, "wait": 0},
                           headers=headers).status_code == 403
    assert [m["n"] for m in p.poll(wait=5)["messages"]] == [1]  # the refused poll took nothing
    # A write must be JSON, as every other write.
    r = requests.post(live_server.url + "/ws/send", data="client_id=x",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert r.status_code == 415


def test_resuming_by_subscribe_and_by_poll_since_at_once_gives_each_event_once(live_server):
    first = broadcast(live_server, 0)
    for n in range(1, 4):
        broadcast(live_server, n)
    p = Poller(live_server)
    epoch = p.handshake["epoch"]
    assert p.subscribe("jobs", since={"epoch": epoch, "seq": first})["recovered"] is True
    got = p.poll(wait=5, since=f"{epoch}:{first}")["messages"]
    while len(got) < 3:
        got += p.poll(wait=2)["messages"]
    assert [m["n"] for m in got] == [1, 2, 3]
    assert p.poll(wait=0.2)["messages"] == []
