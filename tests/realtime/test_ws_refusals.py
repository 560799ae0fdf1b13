"""Upgrades the server refuses before any WebSocket exists: full, shutting down, wrong version."""

from __future__ import annotations

import base64
import os

import requests
from rawws import RawClient


def _upgrade_headers(version: str = "13") -> dict:
    return {"Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Version": version}


def test_a_client_over_the_limit_gets_503_before_the_upgrade(make_server):
    server = make_server(max_clients=2)
    first, second = server.ws(), server.ws()
    server.wait_for(lambda: server.hub.client_count() == 2, what="two clients")
    refused = requests.get(server.url + "/ws", headers=_upgrade_headers(), timeout=5)
    assert refused.status_code == 503 and refused.json()["code"] == "too_many_clients"
    assert server.hub.client_count() == 2
    second.close()
    server.wait_for(lambda: server.hub.client_count() == 1, what="a slot freed")
    assert RawClient("127.0.0.1", server.port).status == 101
    first.close()


def test_no_upgrade_while_the_hub_is_stopping(make_server):
    server = make_server()
    server.hub.stop()  # what SIGTERM does first, before the HTTP server stops
    refused = requests.get(server.url + "/ws", headers=_upgrade_headers(), timeout=5)
    assert refused.status_code == 503 and refused.json()["code"] == "shutting_down"
    assert server.hub.client_count() == 0


def test_an_unsupported_websocket_version_gets_426_naming_13(live_server):
    refused = requests.get(live_server.url + "/ws", headers=_upgrade_headers("8"), timeout=5)
    assert refused.status_code == 426
    assert refused.headers["Sec-WebSocket-Version"] == "13"
    assert refused.json()["code"] == "unsupported_version"
    assert live_server.hub.client_count() == 0


def test_plain_http_on_the_websocket_path_is_400(live_server):
    refused = requests.get(live_server.url + "/ws", timeout=5)
    assert refused.status_code == 400 and refused.json()["code"] == "upgrade_required"
