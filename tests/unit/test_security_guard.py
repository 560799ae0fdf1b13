"""The Host/Origin/Sec-Fetch-Site guard (README "Protocol hygiene"): pure parsing and
host checks directly, the per-request rules through a tiny Flask app and its test client;
JSON-only writes; LAN mode's token, cookie and CSRF header; the start-up refusals."""

from __future__ import annotations

import pytest
from flask import Flask

from darkroom.config import Config
from darkroom.web import errors, security
from darkroom.web.security import Guard, split_host

PORT = 5100


def guard(**config) -> Guard:
    return Guard(Config(**{"port": PORT, **config}))


@pytest.fixture
def make_client(tmp_path):
    """``make_client(**config)`` -> a test client of an app with only the guard and two routes."""
    def make(**config):
        app = Flask(__name__)
        errors.init_app(app)
        security.init_app(app, Config(**{"port": PORT, "data_dir": tmp_path, **config}))
        app.add_url_rule("/", "page", lambda: "<p>hi</p>")
        app.add_url_rule("/api/thing", "thing", lambda: {"ok": True}, methods=["GET", "POST", "PATCH",
                                                                                "DELETE", "OPTIONS"])
        app.add_url_rule("/ws", "ws", lambda: ("no upgrade here", 400))
        return app.test_client()
    return make


@pytest.fixture
def client(make_client):
    return make_client()


def call(client, method: str, path: str = "/api/thing", host: str = f"127.0.0.1:{PORT}", **headers):
    """A request as our own clients send it: writes are JSON, so only the guard can refuse them.
    ``Content_Type=`` sends another type (None: none at all)."""
    content_type = headers.pop("Content_Type", "application/json")
    body = {}
    if method not in ("GET", "HEAD", "OPTIONS"):
        body = {"data": b"{}", **({"content_type": content_type} if content_type else {})}
    return client.open(path, method=method, headers={"Host": host, **headers}, **body)


def refused(response, code: str) -> bool:
    return response.status_code == 403 and response.get_json()["code"] == code


# --- split_host -------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("localhost:5100", ("localhost", 5100)),
    ("LOCALHOST:5100", ("localhost", 5100)),
    ("127.0.0.1:1", ("127.0.0.1", 1)),
    ("example.lan:65535", ("example.lan", 65535)),
    ("[::1]:5100", ("::1", 5100)),
    ("[::1]", ("::1", None)),
    ("[FE80::1]:80", ("fe80::1", 80)),
    ("studio", ("studio", None)),
])
def test_split_host_accepts(value, expected):
    assert split_host(value) == expected


@pytest.mark.parametrize("value", [
    "", ":5100", "[]:5100", "::1", "[::1", "[::1]5100", "[::1]:", "host:", "host:0", "host:65536",
    "host:+80", "host:-1", "a:b:c", "a b", "a\tb:80", "user@localhost:5100",
    "localhost.:5100", "localhost.",
])
def test_split_host_refuses(value):
    assert split_host(value) is None


@pytest.mark.parametrize("value", ["host:８０", "host:5100\u00b2", "host:\u00b9"])
def test_split_host_refuses_ports_that_are_not_ascii_digits(value):
    assert split_host(value) is None


# --- Host ---------------------------------------------------------------------------

@pytest.mark.parametrize("host", [
    f"localhost:{PORT}", f"127.0.0.1:{PORT}", f"[::1]:{PORT}", f"LocalHost:{PORT}",
    f"127.1.2.3:{PORT}",  # every 127/8 address is loopback
])
def test_loopback_hosts_on_our_port_are_answered(host):
    assert guard().host_allowed(host)


@pytest.mark.parametrize("host", [
    "localhost", "localhost:80", f"localhost:{PORT + 1}", f"evil.example:{PORT}",
    f"localhost.evil.example:{PORT}", f"192.168.1.20:{PORT}", f"0.0.0.0:{PORT}", f"[::]:{PORT}",
    f"localhost.:{PORT}", "",
])
def test_other_hosts_and_ports_are_refused(host):
    """A DNS-rebinding page reaches us under its own name or without our port."""
    assert not guard().host_allowed(host)


def test_on_port_80_the_port_may_be_left_out():
    g = Guard(Config(port=80))
    assert g.host_allowed("localhost") and g.host_allowed("localhost:80")
    assert not g.host_allowed("localhost:8080")


