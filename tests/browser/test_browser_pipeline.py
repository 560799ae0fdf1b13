"""The dashboard and the phone view in a real browser against the real pipeline:
an import started over HTTP shows up live, decisions reach other clients,
and a server restart is survived without a reload."""

from __future__ import annotations

import re

import pytest
from browser_support import PHONE, screenshot, wait_connected, wait_js
from harness import free_port
from imagegen import write_image

pytestmark = pytest.mark.browser

# Records every progress value the job list shows, and marks the document so a
# reload (which would drop the mark) cannot go unnoticed.
WATCH_PROGRESS = """() => {
  window.__noReload = true;
  window.__progress = [];
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.attributeName === 'data-progress') window.__progress.push(Number(r.target.dataset.progress));
    }
  }).observe(document.querySelector('#job-list'), {subtree: true, attributes: true,
                                                  attributeFilter: ['data-progress']});
}"""

LOADED_THUMBS = ("[...document.querySelectorAll('#gallery-grid img')]"
                 ".filter((i) => i.complete && i.naturalWidth > 0).length")


def make_folder(path, count, size=(480, 320)):
    path.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        write_image(path / f"IMG_{i:04d}.jpg", width=size[0], height=size[1], seed=i + 1)
    return path


def create_session(server, name, folder, import_now=True) -> int:
    res = server.post("/api/sessions", {"name": name, "import_folder": str(folder)})
    assert res.status_code == 201, res.text
    body = res.json()
    session_id = (body.get("session") or body).get("id")
    if import_now:
        res = server.post(f"/api/sessions/{session_id}/import", {})
        assert res.status_code in (200, 202), res.text
    return session_id


def queue_ids(page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('#approval-list li')].map(li => li.dataset.photo)")


@pytest.mark.timeout(120)  # 4 imports and develops on a loaded machine
def test_dashboard_shows_an_http_import_live_with_thumbnails_and_progress(live_server, open_page,
                                                                          tmp_path):
    folder = make_folder(tmp_path / "shoot", 4)
    page = open_page(live_server.url + "/")
    wait_connected(page)
    page.evaluate(WATCH_PROGRESS)
    # By name, so that frames the analysis finds near-identical (the generated scenes can
    # be) are not folded into one burst tile: every thumbnail must show.
    page.select_option("#filter-sort", "name")

    session_id = create_session(live_server, "Saturday shoot", folder)

    card = f'[data-session="{session_id}"]'
    page.wait_for_selector(f"{card} .name")
    assert page.inner_text(f"{card} .name") == "Saturday shoot"
    wait_js(page, f"{LOADED_THUMBS} >= 4", timeout=50, what="4 thumbnails loaded")
    wait_js(page, f"document.querySelector('{card} progress').value === 100", timeout=30,
            what="session progress at 100%")
    assert "4/4 processed" in page.inner_text(f"{card} .counts-line")
    # Job bars moved through intermediate values to 100, and every tile has its score and preset.
    progress = page.evaluate("window.__progress")
    assert any(0 < v < 100 for v in progress), progress
    assert 100 in progress
    wait_js(page, "[...document.querySelectorAll('#gallery-grid .score')].every(s => s.textContent)")
    assert page.locator("#gallery-grid .preset:not([hidden])").count() == 4
    wait_js(page, "document.querySelectorAll('#approval-list li').length === 4", timeout=20)
    wait_js(page, "document.querySelector('#queue-counts [data-count=completed]').textContent === '4'")
    assert page.evaluate("window.__noReload") is True

    # The loupe (double click): the developed render, and every metric one click away.
    page.locator("#gallery-grid .thumb-btn").first.dblclick()
    page.wait_for_selector("#detail[open] #detail-metrics th", state="attached")
    page.click("#detail-more summary")
    metrics = page.locator("#detail-metrics th").all_inner_texts()
    assert any("sharpness" in m for m in metrics), metrics
    wait_js(page, "document.querySelector('#pane-a .fit').naturalWidth > 0", timeout=10)
    assert "/developed" in page.get_attribute("#pane-a .fit", "src")
    screenshot(page, "dashboard-detail.png", full_page=False)
    page.keyboard.press("Escape")
    screenshot(page, "dashboard.png")
    assert page.errors == []


