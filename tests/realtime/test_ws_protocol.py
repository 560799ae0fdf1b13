"""The /ws protocol end to end: every request, every reply, every error code."""

from __future__ import annotations

import json
import re

import pytest
from websockets.exceptions import ConnectionClosed

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_connection_established(live_server):
    a = live_server.ws()
    b = live_server.ws()
    hello = a.welcome
    assert TIMESTAMP.match(hello["timestamp"]) and TIMESTAMP.match(hello["server_time"])
    assert hello["protocol_version"] == "1.0"
    assert hello["heartbeat_interval"] == live_server.config.ping_interval
    assert hello["epoch"] == live_server.hub.epoch
    assert isinstance(hello["seq"], int) and 0 <= hello["seq"] <= live_server.hub.seq
    assert isinstance(hello["client_id"], str) and hello["client_id"] != b.welcome["client_id"]


def test_register_subscribe_unsubscribe_ping(live_server):
    c = live_server.ws()
    reg = c.request({"type": "register", "client_type": "gui", "client_name": "My Client"},
                    "registration_confirmed")
    assert (reg["client_type"], reg["client_name"]) == ("gui", "My Client")
    assert TIMESTAMP.match(reg["timestamp"])
    sub = c.subscribe("jobs", "photos", "sessions")
    assert sub["channels"] == ["jobs", "photos", "sessions"]
    sub = c.subscribe("jobs", "export")
    assert sub["channels"] == ["export", "jobs", "photos", "sessions"]
    unsub = c.request({"type": "unsubscribe", "channels": ["photos", "system"]},
                      "unsubscription_confirmed")
    assert unsub["channels"] == ["export", "jobs", "sessions"]
    pong = c.request({"type": "ping"}, "pong")
    assert TIMESTAMP.match(pong["timestamp"])
    listed = live_server.get("/websocket/clients").json()
    assert listed["success"] and listed["count"] == 1
    entry = listed["clients"][0]
    assert entry["client_type"] == "gui" and entry["client_name"] == "My Client"
    assert entry["subscriptions"] == ["export", "jobs", "sessions"]
    assert TIMESTAMP.match(entry["connected_at"]) and TIMESTAMP.match(entry["last_ping"])


def test_register_defaults_to_unknown_and_accepts_lightroom_shapes(live_server):
    c = live_server.ws()
    reg = c.request({"type": "register"}, "registration_confirmed")
    assert reg["client_type"] == "unknown"
    # The Lightroom SDK sends epoch-seconds timestamps and [] for empty tables.
    reg = c.request({"type": "register", "client_type": "lightroom", "client_name": "LrC",
                     "timestamp": 1731155696}, "registration_confirmed")
    assert reg["client_type"] == "lightroom"
    assert c.request({"type": "subscribe", "channels": []},
                     "subscription_confirmed")["channels"] == []


@pytest.mark.parametrize("message, code, request_type", [
    ("{not json", "invalid_json", None),
    ("[1, 2]", "invalid_message", None),
    ('"ping"', "invalid_message", None),
    ("{}", "missing_type", None),
    ('{"type": "explode"}', "unknown_type", "explode"),
    ('{"type": 7}', "unknown_type", None),
    ('{"type": "subscribe", "channels": "jobs"}', "invalid_channels", "subscribe"),
    ('{"type": "subscribe", "channels": ["jobs", "nope"]}', "unknown_channel", "subscribe"),
    ('{"type": "unsubscribe", "channels": [1]}', "unknown_channel", "unsubscribe"),
    ('{"type": "register", "client_type": "toaster"}', "unknown_client_type", "register"),
    ('{"type": "register", "client_name": 5}', "invalid_field", "register"),
    (json.dumps({"type": "register", "client_name": "x" * 101}), "invalid_field", "register"),
    ('{"type": "subscribe", "channels": ["jobs"], "since": 5}', "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": ["jobs"], "since": {"epoch": 1, "seq": 1}}',
     "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": ["jobs"], "since": {"epoch": "e", "seq": -1}}',
     "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": ["jobs"], "since": {"epoch": "e", "seq": true}}',
     "invalid_field", "subscribe"),
    ('{"type": "subscribe", "channels": ["jobs"], "snapshot": "yes"}', "invalid_field",
     "subscribe"),
    ('{"type": "register", "client_name": "\\ud800"}', "invalid_field", "register"),
    ('{"type": "\\ud800"}', "unknown_type", None),
])
def test_bad_input_gets_error_and_connection_stays_open(live_server, message, code, request_type):
    c = live_server.ws()
    c.subscribe("jobs")
    c.send(message)
    err = c.recv_type("error")
    assert err["code"] == code and err["request_type"] == request_type
    assert isinstance(err["error"], str) and err["error"]
    assert TIMESTAMP.match(err["timestamp"])
    # Nothing changed, and the connection still works.
    assert c.request({"type": "ping"}, "pong")
    assert live_server.get("/websocket/clients").json()["clients"][0]["subscriptions"] == ["jobs"]


def test_binary_message_is_an_error_not_a_close(live_server):
    c = live_server.ws()
    c.conn.send(b"\x00\x01")
    assert c.recv_type("error")["code"] == "binary_not_supported"
    assert c.request({"type": "ping"}, "pong")


def test_oversized_message_gets_1009_and_registry_is_clean(live_server):
    c = live_server.ws()
    c.send("x" * (64 * 1024 + 1))
    with pytest.raises(ConnectionClosed) as closed:
        c.recv(timeout=5)
    assert closed.value.rcvd.code == 1009
    live_server.wait_for(lambda: live_server.hub.client_count() == 0, 2, "registry cleanup")
    assert live_server.stats()["disconnected"]["too_big"] == 1


def test_permessage_deflate_is_not_negotiated(live_server):
    c = live_server.ws()  # the websockets client offers permessage-deflate, like browsers
    assert "Sec-WebSocket-Extensions" not in c.conn.response.headers


def test_plain_get_on_ws_is_rejected(live_server):
    r = live_server.get("/ws")
    assert r.status_code == 400 and r.json()["code"] == "upgrade_required"
