"""The browser client in a real browser: the quick reference's examples run
unchanged, realtime.js reconnects/resumes/bounds its queue, and event fields
are rendered as text, never as HTML."""

from __future__ import annotations

import re

import pytest
from browser_support import eventually, port_free, screenshot, wait_connected, wait_js
from harness import ROOT, need
from imagegen import write_image
from pipeline_support import create_session, ok

pytestmark = pytest.mark.browser

QUICK_REFERENCE = [ROOT / "docs" / "quick-reference.md", ROOT.parent / "shared" / "seed" / "quick-reference.md"]


def broadcast(server, type_, channel, **data):
    res = server.post("/websocket/broadcast", {"type": type_, "channel": channel, "data": data})
    assert res.status_code == 200, res.text
    return res.json()


def test_examples_js_holds_every_quick_reference_example_verbatim():
    doc = next((p for p in QUICK_REFERENCE if p.exists()), None)
    if doc is None:
        pytest.skip("quick-reference.md not found next to the repository")
    blocks = re.findall(r"```javascript\n(.*?)```", doc.read_text(), re.S)
    assert len(blocks) == 5
    examples = (ROOT / "darkroom" / "web" / "static" / "js" / "examples.js").read_text()
    for block in blocks:
        assert block in examples, block[:80]


def test_quick_reference_examples_run_unchanged_and_receive_events(start_app, open_page):
    # The examples hard-code ws://localhost:5100/ws, so the app must be there.
    need(port_free(5100), "port 5100 must be free: the quick reference's examples hard-code it")
    app = start_app(port=5100)
    page = open_page("http://localhost:5100/examples")
    eventually(lambda: app.get("/websocket/clients").json()["count"] >= 5, what="5 example sockets")
    # Quick Start and the three patterns subscribe; Test Connection only connects.
    eventually(lambda: sum(len(c["subscriptions"]) == 3
                           for c in app.get("/websocket/clients").json()["clients"]) == 4,
               what="four example sockets subscribed")

    broadcast(app, "job_progress", "jobs", job_id="task-abc123", stage="developing",
              progress=75.5, message="Applying preset...")
    broadcast(app, "photo_imported", "photos", photo_id=123, session_id=1,
              file_name="IMG_5432.CR3", file_path="/path/to/photo.cr3")
    broadcast(app, "session_updated", "sessions", session_id=1, total_photos=100,
              processed_photos=45, status="processing")

    wait_js(page, "document.querySelector('#ex-progress progress')?.value === 75.5")
    assert page.inner_text("#ex-progress") == "job task-abc123: 75.5%"
    assert page.inner_text("#ex-message") == "Applying preset..."
    page.wait_for_selector("#ex-gallery li")
    assert page.inner_text("#ex-gallery") == "photo 123: IMG_5432.CR3 (session 1)"
    page.wait_for_selector("#ex-sessions li")
    assert page.inner_text("#ex-sessions") == "session 1: 45/100 (45%)"
    # Quick Start logs every message; Test Connection logs "Connected!".
    eventually(lambda: "Connected!" in page.console, what="Test Connection example")
    eventually(lambda: any(t.startswith("Event: session_updated") for t in page.console),
               what="Quick Start example logging events")
    assert page.errors == []
    screenshot(page, "examples.png")


REALTIME_HARNESS = """
async () => {
  const mod = await import('/static/js/realtime.js');
  // A scripted WebSocket: tests drive it from the page.
  class FakeSocket {
    constructor(url) {
      this.url = url; this.readyState = 0; this.sent = [];
      window.sockets.push(this);
    }
    send(data) { this.sent.push(JSON.parse(data)); }
    close() { this.readyState = 3; setTimeout(() => this.onclose && this.onclose({}), 0); }
    serverOpen(welcome) {
      this.readyState = 1;
      this.deliver({type: 'connection_established', client_id: 'c' + window.sockets.length,
        heartbeat_interval: 15, protocol_version: '1.0', ...welcome});
    }
    deliver(msg) { this.onmessage && this.onmessage({data: JSON.stringify(msg)}); }
    serverClose() { this.readyState = 3; this.onclose && this.onclose({code: 1001}); }
  }
  window.sockets = [];
  window.seen = [];
  window.rtmod = mod;
  window.makeClient = (opts) => {
    const rt = new mod.RealtimeClient({url: 'ws://fake/ws', WebSocket: FakeSocket,
      channels: ['jobs'], minDelay: 20, maxDelay: 200, ...opts});
    for (const name of ['state', 'resync', 'recovered', 'dropped', 'job_progress']) {
      rt.on(name, (d) => window.seen.push([name, d && (d.state || d.reason || d.job_id || null)]));
    }
    return rt;
  };
}
"""