def test_keyboard_decisions_in_the_dashboard_reach_other_clients(live_server, open_page, tmp_path):
    folder = make_folder(tmp_path / "cull", 3, size=(160, 120))
    page = open_page(live_server.url + "/")
    wait_connected(page)
    watcher = live_server.ws()
    watcher.subscribe("photos")
    create_session(live_server, "Cull", folder)
    wait_js(page, "document.querySelectorAll('#approval-list li').length === 3", timeout=30)

    # Arrows move the current photo through the gallery; the approval panel follows it.
    first = page.get_attribute("#gallery-grid .thumb.current", "data-photo")
    assert first == page.get_attribute("#gallery-grid .thumb", "data-photo")
    page.keyboard.press("ArrowRight")
    chosen = page.get_attribute("#gallery-grid .thumb.current", "data-photo")
    assert chosen != first
    wait_js(page, f"document.querySelector('#approval-list li.current').dataset.photo === '{chosen}'")
    page.keyboard.press("a")
    approved = watcher.recv_type("photo_approved", timeout=10)
    assert str(approved["photo_id"]) == chosen
    wait_js(page, "document.querySelectorAll('#approval-list li').length === 2")

    # The decided photo stays current (no auto-advance): move on, then reject with a reason.
    page.keyboard.press("ArrowRight")
    target = page.get_attribute("#gallery-grid .thumb.current", "data-photo")
    assert target not in (first, chosen)
    page.fill("#reject-reason", "soft focus")
    page.locator("#reject-reason").blur()
    page.keyboard.press("r")
    rejected = watcher.recv_type("photo_rejected", timeout=10)
    assert str(rejected["photo_id"]) == target
    assert rejected["reason"] == "soft focus"
    wait_js(page, "document.querySelectorAll('#approval-list li').length === 1")
    watcher.close()
    assert page.errors == []


def test_phone_view_culls_by_swipe_and_tap(live_server, open_page, tmp_path):
    folder = make_folder(tmp_path / "phone", 2, size=(240, 160))
    page = open_page(live_server.url + "/mobile", **PHONE)
    wait_connected(page)
    clients = live_server.get("/websocket/clients").json()["clients"]
    assert any(c["client_type"] == "mobile" for c in clients), clients
    watcher = live_server.ws()
    watcher.subscribe("photos")

    session_id = create_session(live_server, "Phone cull", folder)
    page.wait_for_selector("#m-card:not([hidden])")
    wait_js(page, "document.querySelector('#m-img').naturalWidth > 0", timeout=30)
    wait_js(page, "document.querySelector('#m-left').textContent === '2 to go'", timeout=30)
    wait_js(page, "document.querySelector('#m-progress').value === 100", timeout=30)
    screenshot(page, "phone.png", full_page=False)

    # Swipe right approves.
    first = page.get_attribute("#m-card", "data-photo")
    box = page.locator("#m-card").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 8):
        page.mouse.move(x + step * 25, y)
    page.mouse.up()
    approved = watcher.recv_type("photo_approved", timeout=10)
    assert str(approved["photo_id"]) == first
    assert approved["session_id"] == session_id

    # Tap a reason and Reject.
    wait_js(page, f"document.querySelector('#m-card').dataset.photo !== '{first}'")
    second = page.get_attribute("#m-card", "data-photo")
    page.tap('.chip[data-reason="blurry"]')
    page.tap("#m-reject")
    rejected = watcher.recv_type("photo_rejected", timeout=10)
    assert str(rejected["photo_id"]) == second and rejected["reason"] == "blurry"
    page.wait_for_selector("#m-empty:not([hidden])")
    watcher.close()
    assert page.errors == []


# The reconnect backoff's jitter (realtime.js, full jitter: a random wait up to a cap that
# doubles from 1 s to 30 s) pinned for the restart test: the first wait near its 1 s cap, so
# the "reconnecting" pill is there to be read, then a tenth of each cap (at most 3 s). The
# reconnect is still the page's own timer; with the real random, the wait after the server is
# back ranged from nothing to 30 s (this test took 5-40 s). The backoff's draws themselves are
# tests/browser/test_browser_client.py::test_backoff_is_full_jitter_from_1s_capped_at_30s.
PINNED_JITTER = """(() => {
  let draws = 0;
  Math.random = () => (draws++ === 0 ? 0.9 : 0.1);
})();"""


