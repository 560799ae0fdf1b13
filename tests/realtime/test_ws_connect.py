"""/ws on connect: ``?channels=`` subscribes (so ``wscat -c "ws://localhost:5100/ws?channels=photos"``
just works), the other connect parameters, and the hint for a client that asked for nothing."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from darkroom.realtime.replies import HINT


def open_ws(server, query: str):
    conn = connect(f"{server.ws_url}?{query}" if query else server.ws_url, open_timeout=5,
                   legacy=True)
    return conn, (lambda: json.loads(conn.recv(timeout=5)))


@pytest.fixture(params=["werkzeug", "gunicorn"])
def server(request, make_server, start_app):
    return make_server() if request.param == "werkzeug" else start_app()


def test_channels_in_the_url_subscribe_on_connect(server):
    conn, recv = open_ws(server, "channels=photos,sessions")
    hello = recv()
    assert hello["type"] == "connection_established" and "hint" not in hello
    confirmed = recv()
    assert confirmed["type"] == "subscription_confirmed"
    assert confirmed["channels"] == ["photos", "sessions"]
    r = server.post("/websocket/broadcast", {"type": "photo_imported", "data": {
        "photo_id": 1, "session_id": 1, "file_name": "a.jpg"}})
    assert r.status_code == 200
    assert recv()["type"] == "photo_imported"
    [listed] = server.get("/websocket/clients").json()["clients"]
    assert listed["subscriptions"] == ["photos", "sessions"]


def test_a_client_that_asks_for_nothing_gets_a_one_line_hint(live_server):
    conn, recv = open_ws(live_server, "")
    hello = recv()
    assert hello["hint"] == HINT and "\n" not in HINT
    assert '"type":"subscribe"' in HINT and "?channels=" in HINT
    # And the hint's advice works.
    conn.send('{"type":"subscribe","channels":["jobs","photos"]}')
    assert recv()["channels"] == ["jobs", "photos"]


def test_register_and_resume_in_the_url(live_server):
    live_server.hub.publish("tick", "jobs", {"n": 0})
    first = live_server.ws()
    first.subscribe("jobs")
    live_server.hub.publish("tick", "jobs", {"n": 1})
    seq = first.events(1)[0]["seq"]
    live_server.hub.publish("tick", "jobs", {"n": 2})
    conn, recv = open_ws(live_server, f"channels=jobs&since={live_server.hub.epoch}:{seq}"
                                      "&client_type=mobile&client_name=Phone")
    recv()
    assert recv()["recovered"] is True
    assert recv()["n"] == 2
    listed = [c for c in live_server.get("/websocket/clients").json()["clients"]
              if c["client_type"] == "mobile"]
    assert listed and listed[0]["client_name"] == "Phone"


def test_bad_channels_in_the_url_are_an_error_message_not_a_refusal(live_server):
    conn, recv = open_ws(live_server, "channels=jobs,nope")
    hello = recv()
    assert hello["type"] == "connection_established" and "hint" in hello
    error = recv()
    assert error["type"] == "error" and error["code"] == "unknown_channel"
    conn.send('{"type":"ping"}')
    assert recv()["type"] == "pong"  # the connection stays