def test_configured_hosts_are_answered_in_any_case():
    g = guard(allowed_hosts=["Studio.LAN"])
    assert g.host_allowed(f"studio.lan:{PORT}") and g.host_allowed(f"STUDIO.lan:{PORT}")
    assert not g.host_allowed(f"other.lan:{PORT}") and not g.host_allowed("studio.lan:5101")


def test_the_bound_address_is_answered_but_not_a_wildcard():
    assert guard(host="192.168.1.20").host_allowed(f"192.168.1.20:{PORT}")
    assert not guard(host="0.0.0.0").host_allowed(f"0.0.0.0:{PORT}")
    assert not guard(host="::").host_allowed(f"[::]:{PORT}")


# --- every request: Host -------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "POST"])
def test_a_foreign_host_is_refused_on_every_method(client, method):
    response = call(client, method, host=f"evil.example:{PORT}")
    assert response.status_code == 403
    if method not in ("HEAD",):
        assert response.get_json()["code"] == "forbidden_host"


def test_a_malformed_port_is_refused_not_an_error(client):
    """WSGI hands headers over as Latin-1, so any byte can arrive in Host."""
    assert refused(call(client, "GET", host=f"localhost:{PORT}\u00b2"), "forbidden_host")


def test_a_foreign_host_is_refused_on_pages_too(client):
    assert refused(call(client, "GET", "/", host=f"rebind.example:{PORT}"), "forbidden_host")


def test_a_refused_request_never_reaches_its_view(make_client):
    hits = []
    c = make_client()
    c.application.add_url_rule("/api/count", "count", lambda: hits.append(1) or "", methods=["POST"])
    assert call(c, "POST", "/api/count", host=f"evil.example:{PORT}").status_code == 403
    assert call(c, "POST", "/api/count", Origin="http://evil.example").status_code == 403
    assert hits == []


# --- requests that write, and the WebSocket upgrade: Origin ---------------------------

@pytest.mark.parametrize("origin", ["http://evil.example", "null", f"http://localhost:{PORT + 1}",
                                    f"https://localhost:{PORT}", f"http://evil.example:{PORT}"])
@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_a_write_from_a_foreign_origin_is_refused(client, method, origin):
    assert refused(call(client, method, Origin=origin), "forbidden_origin")


@pytest.mark.parametrize("origin", [f"http://localhost:{PORT}", f"http://127.0.0.1:{PORT}",
                                    f"http://[::1]:{PORT}", f"HTTP://LOCALHOST:{PORT}"])
def test_a_write_from_a_loopback_origin_on_our_port_is_allowed(client, origin):
    assert call(client, "POST", Origin=origin).status_code == 200


def test_a_write_without_origin_is_allowed(client):
    """curl, Python and the Lightroom plugin send no Origin."""
    assert call(client, "POST").status_code == 200


def test_same_origin_follows_the_host_the_page_was_loaded_from(make_client):
    c = make_client(allowed_hosts=["studio.lan"])
    assert call(c, "POST", host=f"studio.lan:{PORT}", Origin=f"http://studio.lan:{PORT}").status_code == 200
    # ...but a LAN origin is not good for a loopback Host.
    assert refused(call(c, "POST", Origin=f"http://studio.lan:{PORT}"), "forbidden_origin")


def test_same_origin_means_the_same_scheme_and_the_whole_host(make_client):
    c = make_client(allowed_hosts=["studio.lan"])
    for origin in (f"https://studio.lan:{PORT}", f"http://evilstudio.lan:{PORT}", "http://studio.lan"):
        assert refused(call(c, "POST", host=f"studio.lan:{PORT}", Origin=origin), "forbidden_origin"), origin


def test_configured_origins_are_allowed_whatever_their_case_or_path(make_client):
    c = make_client(allowed_origins=["https://Tablet.Studio.lan:8443/"])
    assert call(c, "POST", Origin="https://tablet.studio.lan:8443").status_code == 200
    assert refused(call(c, "POST", Origin="https://tablet.studio.lan"), "forbidden_origin")


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_reads_are_not_checked_for_origin(client, method):
    """A foreign page can make a browser send GET anyway; it cannot read the answer (no CORS)."""
    response = call(client, method, Origin="http://evil.example")
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("origin, status", [
    ("http://evil.example", 403), ("null", 403), (f"http://localhost:{PORT}", 400), (None, 400),
])
def test_the_websocket_upgrade_checks_origin(client, origin, status):
    headers = {"Upgrade": "WebSocket", "Connection": "Upgrade"}
    if origin:
        headers["Origin"] = origin
    response = call(client, "GET", "/ws", **headers)
    assert response.status_code == status  # 400: the guard let it through to the view


