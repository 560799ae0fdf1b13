"""Inbound limits on /ws: bytes per message, messages per second (JSON and protocol pings),
channels per subscribe; each refused with a clear answer and counted in /websocket/stats."""

from __future__ import annotations

import json
import os
import struct
import time

import pytest
from rawws import RawClient
from websockets.exceptions import ConnectionClosed


def test_a_message_over_64_kib_in_bytes_is_closed_with_1009(live_server):
    emoji = "\U0001F600" * 17_000  # 68,000 bytes in UTF-8, but only 17,000 characters
    c = live_server.ws()
    c.send(json.dumps({"type": "register", "client_name": emoji}, ensure_ascii=False))
    with pytest.raises(ConnectionClosed) as closed:
        c.recv(timeout=5)
    assert closed.value.rcvd.code == 1009
    live_server.wait_for(lambda: live_server.hub.client_count() == 0, what="client removed")
    stats = live_server.stats()
    assert stats["refused"]["message_too_big"] == 1 and stats["disconnected"]["too_big"] == 1


def test_a_message_just_under_the_limit_in_bytes_is_answered(live_server):
    c = live_server.ws()
    name = "é" * 50
    padding = "é" * ((64 * 1024 - 200) // 2)  # ~64 KB of two-byte characters
    c.send(json.dumps({"type": "ping", "pad": padding, "client_name": name}, ensure_ascii=False))
    assert c.recv_type("pong")["type"] == "pong"


def test_json_flood_gets_one_rate_limited_error_then_1008(make_server):
    server = make_server(inbound_rate=1, inbound_burst=20)
    c = server.ws()
    other = server.ws()
    other.subscribe("jobs")
    for _ in range(21):
        c.send({"type": "ping"})
    replies = [c.recv() for _ in range(21)]
    assert [m["type"] for m in replies].count("pong") == 20
    errors = [m for m in replies if m["type"] == "error"]
    assert [e["code"] for e in errors] == ["rate_limited"]
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(200):
            c.send({"type": "ping"})
        while True:
            assert c.recv(timeout=5)["type"] != "error"  # no second error, only the close
    assert closed.value.rcvd.code == 1008
    server.hub.publish("tick", "jobs", {})
    assert other.events(1)[0]["type"] == "tick"  # nobody else noticed
    stats = server.stats()
    assert stats["disconnected"]["rate_limited"] == 1 and stats["refused"]["rate_limited"] >= 21


def test_a_protocol_ping_flood_is_not_answered_and_ends_with_1008(make_server):
    server = make_server(inbound_rate=1, inbound_burst=20)
    raw = RawClient("127.0.0.1", server.port, rcvbuf=1 << 20)
    mask = os.urandom(4)
    ping = bytes((0x89, 0x80)) + mask  # a masked, empty ping frame
    started = time.monotonic()
    raw.sock.sendall(ping * 500)
    pongs = 0
    while True:
        opcode, payload = raw._frame()
        if opcode == 0xA:
            pongs += 1
        elif opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0]
            break
    elapsed = time.monotonic() - started
    raw.close()
    assert code == 1008
    # The burst, plus what the rate (1/s) refilled while a busy machine worked through it.
    assert pongs <= 20 + int(elapsed) + 1, (pongs, elapsed)


def test_too_many_channels_in_one_subscribe_is_an_error(live_server):
    c = live_server.ws()
    error = c.request({"type": "subscribe", "channels": ["jobs"] * 33}, "error")
    assert error["code"] == "too_many_channels"
    assert c.subscribe("jobs")["channels"] == ["jobs"]  # the connection stays usable
    assert live_server.stats()["refused"]["too_many_channels"] == 1