@pytest.mark.slow
@pytest.mark.timeout(90)  # three app starts and the backoff's waits
def test_dashboard_survives_a_server_restart_and_recovers_state(start_app, open_page, tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    app = start_app(port=port, data_dir=data_dir)
    page = open_page(app.url + "/", prepare=lambda p: p.add_init_script(PINNED_JITTER))
    wait_connected(page)
    page.evaluate("window.__noReload = true")
    before = create_session(app, "Before restart", tmp_path, import_now=False)
    page.wait_for_selector(f'[data-session="{before}"]')

    app.terminate()
    page.wait_for_selector('#conn-state[data-state="reconnecting"]', state="attached")
    assert "reconnecting" in page.inner_text("#conn-state")
    # While the page is away, the same data changes through another server process.
    other = start_app(port=free_port(), data_dir=data_dir)
    during = create_session(other, "Made while away", tmp_path, import_now=False)
    other.terminate()

    start_app(port=port, data_dir=data_dir)
    page.wait_for_selector('#conn-state[data-state="open"]', state="attached", timeout=40_000)
    page.wait_for_selector(f'[data-session="{during}"] .name', timeout=15_000)
    assert page.inner_text(f'[data-session="{during}"] .name') == "Made while away"
    assert page.locator(f'[data-session="{before}"]').count() == 1
    assert page.evaluate("window.__noReload") is True
    assert page.errors == []


def test_dashboard_steers_jobs_exports_and_filters_the_log(live_server, open_page, tmp_path):
    folder = make_folder(tmp_path / "steer", 3, size=(160, 120))
    assert live_server.post("/api/queue/pause", {}).status_code == 200
    page = open_page(live_server.url + "/")
    wait_connected(page)
    watcher = live_server.ws()
    watcher.subscribe("queue", "export")
    session_id = create_session(live_server, "Steer", folder)
    wait_js(page, "document.querySelectorAll('#job-list .job[data-status=pending]').length === 3",
            timeout=30)
    job_ids = page.evaluate("[...document.querySelectorAll('#job-list .job')].map(j => j.dataset.job)")

    # Priority from the page reaches every client.
    page.select_option(f'[data-job="{job_ids[0]}"] .priority', "1")
    changed = watcher.recv_type("priority_changed", timeout=10)
    assert str(changed["job_id"]) == job_ids[0] and changed["new_priority"] == 1

    # Cancel, then retry.
    job = f'[data-job="{job_ids[1]}"]'
    page.click(f"{job} .cancel")
    page.wait_for_selector(f'{job}[data-status="cancelled"] .retry:not([hidden])')
    page.click(f"{job} .retry")
    page.wait_for_selector(f'{job}[data-status="pending"]')

    assert live_server.post("/api/queue/resume", {}).status_code == 200
    wait_js(page, "document.querySelectorAll('#approval-list li').length === 3", timeout=30)
    # One decision at a time: a click before the last one is answered decides the same photo.
    for left in (2, 1, 0):
        page.click("#approve-btn")
        wait_js(page, f"document.querySelectorAll('#approval-list li').length === {left}")
    page.wait_for_selector("#approval-empty:not([hidden])")

    # Export the session from the page, with progress.
    page.select_option("#export-session", str(session_id))
    page.click("#export-form button[type=submit]")
    for _ in range(3):
        done = watcher.recv_type("export_completed", timeout=20)
        assert done["file_size"] > 0
    wait_js(page, "document.querySelector('#export-progress').value === 100")
    assert page.locator("#export-list li.ok").count() == 3

    # The log filters by channel and type, and holds events while paused.
    page.select_option("#log-channel", "export")
    channels = page.evaluate("[...document.querySelectorAll('#log-list li:not([hidden])')]"
                             ".map(li => li.dataset.channel)")
    assert channels and set(channels) == {"export"}
    page.fill("#log-type", "completed")
    assert set(page.evaluate("[...document.querySelectorAll('#log-list li:not([hidden])')]"
                             ".map(li => li.dataset.type)")) == {"export_completed"}
    # Other events (system_status...) may arrive while paused too: wait for this one.
    page.click("#log-pause")
    shown = page.locator("#log-list li").count()
    page.evaluate("() => { window.__failed = new Promise((r) => darkroomClient.on('export_failed', r)); }")
    live_server.post("/websocket/broadcast", {"type": "export_failed", "channel": "export",
                                              "data": {"photo_id": 1, "preset_name": "x",
                                                       "error_message": "disk full"}})
    page.evaluate("window.__failed.then(() => true)")
    assert re.fullmatch(r"[1-9]\d* waiting", page.inner_text("#log-paused"))
    assert page.locator("#log-list li").count() == shown
    page.click("#log-pause")
    page.wait_for_selector("#log-list li[data-type=export_failed]", state="attached")
    watcher.close()
    assert page.errors == []
