"""LAN mode on a live server (T4, T10, T11): the token, the pairing link, the cookie and its CSRF
header, JSON-only writes, and no token in logs or listings.

Servers bind 127.0.0.1 with ``lan=True``: LAN mode's rules apply, traffic stays on loopback.
Every refused request is checked for traces: no event reaches an authorised watcher, nothing
is written.
"""

from __future__ import annotations

import logging
import re
import stat
import time

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from darkroom.web import auth

BROADCAST = {"type": "custom_event", "channel": "system", "data": {"message": "Hello"}}
JSON = {"Content-Type": "application/json"}


def token_of(server) -> str:
    return (server.config.data_dir / "token").read_text().strip()


@pytest.fixture
def lan_server(make_server):
    server = make_server(lan=True, host="127.0.0.1")
    server.token = token_of(server)
    return server


def authority(server) -> auth.Authority:
    return server.app.extensions[auth.EXTENSION]


def quiet(watcher, type_: str = "custom_event") -> bool:
    """Nothing of ``type_`` reached ``watcher`` (a bounded wait for an absence)."""
    try:
        watcher.recv_type(type_, timeout=0.3)
    except TimeoutError:
        return True
    return False


def paired_session(server, next_page: str = "/") -> tuple[requests.Session, requests.Response]:
    """A browser-like session that opened a fresh pairing link."""
    link = server.post("/api/pairing", {"next": next_page}).json()["url"]
    session = requests.Session()
    return session, session.get(link, timeout=10)


def session_names(server) -> list[str]:
    return [s["name"] for s in server.get("/api/sessions").json()["sessions"]]


def sample_url(rule) -> str:
    return re.sub(r"<[^>]+>", "1", rule.rule)


# --- without the token ------------------------------------------------------------------

def test_every_route_but_pairing_needs_the_token(lan_server):
    """Generated from the app's url_map, so a new route cannot forget the check."""
    watcher = lan_server.ws()
    watcher.subscribe("system", "sessions", "queue")
    sessions = session_names(lan_server)
    rules = [r for r in lan_server.app.url_map.iter_rules() if r.rule not in auth.PUBLIC_PATHS]
    assert len(rules) > 20
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD"}):
            r = requests.request(method, lan_server.url + sample_url(rule), json=BROADCAST,
                                 headers={"X-Darkroom-Request": "1"}, timeout=10)
            assert r.status_code == 401, (method, rule.rule, r.status_code)
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert quiet(watcher)
    assert session_names(lan_server) == sessions
    assert lan_server.get("/api/queue").json()["paused"] is False


def test_a_browser_without_the_token_gets_a_page_that_says_how_to_pair(lan_server):
    r = requests.get(lan_server.url + "/mobile", headers={"Accept": "text/html"}, timeout=10)
    assert r.status_code == 401 and "pairing" in r.text and "Content-Security-Policy" in r.headers


@pytest.mark.parametrize("how", ["none", "wrong bearer", "wrong query", "short query"])
def test_the_websocket_upgrade_without_the_token_is_401_before_101(lan_server, how):
    token = lan_server.token
    wrong = ("A" if token[0] != "A" else "B") + token[1:]
    url, headers = lan_server.ws_url, {}
    if how == "wrong bearer":
        headers = {"Authorization": f"Bearer {wrong}"}
    elif how == "wrong query":
        url += f"?token={wrong}"
    elif how == "short query":
        url += f"?token={token[:8]}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=headers, open_timeout=5)
    assert refused.value.response.status_code == 401
    assert lan_server.hub.client_count() == 0


def test_a_query_token_opens_only_the_event_streams(lan_server):
    token = lan_server.token
    assert requests.get(f"{lan_server.url}/websocket/stats?token={token}", timeout=10).status_code == 401
    r = requests.post(f"{lan_server.url}/websocket/broadcast?token={token}", json=BROADCAST, timeout=10)
    assert r.status_code == 401


# --- with the token ---------------------------------------------------------------------

def test_the_bearer_token_opens_http_and_the_websocket(lan_server):
    watcher = lan_server.ws()  # Authorization: Bearer on the upgrade
    watcher.subscribe("system")
    assert lan_server.get("/websocket/stats").status_code == 200
    r = lan_server.post("/websocket/broadcast", BROADCAST)  # curl's request plus the token
    assert r.status_code == 200
    assert watcher.recv_type("custom_event")["message"] == "Hello"


def test_a_query_token_opens_the_websocket(lan_server):
    with connect(f"{lan_server.ws_url}?token={lan_server.token}", open_timeout=5) as ws:
        assert "connection_established" in ws.recv(timeout=5)


def test_the_token_file_is_owner_only_and_kept(lan_server, make_server):
    path = lan_server.config.data_dir / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(lan_server.token) >= 43  # token_urlsafe(32)
    again = make_server(lan=True, data_dir=lan_server.config.data_dir)
    assert token_of(again) == lan_server.token