@pytest.fixture
def harness(live_server, open_page):
    """A page from the app with realtime.js loaded against a scripted WebSocket."""
    page = open_page(live_server.url + "/websocket/catalog")
    page.evaluate(REALTIME_HARNESS)
    return page


def test_backoff_is_full_jitter_from_1s_capped_at_30s(harness):
    caps = harness.evaluate("""() => {
      const {backoffDelay} = window.rtmod;
      const top = (a) => backoffDelay(a, 1000, 30000, () => 0.999999);
      const low = (a) => backoffDelay(a, 1000, 30000, () => 0);
      return {tops: [0,1,2,3,4,5,6,10,40].map(top), lows: [0,5,40].map(low)};
    }""")
    assert caps["tops"] == [999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]
    assert caps["lows"] == [0, 0, 0]


def test_reconnects_registers_resubscribes_and_resumes_from_last_seq(harness):
    harness.evaluate("""() => {
      window.rt = makeClient({clientType: 'mobile', clientName: 'phone'});
      rt.connect();
      sockets[0].serverOpen({epoch: 'E1', seq: 10});
    }""")
    first = harness.evaluate("sockets[0].sent")
    assert first[0] == {"type": "register", "client_type": "mobile", "client_name": "phone"}
    assert first[1] == {"type": "subscribe", "channels": ["jobs"], "since": {"epoch": "E1", "seq": 10}}
    harness.evaluate("""() => {
      sockets[0].deliver({type: 'subscription_confirmed', channels: ['jobs']});
      sockets[0].deliver({type: 'job_progress', channel: 'jobs', seq: 14, job_id: 5, progress: 50});
      sockets[0].serverClose();
    }""")
    harness.wait_for_function("sockets.length === 2")
    harness.evaluate("sockets[1].serverOpen({epoch: 'E1', seq: 20})")
    again = harness.evaluate("sockets[1].sent")
    assert again[0]["type"] == "register" and again[0]["client_type"] == "mobile"
    assert again[1] == {"type": "subscribe", "channels": ["jobs"], "since": {"epoch": "E1", "seq": 14}}
    harness.evaluate("sockets[1].deliver({type: 'subscription_confirmed', channels: ['jobs'], recovered: true})")
    seen = harness.evaluate("seen")
    assert ["resync", "initial"] in seen
    assert ["reconnecting", None] in seen or ["state", "reconnecting"] in seen
    assert ["recovered", None] in seen
    assert [s for s in seen if s[0] == "resync"] == [["resync", "initial"]]

    # A server that cannot replay (or knows no `recovered`) makes the page reload.
    harness.evaluate("""() => {
      sockets[1].serverClose();
    }""")
    harness.wait_for_function("sockets.length === 3")
    harness.evaluate("""() => {
      sockets[2].serverOpen({epoch: 'E2', seq: 3});
      sockets[2].deliver({type: 'subscription_confirmed', channels: ['jobs']});
    }""")
    assert harness.evaluate("seen.filter(s => s[0] === 'resync').map(s => s[1])") == [
        "initial", "not_recovered"]
    assert harness.evaluate("rt.epoch") == "E2"


def test_offline_sends_are_bounded_and_flushed_after_reconnect(harness):
    result = harness.evaluate("""() => {
      window.rt = makeClient({maxQueue: 3});
      rt.connect();
      for (let i = 0; i < 10; i += 1) rt.send({type: 'ping', n: i});
      sockets[0].serverOpen({epoch: 'E', seq: 0});
      return {queued: sockets[0].sent.filter(m => m.type === 'ping').map(m => m.n),
              dropped: seen.filter(s => s[0] === 'dropped').length};
    }""")
    assert result == {"queued": [7, 8, 9], "dropped": 7}


