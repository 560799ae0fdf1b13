"""LAN mode in Chromium: a pairing link makes a browser a paired device, whose cookie opens the
dashboard, its fetches (writes too, with the CSRF header api.js sends) and its WebSocket; the
dashboard then shows a pairing QR code for a phone. The server binds 127.0.0.1 in LAN mode."""

from __future__ import annotations

import pytest
import requests
from browser_support import wait_connected, wait_js

from darkroom.web import auth

pytestmark = pytest.mark.browser


def test_a_pairing_link_opens_the_dashboard_which_connects_and_shows_a_qr_code(make_server, open_page):
    server = make_server(lan=True, host="127.0.0.1")
    code = server.app.extensions[auth.EXTENSION].new_code()
    link = f"{server.url}/pair?code={code}&next=/"

    page = open_page(link)
    page.wait_for_url(f"{server.url}/", timeout=15_000)
    wait_connected(page)
    assert server.hub.client_count() == 1  # the cookie opened /ws

    page.wait_for_selector("#pairing[data-ready=yes]", timeout=10_000)
    wait_js(page, "document.querySelector('#pairing-qr').naturalWidth > 100", what="the QR code")
    phone_link = page.inner_text("#pairing-link")
    assert phone_link.startswith(f"{server.url}/pair?code=") and phone_link.endswith("next=/mobile")

    # A write from the page (api.js: JSON and X-Darkroom-Request) goes through on the cookie.
    paused = page.evaluate("""async () => {
        const { api } = await import('/static/js/api.js');
        return (await api.post('/api/queue/pause')).paused;
    }""")
    assert paused is True
    server.token = (server.config.data_dir / "token").read_text().strip()
    assert server.get("/api/queue").json()["paused"] is True
    assert server.post("/api/queue/resume").status_code == 200

    # The cookie is HttpOnly: the page cannot read it.
    assert page.evaluate("document.cookie") == ""
    cookies = page.context.cookies()
    assert [(c["httpOnly"], c["sameSite"]) for c in cookies] == [(True, "Strict")]

    # The link the dashboard shows pairs a phone, once.
    phone = open_page(phone_link)
    phone.wait_for_url(f"{server.url}/mobile", timeout=15_000)
    wait_connected(phone)
    assert requests.get(phone_link, timeout=10).status_code == 403
    assert page.errors == [] and phone.errors == []