# --- pairing -------------------------------------------------------------------------------

def test_a_pairing_link_works_once_and_sets_a_strict_httponly_cookie(lan_server):
    made = lan_server.post("/api/pairing", {"next": "/mobile"})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    body = made.json()
    assert body["svg"].startswith("<svg") and body["expires_in"] == 600
    assert body["url"].startswith(f"{lan_server.url}/pair?code=") and lan_server.token not in body["url"]

    phone = requests.Session()
    first = phone.get(body["url"], timeout=10)
    assert first.status_code == 200
    assert 'http-equiv="refresh" content="0; url=/mobile"' in first.text
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert lan_server.token not in cookie  # the cookie is signed by the token, not the token
    assert phone.get(lan_server.url + "/api/sessions", timeout=10).status_code == 200
    assert phone.get(lan_server.url + "/mobile", timeout=10).status_code == 200

    second = requests.Session()
    again = second.get(body["url"], timeout=10)
    assert again.status_code == 403 and "Set-Cookie" not in again.headers
    assert second.get(lan_server.url + "/api/sessions", timeout=10).status_code == 401


def test_the_paired_cookie_opens_the_websocket(lan_server):
    phone, _ = paired_session(lan_server)
    cookie = "; ".join(f"{c.name}={c.value}" for c in phone.cookies)
    with connect(lan_server.ws_url, additional_headers={"Cookie": cookie}, open_timeout=5) as ws:
        assert "connection_established" in ws.recv(timeout=5)


def test_an_expired_pairing_code_fails(lan_server):
    a = authority(lan_server)
    code = a.new_code()
    a.clock = lambda: time.monotonic() + auth.PAIR_TTL + 1
    r = requests.get(f"{lan_server.url}/pair?code={code}", timeout=10)
    assert r.status_code == 403 and "Set-Cookie" not in r.headers


@pytest.mark.parametrize("code", ["", "x", "A" * 22])
def test_an_unknown_pairing_code_fails(lan_server, code):
    r = requests.get(f"{lan_server.url}/pair?code={code}", timeout=10)
    assert r.status_code == 403 and "Set-Cookie" not in r.headers


@pytest.mark.parametrize("next_page", ["https://evil.example/", "//evil.example", "/mobile/../x",
                                       "/api/sessions", "javascript:alert(1)"])
def test_a_pairing_link_leads_only_to_our_pages(lan_server, next_page):
    code = authority(lan_server).new_code()
    r = requests.get(f"{lan_server.url}/pair", params={"code": code, "next": next_page}, timeout=10)
    assert r.status_code == 200 and 'content="0; url=/"' in r.text and "evil" not in r.text


def test_pairing_needs_lan_mode(live_server):
    assert live_server.get("/pair?code=x").status_code == 404
    assert live_server.post("/api/pairing").status_code == 404


# --- writes: JSON, and the CSRF header beside the cookie ---------------------------------

def test_a_cookie_write_without_the_csrf_header_is_403_and_writes_nothing(lan_server, tmp_path):
    watcher = lan_server.ws()
    watcher.subscribe("system", "sessions")
    phone, _ = paired_session(lan_server)
    folder = tmp_path / "shoot"
    folder.mkdir()
    session_body = {"name": "Wedding", "import_folder": str(folder)}
    for path, body in [("/api/sessions", session_body), ("/websocket/broadcast", BROADCAST),
                       ("/api/queue/pause", None)]:
        r = phone.post(lan_server.url + path, json=body, headers=JSON, timeout=10)
        assert r.status_code == 403 and r.json()["code"] == "csrf_header_missing", path
    assert quiet(watcher) and quiet(watcher, "session_created")
    assert "Wedding" not in session_names(lan_server)
    assert lan_server.get("/api/queue").json()["paused"] is False
    ok = phone.post(lan_server.url + "/api/sessions", json=session_body,
                    headers={"X-Darkroom-Request": "1"}, timeout=10)
    assert ok.status_code == 201


@pytest.mark.parametrize("mode", ["local", "lan"])
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_a_write_that_is_not_json_is_415_in_both_modes(make_server, mode, content_type):
    server = make_server(lan=(mode == "lan"))
    headers = {"Authorization": f"Bearer {token_of(server)}"} if mode == "lan" else {}
    server.token = token_of(server) if mode == "lan" else None
    watcher = server.ws()
    watcher.subscribe("system")
    if content_type:
        headers["Content-Type"] = content_type
    for path, data in [("/websocket/broadcast", '{"type": "custom_event", "channel": "system"}'),
                       ("/api/queue/pause", ""), ("/api/queue/pause", "{}")]:
        r = requests.post(server.url + path, data=data, headers=headers, timeout=10)
        assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type", (path, r.text)
    assert quiet(watcher)
    assert server.get("/api/queue").json()["paused"] is False


