"""The Host/Origin/Sec-Fetch-Site guard (README "Protocol hygiene"): pure parsing and
host checks directly, the per-request rules through a tiny Flask app and its test client."""

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
    return client.open(path, method=method, headers={"Host": host, **headers})


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
    assert set(connect.split()[1:]) == {"'self'", f"ws://localhost:{PORT}", f"ws://127.0.0.1:{PORT}",
                                        f"ws://[::1]:{PORT}"}


def test_json_answers_carry_no_page_policy(client):
    response = call(client, "GET")
    assert "Content-Security-Policy" not in response.headers and "X-Frame-Options" not in response.headers
