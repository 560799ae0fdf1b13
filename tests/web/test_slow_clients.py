"""Unfinished requests (slowloris) hold no thread and are closed after header_timeout;
the HTTP API keeps answering beside 1,000 WebSocket clients and 1,100 such sockets."""

from __future__ import annotations

import resource
import selectors
import socket
import time

import pytest
import requests
from rawws import RawClient

pytestmark = pytest.mark.slow


def _enough_descriptors(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def _unfinished_request(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET /websocket/stats HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode())
    return s


def _closed_by_server(sockets: list[socket.socket], timeout: float) -> int:
    """How many of ``sockets`` the server closed within ``timeout``."""
    closed = 0
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        for s in sockets:
            sel.register(s, selectors.EVENT_READ)
        while closed < len(sockets) and time.monotonic() < deadline:
            for key, _ in sel.select(0.2):
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if data == b"":
                    sel.unregister(key.fileobj)
                    closed += 1
    return closed


def test_http_answers_beside_1000_websockets_and_1100_unfinished_requests(start_app):
    _enough_descriptors(8192)
    app = start_app(env={"DARKROOM_HEADER_TIMEOUT": "3"})
    clients = [RawClient("127.0.0.1", app.port) for _ in range(1000)]
    slow: list[socket.socket] = []
    try:
        assert all(c.status == 101 for c in clients)
        slow = [_unfinished_request(app.port) for _ in range(1100)]
        t0 = time.monotonic()
        r = requests.get(f"{app.url}/websocket/stats", timeout=5)
        took = time.monotonic() - t0
        assert r.status_code == 200 and r.json()["stats"]["total_clients"] == 1000
        assert took < 1.0, f"/websocket/stats took {took:.2f}s"
        assert _closed_by_server(slow, timeout=15) == 1100
        assert app.stats()["refused"]["header_timeout"] >= 1100
        assert requests.get(f"{app.url}/websocket/stats", timeout=5).status_code == 200
    finally:
        for s in slow:
            s.close()
        for c in clients:
            c.close()


def test_a_request_that_never_finishes_its_headers_is_closed(start_app):
    app = start_app(env={"DARKROOM_HEADER_TIMEOUT": "1"})
    s = _unfinished_request(app.port)
    try:
        t0 = time.monotonic()
        assert _closed_by_server([s], timeout=10) == 1
        assert time.monotonic() - t0 < 5
    finally:
        s.close()


def test_the_werkzeug_fallback_closes_a_silent_request_too(make_server):
    server = make_server(header_timeout=1)
    s = _unfinished_request(server.port)
    try:
        assert _closed_by_server([s], timeout=10) == 1
        assert server.get("/websocket/stats").status_code == 200
    finally:
        s.close()