BODYLESS_WRITES = [
    ("POST", "/api/approval/1/approve"), ("POST", "/api/approval/1/reject"),
    ("POST", "/api/jobs/1/cancel"), ("POST", "/api/jobs/1/retry"),
    ("POST", "/api/queue/pause"), ("POST", "/api/queue/resume"),
    ("POST", "/websocket/disconnect/nobody"), ("POST", "/api/sessions/1/import"),
]


@pytest.mark.parametrize("method, path", BODYLESS_WRITES)
@pytest.mark.parametrize("body", ["", "{}"])
def test_bodyless_writes_take_json_with_an_empty_or_empty_object_body(live_server, method, path, body):
    """The pipeline's views (and the hub's disconnect) accept what the guard requires."""
    r = requests.request(method, live_server.url + path, data=body, headers=JSON, timeout=10)
    assert r.status_code in (200, 202, 404), (path, r.status_code, r.text)
    if r.status_code == 404:
        assert r.json()["code"] not in ("unsupported_media_type", "invalid_json")


def test_local_mode_trusts_loopback_callers_without_origin_or_token(live_server):
    """The quick reference's curl, unchanged."""
    watcher = live_server.ws()
    watcher.subscribe("system")
    assert requests.get(live_server.url + "/websocket/clients", timeout=10).status_code == 200
    r = requests.post(live_server.url + "/websocket/broadcast", json=BROADCAST, timeout=10)
    assert r.status_code == 200
    assert watcher.recv_type("custom_event")["message"] == "Hello"


# --- the token never shows ----------------------------------------------------------------

def test_the_token_is_absent_from_logs_after_a_forced_error(lan_server, caplog, monkeypatch):
    token = lan_server.token
    caplog.set_level(logging.DEBUG)

    def failing_stats():
        raise RuntimeError(f"stats failed while holding {token}")

    monkeypatch.setattr(lan_server.hub, "stats", failing_stats)
    r = requests.get(f"{lan_server.url}/websocket/stats?token={token}&x=1",
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 500
    assert token not in r.text and "Traceback" not in r.text and "stats failed" not in r.text
    with connect(f"{lan_server.ws_url}?token={token}", open_timeout=5) as ws:
        ws.recv(timeout=5)
    lan_server.wait_for(lambda: "/websocket/stats?token=" in caplog.text and "GET /ws?token=" in caplog.text,
                        what="Werkzeug's request lines")
    assert "unhandled error" in caplog.text and "RuntimeError: stats failed while holding" in caplog.text
    assert token not in caplog.text
    assert "/websocket/stats?token=[redacted]&x=1" in caplog.text
    assert "GET /ws?token=[redacted]" in caplog.text


def test_the_token_is_absent_from_the_client_listing_and_stats(lan_server):
    token = lan_server.token
    with connect(f"{lan_server.ws_url}?token={token}", open_timeout=5) as by_query:
        by_query.recv(timeout=5)
        by_header = lan_server.ws()
        by_header.request({"type": "register", "client_type": "mobile", "client_name": "phone"},
                          "registration_confirmed")
        listing = lan_server.get("/websocket/clients")
        assert listing.json()["count"] == 2
        assert token not in listing.text
        assert token not in lan_server.get("/websocket/stats").text
        assert token not in lan_server.get("/api/events").text


# --- debug ---------------------------------------------------------------------------------

def test_debug_means_logs_not_the_debugger(make_server, monkeypatch):
    server = make_server(debug=True)
    assert server.app.debug is False
    assert server.get("/console").status_code == 404
    assert server.get("/console?__debugger__=yes&cmd=resource&f=style.css").status_code == 404

    def failing_stats():
        raise RuntimeError("boom /secret/path")

    monkeypatch.setattr(server.hub, "stats", failing_stats)
    r = server.get("/websocket/stats")
    assert r.status_code == 500 and r.headers["Content-Type"].startswith("application/json")
    assert "Traceback" not in r.text and "/secret/path" not in r.text


def test_rotation_ends_websocket_sessions_with_1008_in_process(lan_server):
    """The watcher path, without a subprocess: the file changes, clients get 1008."""
    client = lan_server.ws()
    auth.rotate_token(lan_server.config.data_dir)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            client.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason == "token rotated"
    assert lan_server.get("/websocket/stats").status_code == 401  # the old token


def test_the_pairing_page_gets_its_stylesheet_and_nothing_else_of_static(lan_server):
    """An unpaired phone sees a styled pairing page; every other static file needs the token."""
    assert requests.get(lan_server.url + "/static/css/base.css", timeout=10).status_code == 200
    for path in ("/static/css/dashboard.css", "/static/js/api.js", "/static/css/base.css/../dashboard.css"):
        assert requests.get(lan_server.url + path, timeout=10).status_code == 401, path