def test_a_plain_get_of_ws_with_a_foreign_origin_reaches_the_view(client):
    assert call(client, "GET", "/ws", Origin="http://evil.example").status_code == 400


# --- Sec-Fetch-Site -----------------------------------------------------------------

@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_a_cross_site_write_is_refused_even_without_origin(client, method):
    assert refused(call(client, method, **{"Sec-Fetch-Site": "cross-site"}), "forbidden_origin")


@pytest.mark.parametrize("site", ["same-origin", "same-site", "none"])
def test_other_fetch_sites_may_write(client, site):
    assert call(client, "POST", **{"Sec-Fetch-Site": site}).status_code == 200


def test_a_cross_site_write_is_refused_even_from_an_allowed_origin(make_client):
    c = make_client(allowed_origins=["http://tablet.lan:8080"])
    assert refused(call(c, "POST", Origin="http://tablet.lan:8080", **{"Sec-Fetch-Site": "cross-site"}),
                   "forbidden_origin")


def test_a_cross_site_upgrade_from_an_allowed_origin_is_let_through(make_client):
    """Another site's page that is configured may open the event stream; only writes are refused."""
    c = make_client(allowed_origins=["http://tablet.lan:8080"])
    response = call(c, "GET", "/ws", Origin="http://tablet.lan:8080", Upgrade="websocket",
                    Connection="Upgrade", **{"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 400  # reached the view


def test_a_cross_site_read_is_answered(client):
    assert call(client, "GET", **{"Sec-Fetch-Site": "cross-site"}).status_code == 200


# --- response headers -----------------------------------------------------------

def test_every_response_carries_nosniff_and_no_referrer(client):
    for response in (call(client, "GET"), call(client, "GET", host="evil.example")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_html_pages_carry_a_strict_csp_and_refuse_framing(client):
    response = call(client, "GET", "/")
    csp = response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src"))
    # No ws://[::1]: browsers refuse IPv6 literals in CSP sources ('self' covers a page at [::1]).
    assert set(connect.split()[1:]) == {"'self'", f"ws://localhost:{PORT}", f"ws://127.0.0.1:{PORT}"}


def test_json_answers_carry_no_page_policy(client):
    response = call(client, "GET")
    assert "Content-Security-Policy" not in response.headers and "X-Frame-Options" not in response.headers


# --- writes are JSON, body or not ------------------------------------------------------

@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx",
                                          "text/json"])
@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_a_write_that_is_not_json_is_415_and_never_reaches_its_view(make_client, method, content_type):
    hits = []
    c = make_client()
    c.application.add_url_rule("/api/count", "count", lambda: hits.append(1) or "",
                               methods=["POST", "PATCH", "PUT", "DELETE"])
    response = call(c, method, "/api/count", Content_Type=content_type)
    assert response.status_code == 415 and response.get_json()["code"] == "unsupported_media_type"
    assert hits == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON"])
def test_a_json_write_with_an_empty_body_is_let_through(client, content_type):
    assert call(client, "POST", Content_Type=content_type).status_code == 200


# --- LAN mode ------------------------------------------------------------------------------

@pytest.fixture
def lan(make_client, tmp_path):
    """A LAN-mode test client and its token (made in the data directory on first start)."""
    c = make_client(lan=True)
    token = (tmp_path / "token").read_text().strip()
    return c, token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/", "/api/thing", "/ws"])
def test_lan_without_the_token_is_401_on_every_method_and_path(lan, method, path):
    c, _ = lan
    response = call(c, method, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_lan_401_comes_before_the_view(lan):
    c, token = lan
    hits = []
    c.application.add_url_rule("/api/count", "count", lambda: hits.append(1) or "", methods=["POST"])
    assert call(c, "POST", "/api/count").status_code == 401
    assert call(c, "POST", "/api/count", **bearer(token[:-1] + ("A" if token[-1] != "A" else "B"))
                ).status_code == 401
    assert hits == []


@pytest.mark.parametrize("credential", [
    "", "x", "Bearer", "Bearer ", "Basic {token}", "Bearer {token}x", "Bearer {short}",
    "Bearer {same_length}", "Bearer é{short}", "Token {token}",
])
def test_lan_wrong_credentials_are_refused(lan, credential):
    c, token = lan
    same_length = ("A" if token[0] != "A" else "B") + token[1:]
    value = credential.format(token=token, short=token[:10], same_length=same_length)
    assert call(c, "GET", Authorization=value).status_code == 401


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_lan_the_bearer_token_is_accepted(lan, scheme):
    c, token = lan
    assert call(c, "GET", Authorization=f"{scheme} {token}").status_code == 200
    assert call(c, "POST", Authorization=f"{scheme} {token}").status_code == 200


def test_lan_the_token_is_compared_in_constant_time(lan, monkeypatch):
    from darkroom.web import auth

    c, token = lan
    seen = []
    real = auth.hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert call(c, "GET", Authorization=f"Bearer {token[:5]}").status_code == 401
    assert call(c, "GET", Authorization=f"Bearer {token}").status_code == 200
    assert (token[:5].encode(), token.encode()) in seen and (token.encode(), token.encode()) in seen


def test_lan_a_query_token_is_only_for_the_event_streams(lan):
    c, token = lan
    assert call(c, "GET", f"/api/thing?token={token}").status_code == 401
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"}
    assert call(c, "GET", f"/ws?token={token}", **upgrade).status_code == 400  # reached the view
    assert call(c, "GET", f"/ws?token={token[:-1]}", **upgrade).status_code == 401


def test_lan_the_pairing_page_is_the_one_public_path(lan):
    c, _ = lan
    # The tiny app has no pairing route: the guard lets /pair through to a 404.
    assert call(c, "GET", "/pair?code=x").status_code == 404
    assert call(c, "GET", "/pair/x").status_code == 401


def test_lan_keeps_the_host_check(lan):
    c, token = lan
    assert refused(call(c, "GET", host=f"evil.example:{PORT}", **bearer(token)), "forbidden_host")


def test_lan_keeps_the_origin_and_fetch_site_checks(lan):
    c, token = lan
    assert refused(call(c, "POST", Origin="http://evil.example", **bearer(token)), "forbidden_origin")
    assert refused(call(c, "POST", **{"Sec-Fetch-Site": "cross-site"}, **bearer(token)), "forbidden_origin")


def test_lan_a_write_that_is_not_json_is_415_even_with_the_token(lan):
    c, token = lan
    response = call(c, "POST", Content_Type="text/plain", **bearer(token))
    assert response.status_code == 415


def test_lan_a_cookie_write_needs_the_csrf_header(lan, tmp_path):
    from darkroom.web.auth import Authority

    c, _ = lan
    hits = []
    c.application.add_url_rule("/api/count", "count", lambda: hits.append(1) or "", methods=["POST"])
    auth = Authority(Config(port=PORT, data_dir=tmp_path, lan=True))
    c.set_cookie(auth.cookie_name, auth.new_cookie(), domain="127.0.0.1")
    assert call(c, "GET").status_code == 200  # reads need no header
    missing = call(c, "POST", "/api/count")
    assert missing.status_code == 403 and missing.get_json()["code"] == "csrf_header_missing"
    assert call(c, "POST", "/api/count", **{"X-Darkroom-Request": "0"}).status_code == 403
    assert hits == []
    assert call(c, "POST", "/api/count", **{"X-Darkroom-Request": "1"}).status_code == 200
    assert hits == [1]


@pytest.mark.parametrize("cookie", ["", "x", "a.b", "{nonce}.{bad}", "{nonce}.{sig}.x", ".{sig}"])
def test_lan_a_forged_cookie_is_refused(lan, tmp_path, cookie):
    from darkroom.web.auth import Authority

    c, _ = lan
    auth = Authority(Config(port=PORT, data_dir=tmp_path, lan=True))
    nonce, sig = auth.new_cookie().split(".")
    value = cookie.format(nonce=nonce, sig=sig, bad=sig[:-1] + ("0" if sig[-1] != "0" else "1"))
    c.set_cookie(auth.cookie_name, value, domain="127.0.0.1")
    assert call(c, "GET").status_code == 401


def test_lan_a_cookie_for_another_port_is_not_ours(lan, tmp_path):
    from darkroom.web.auth import Authority

    c, _ = lan
    other = Authority(Config(port=PORT + 1, data_dir=tmp_path, lan=True))
    c.set_cookie(other.cookie_name, other.new_cookie(), domain="127.0.0.1")
    assert call(c, "GET").status_code == 401


def test_lan_answers_this_machines_addresses(monkeypatch, tmp_path):
    """The Host check keeps working in LAN mode: the machine's own addresses, nothing else."""
    import socket
    from types import SimpleNamespace

    import psutil

    nic = {"eth0": [SimpleNamespace(family=socket.AF_INET, address="192.168.1.50"),
                    SimpleNamespace(family=socket.AF_INET6, address="fe80::1%eth0")]}
    monkeypatch.setattr(psutil, "net_if_addrs", lambda: nic)
    lan_guard = guard(lan=True, host="0.0.0.0", data_dir=tmp_path)
    assert lan_guard.host_allowed(f"192.168.1.50:{PORT}") and lan_guard.host_allowed(f"[fe80::1]:{PORT}")
    assert not lan_guard.host_allowed(f"192.168.1.51:{PORT}")
    assert not lan_guard.host_allowed(f"evil.example:{PORT}")
    assert not guard(host="127.0.0.1").host_allowed(f"192.168.1.50:{PORT}")


# --- the token file, and starting -----------------------------------------------------------

def test_the_token_file_is_made_once_owner_only(tmp_path):
    import os
    import stat

    from darkroom.web import auth

    first = auth.ensure_token(tmp_path)
    path = tmp_path / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert auth.ensure_token(tmp_path) == first and len(first) >= 43
    os.chmod(path, 0o644)
    assert auth.ensure_token(tmp_path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = auth.rotate_token(tmp_path)
    assert second != first and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["token"]  # no temporary file left


def test_a_rotation_is_followed_and_ends_cookies_and_codes(tmp_path):
    from darkroom.web import auth

    a = auth.Authority(Config(port=PORT, data_dir=tmp_path, lan=True))
    rotated = []
    a.listeners.append(lambda: rotated.append(1))
    old_token, cookie, code = (tmp_path / "token").read_text().strip(), a.new_cookie(), a.new_code()
    assert a.refresh() is False and rotated == []
    new = auth.rotate_token(tmp_path)
    assert a.refresh() is True and rotated == [1]
    assert a.refresh() is False and rotated == [1]
    assert not a.token_ok(old_token) and a.token_ok(new)
    assert not a.cookie_ok(cookie) and a.cookie_ok(a.new_cookie())
    assert not a.redeem(code)


def test_a_pairing_code_works_once_and_for_ten_minutes(tmp_path):
    from darkroom.web import auth

    now = [1000.0]
    a = auth.Authority(Config(port=PORT, data_dir=tmp_path, lan=True), clock=lambda: now[0])
    once = a.new_code()
    assert a.redeem(once) and not a.redeem(once)
    late, in_time = a.new_code(), a.new_code()
    now[0] += auth.PAIR_TTL - 1
    assert a.redeem(in_time)
    now[0] += 2
    assert not a.redeem(late)
    assert not a.redeem("") and not a.redeem(None) and not a.redeem(late + "x")


@pytest.mark.parametrize("config, problem", [
    (dict(host="0.0.0.0"), "--lan"), (dict(host="192.168.1.20"), "--lan"), (dict(host="::"), "--lan"),
    (dict(host="0.0.0.0", debug=True), "--lan"),
    (dict(lan=True, debug=True), "--debug is refused with --lan"),
    (dict(lan=True, debug=True, host="0.0.0.0"), "--debug is refused with --lan"),
])
def test_starting_is_refused(config, problem, tmp_path):
    from darkroom.web.auth import start_problem

    message = start_problem(Config(data_dir=tmp_path, **config))
    assert message and problem in message and "\n" not in message


@pytest.mark.parametrize("config", [dict(), dict(host="localhost"), dict(host="::1"), dict(debug=True),
                                    dict(lan=True), dict(lan=True, host="0.0.0.0")])
def test_starting_is_allowed(config, tmp_path):
    from darkroom.web.auth import start_problem

    assert start_problem(Config(data_dir=tmp_path, **config)) is None


@pytest.mark.parametrize("argv, env, host", [
    (["--lan"], {}, "0.0.0.0"),
    (["serve", "--lan"], {}, "0.0.0.0"),
    ([], {"DARKROOM_LAN": "1"}, "0.0.0.0"),
    (["--lan", "--host", "127.0.0.1"], {}, "127.0.0.1"),
    (["--lan", "--host=192.168.1.20"], {}, "192.168.1.20"),
    (["--lan"], {"DARKROOM_HOST": "10.0.0.2"}, "10.0.0.2"),
    ([], {}, "127.0.0.1"),
])
def test_lan_mode_binds_every_address_unless_told(argv, env, host, tmp_path):
    from darkroom.web.auth import lan_host

    env = {"DARKROOM_DATA_DIR": str(tmp_path), **env}
    config = Config.load(argv, env=env)
    assert lan_host(config, argv, env) == host
