"""The SSE stream in Chromium with the browser's own ``EventSource``, from a page served under
Darkroom's CSP: named events, ids, and the browser's automatic reconnect with
``Last-Event-ID`` resuming with nothing lost or doubled."""

from __future__ import annotations

import json

import pytest
from browser_support import wait_js

pytestmark = pytest.mark.browser

LISTEN = """(url) => {
  window.got = [];
  window.errors = 0;
  const es = new EventSource(url);
  window.es = es;
  for (const name of ['connection_established', 'subscription_confirmed', 'resync', 'close',
                      'tick']) {
    es.addEventListener(name, (e) => window.got.push(
      {type: e.type, id: e.lastEventId, data: JSON.parse(e.data)}));
  }
  es.onerror = () => { window.errors += 1; };
}"""


def broadcast(server, n: int) -> dict:
    r = server.post("/websocket/broadcast", {"type": "tick", "channel": "jobs", "data": {"n": n}})
    assert r.status_code == 200, r.text
    return r.json()


def got(page, type_=None) -> list[dict]:
    return [g for g in page.evaluate("window.got") if type_ is None or g["type"] == type_]


def test_event_source_follows_the_stream_and_resumes_after_a_drop(make_server, open_page):
    server = make_server(with_pipeline=False)
    page = open_page(server.url + "/")  # a page under the server's CSP (connect-src 'self')
    page.evaluate(LISTEN, "/events?channels=jobs&client_type=gui&client_name=Browser")
    wait_js(page, "window.got.some(g => g.type === 'subscription_confirmed')")
    [sse] = [c for c in server.get("/websocket/clients").json()["clients"] if c["transport"] == "sse"]
    assert sse["client_type"] == "gui" and sse["client_name"] == "Browser"
    assert page.evaluate("window.es.readyState") == 1  # OPEN

    sent = [broadcast(server, n) for n in range(3)]
    wait_js(page, "window.got.filter(g => g.type === 'tick').length === 3")
    ticks = got(page, "tick")
    epoch = server.hub.epoch
    assert [t["id"] for t in ticks] == [f"{epoch}:{s['seq']}" for s in sent]
    assert [t["data"]["n"] for t in ticks] == [0, 1, 2]
    assert all(t["data"]["type"] == "tick" and t["data"]["channel"] == "jobs" for t in ticks)

    # The server drops the stream; the browser reconnects by itself with Last-Event-ID.
    assert server.post(f"/websocket/disconnect/{sse['id']}").status_code == 200
    for n in range(3, 6):  # while it is away (EventSource waits ~3 s before reconnecting)
        broadcast(server, n)
    wait_js(page, "window.got.filter(g => g.type === 'subscription_confirmed').length === 2",
            timeout=20)
    wait_js(page, "window.got.filter(g => g.type === 'tick').length >= 6")
    broadcast(server, 6)
    wait_js(page, "window.got.filter(g => g.type === 'tick').length >= 7")
    assert [t["data"]["n"] for t in got(page, "tick")] == list(range(7))  # none lost, none twice
    closes = got(page, "close")
    assert [c["data"]["code"] for c in closes] == [1000]
    second = got(page, "subscription_confirmed")[1]["data"]
    assert second["recovered"] is True, json.dumps(second)
    assert page.evaluate("window.errors") >= 1  # the drop, as EventSource reports it
    assert page.errors == []
