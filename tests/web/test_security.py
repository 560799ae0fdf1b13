"""Host (DNS rebinding) and Origin (cross-site WebSocket hijacking, CSRF) checks."""

from __future__ import annotations

import threading

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from darkroom.web.security import split_host

FOREIGN_HOSTS = [
    "evil.example:{port}", "localhost.evil.example:{port}", "127.0.0.1.evil.example",
    ":{port}", "0.0.0.0:{port}", "localhost:{port}.", "localhost.:{port}",
    "user@localhost:{port}", "localhost:1", "localhost", "",
]


def test_foreign_host_is_refused_without_side_effects(live_server):
    watcher = live_server.ws()
    watcher.subscribe("system")
    for host in FOREIGN_HOSTS:
        for method, path in [("GET", "/websocket/clients"), ("GET", "/websocket/stats"),
                             ("POST", "/websocket/broadcast"), ("GET", "/")]:
            r = requests.request(method, live_server.url + path,
                                 headers={"Host": host.format(port=live_server.port)},
                                 json={"type": "custom_event", "channel": "system", "data": {}})
            assert r.status_code == 403, (host, path)
            assert r.json()["code"] == "forbidden_host"
    with pytest.raises(TimeoutError):
        watcher.recv_type("custom_event", timeout=0.3)


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}",
                                  "LOCALHOST:{port}", "127.0.0.2:{port}"])
def test_loopback_hosts_are_accepted(live_server, host):
    r = requests.get(live_server.url + "/websocket/stats",
                     headers={"Host": host.format(port=live_server.port)})
    assert r.status_code == 200


def test_configured_lan_host_is_accepted(make_server):
    server = make_server(allowed_hosts=["studio.local"])
    ok = requests.get(server.url + "/websocket/stats", headers={"Host": f"studio.local:{server.port}"})
    other = requests.get(server.url + "/websocket/stats",
                         headers={"Host": f"192.168.1.50:{server.port}"})
    assert ok.status_code == 200 and other.status_code == 403


def test_ws_upgrade_with_foreign_host_is_refused(live_server):
    with pytest.raises(InvalidStatus) as refused:
        connect(live_server.ws_url, additional_headers={"Host": "evil.example"}, open_timeout=5)
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", [
    "http://evil.example", "null", "http://localhost:{port}.evil.example",
    "http://localhost.evil.example:{port}", "http://localhost:{port}1", "https://localhost:{port}",
    "http://127.0.0.1:{port}@evil.example", "http://localhost:5",
])
def test_foreign_origin_gets_403_before_upgrade(live_server, origin):
    threads = threading.active_count()
    with pytest.raises(InvalidStatus) as refused:
        connect(live_server.ws_url, origin=origin.format(port=live_server.port), open_timeout=5)
    assert refused.value.response.status_code == 403
    assert live_server.hub.client_count() == 0
    assert threading.active_count() <= threads + 1


@pytest.mark.parametrize("origin", ["http://localhost:{port}", "http://127.0.0.1:{port}",
                                    "http://[::1]:{port}", "http://LOCALHOST:{port}", None])
def test_own_and_loopback_origins_connect(live_server, origin):
    kw = {"origin": origin.format(port=live_server.port)} if origin else {}
    with connect(live_server.ws_url, open_timeout=5, **kw) as ws:
        assert "connection_established" in ws.recv(timeout=5)


def test_configured_extra_origin_connects(make_server):
    server = make_server(allowed_origins=["https://studio.example"])
    with connect(server.ws_url, origin="https://studio.example", open_timeout=5) as ws:
        assert "connection_established" in ws.recv(timeout=5)


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
])
def test_cross_site_writes_are_refused(live_server, headers):
    watcher = live_server.ws()
    watcher.subscribe("system")
    r = requests.post(live_server.url + "/websocket/broadcast", headers=headers,
                      json={"type": "custom_event", "channel": "system", "data": {}})
    assert r.status_code == 403
    with pytest.raises(TimeoutError):
        watcher.recv_type("custom_event", timeout=0.3)


def test_simple_request_bodies_are_refused(live_server):
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        r = requests.post(live_server.url + "/websocket/broadcast",
                          data='{"type": "custom_event", "channel": "system"}',
                          headers={"Content-Type": content_type})
        assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"


def test_no_cors_headers_for_foreign_origins(live_server):
    r = requests.options(live_server.url + "/websocket/broadcast",
                         headers={"Origin": "http://evil.example",
                                  "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Private-Network": "true"})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Access-Control-Allow-Private-Network" not in r.headers


def test_debugger_is_off(live_server):
    assert live_server.app.debug is False
    assert live_server.get("/console").status_code == 404


@pytest.mark.parametrize("value, expected", [
    ("localhost:5100", ("localhost", 5100)),
    ("[::1]:5100", ("::1", 5100)),
    ("[::1]", ("::1", None)),
    ("LocalHost", ("localhost", None)),
    ("::1", None), ("[::1", None), ("[::1]x", None), ("a:b:c", None), ("host:0", None),
    ("host:99999", None), ("", None), ("a b", None), ("x@localhost", None), ("localhost.", None),
])
def test_split_host(value, expected):
    assert split_host(value) == expected


def test_html_pages_carry_a_strict_csp(live_server):
    csp = live_server.get("/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert f"ws://localhost:{live_server.port}" in csp and "unsafe-inline" not in csp