def test_a_silent_link_is_declared_dead_and_replaced(harness):
    harness.evaluate("""() => {
      window.rt = makeClient({});
      rt.connect();
      sockets[0].serverOpen({epoch: 'E', seq: 0, heartbeat_interval: 0.4});
    }""")
    # Pings go out while idle; with no answer for two intervals the link is dropped.
    harness.wait_for_function("sockets[0].sent.some(m => m.type === 'ping')", timeout=5_000)
    harness.wait_for_function("sockets.length === 2", timeout=5_000)
    assert harness.evaluate("sockets[0].readyState") == 3


def test_close_stops_for_good(harness):
    harness.evaluate("""() => {
      window.rt = makeClient({});
      rt.connect();
      sockets[0].serverOpen({epoch: 'E', seq: 0});
      rt.close();
    }""")
    harness.wait_for_timeout(300)
    assert harness.evaluate("sockets.length") == 1
    assert harness.evaluate("rt.state") == "closed"


def test_event_fields_render_as_text_never_as_html(live_server, open_page, tmp_path):
    """Names a photographer (or a hostile client) chose are shown as text everywhere.

    The session and the photo are real (made through the API and the importer, so
    they reach the gallery and the session cards); the external events, which only
    the log shows, carry the same payload there.
    """
    # Without the CSP's help: an HTML-rendering bug would run the payload here.
    page = open_page(live_server.url + "/", bypass_csp=True)
    wait_connected(page)
    evil = '<img src=x onerror="window.__xss=1">'
    folder = tmp_path / "<b>bold"  # no "/" in a folder name
    folder.mkdir()
    session_id = create_session(live_server, evil, folder)
    photo_file = write_image(folder / f"{evil}.jpg", 240, 160, seed=97)
    photo_id = ok(live_server.post("/import/file", {"file_path": str(photo_file),
                                                   "session_id": session_id}))["photo_id"]
    broadcast(live_server, "photo_imported", "photos", photo_id=9001, session_id=1, file_name=evil)
    broadcast(live_server, "error_occurred", "system", error_type="<script>", error_message=evil)
    page.wait_for_selector(f'[data-photo="{photo_id}"] .thumb-name')
    page.wait_for_selector(f'[data-session="{session_id}"] .name')
    assert page.inner_text(f'[data-photo="{photo_id}"] .thumb-name') == f"{evil}.jpg"
    assert page.inner_text(f'[data-session="{session_id}"] .name') == evil
    assert page.inner_text(f'[data-session="{session_id}"] .folder').endswith("/<b>bold")
    eventually(lambda: page.locator("#log-list code").filter(has_text="<img src=x onerror=").count() >= 2,
               what="both external events in the log, as text")
    assert page.evaluate("window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("#session-list b").count() == 0
    assert page.locator('[data-photo="9001"]').count() == 0  # external: the log only
    assert page.errors == []


def test_snapshot_is_requested_only_when_asked(harness):
    sent = harness.evaluate("""() => {
      const plain = makeClient({});
      plain.connect();
      sockets[0].serverOpen({epoch: 'E', seq: 4});
      const withState = makeClient({snapshot: true});
      withState.connect();
      sockets[1].serverOpen({epoch: 'E', seq: 4});
      return [sockets[0].sent[1], sockets[1].sent[1]];
    }""")
    assert "snapshot" not in sent[0]
    assert sent[1] == {"type": "subscribe", "channels": ["jobs"], "since": {"epoch": "E", "seq": 4},
                       "snapshot": True}


def test_a_server_that_drops_at_once_is_not_hammered(harness):
    # Each link is welcomed, then dropped at once: the backoff keeps growing.
    harness.evaluate("""() => {
      window.rt = makeClient({minDelay: 10, maxDelay: 10000});
      window.delays = [];
      rt.on('reconnecting', (d) => delays.push(d.attempt));
      rt.connect();
      window.cycle = () => {
        const ws = sockets[sockets.length - 1];
        ws.serverOpen({epoch: 'E', seq: 0});
        ws.serverClose();
      };
      cycle();
    }""")
    for n in range(2, 5):
        harness.wait_for_function(f"sockets.length === {n}", timeout=5_000)
        harness.evaluate("cycle()")
    assert harness.evaluate("delays") == [1, 2, 3, 4]
