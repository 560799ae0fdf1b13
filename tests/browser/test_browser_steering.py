"""Steering the pipeline from the dashboard in Chromium: the queue's pause/resume button, the
ETA of the queue and of each session from the recorded timings, job rows whose controls stay
on screen with a 60-character file name in a 376 px panel, and the Redis event bus's health
in the System panel."""

from __future__ import annotations

import socket
import uuid

import pytest
from browser_support import wait_connected, wait_js
from harness import need
from imagegen import write_image

pytestmark = pytest.mark.browser

LONG_NAME = "Wedding_Ceremony_Kiss_Under_The_Oak_Tree_Golden_Hour_0001"  # + ".jpg": 61


@pytest.mark.timeout(120)
def test_pause_resume_eta_and_job_rows_that_keep_their_controls(live_server, open_page, tmp_path):
    assert len(LONG_NAME + ".jpg") >= 60
    folder = tmp_path / "steer"
    folder.mkdir()
    write_image(folder / "IMG_0001.jpg", width=320, height=200, seed=5)
    page = open_page(live_server.url + "/", viewport={"width": 400, "height": 900})
    wait_connected(page)
    assert round(page.evaluate("document.querySelector('#jobs').getBoundingClientRect().width")) == 376
    res = live_server.post("/api/sessions", {"name": "Steer", "import_folder": str(folder)})
    session_id = res.json()["session"]["id"]
    live_server.post(f"/api/sessions/{session_id}/import", {})
    wait_js(page, "document.querySelector('#queue-counts [data-count=completed]').textContent === '1'",
            timeout=40, what="a first develop (the ETA's timings)")

    # The button pauses the queue for real, and another dashboard shows it at once.
    other = open_page(live_server.url + "/")
    wait_connected(other)
    other.wait_for_selector("body[data-queue=running]", state="attached")
    page.click("#queue-pause")
    page.wait_for_selector("body[data-queue=paused]", state="attached")
    other.wait_for_selector("body[data-queue=paused]", state="attached")
    assert live_server.get("/api/queue").json()["paused"] is True
    assert page.get_attribute("#queue-pause", "aria-pressed") == "true"
    for i, name in enumerate([LONG_NAME, "IMG_0002"]):
        write_image(folder / f"{name}.jpg", width=320, height=200, seed=20 + i)
    live_server.post(f"/api/sessions/{session_id}/import", {})
    wait_js(page, "document.querySelectorAll('#job-list .job[data-status=pending]').length === 2",
            timeout=30)

    # The ETA, from the first develop's timing, for the queue and on the session's card.
    eta = live_server.get("/api/queue").json()["eta"]
    assert eta["remaining"] == 2 and isinstance(eta["seconds"], (int, float))
    wait_js(page, "document.querySelector('#queue-eta').textContent.includes('2 left')")
    card_eta = page.inner_text(f'[data-session="{session_id}"] .eta')
    assert "2 left" in card_eta and "about" in card_eta

    # The long name gives way (ellipsis); the stage, priority and Cancel stay in the row.
    job = page.locator("#job-list .job", has_text=LONG_NAME[:20])
    assert job.count() == 1
    sizes = job.evaluate("""(li) => {
      const right = (el) => el.getBoundingClientRect().right;
      const title = li.querySelector('.job-title');
      return { row: right(li), panel: right(document.querySelector('#jobs')),
               controls: ['.stage', '.priority', '.cancel'].map((s) => right(li.querySelector(s))),
               visible: ['.priority', '.cancel'].map((s) => li.querySelector(s).offsetWidth > 0),
               clipped: title.scrollWidth > title.clientWidth,
               overflow: li.scrollWidth - li.clientWidth,
               full: title.title };
    }""")
    assert sizes["clipped"] and sizes["overflow"] <= 0, sizes
    assert all(sizes["visible"]), sizes
    assert max(sizes["controls"]) <= sizes["row"] <= sizes["panel"], sizes
    assert LONG_NAME in sizes["full"]  # the whole name on hover
    page.select_option(f'[data-job="{job.get_attribute("data-job")}"] .priority', "2")
    wait_js(page, f"document.querySelector('[data-job=\"{job.get_attribute('data-job')}\"] .priority')"
                  ".value === '2'")

    # Resume: the jobs run, the ETA empties.
    page.click("#queue-pause")
    page.wait_for_selector("body[data-queue=running]", state="attached")
    other.wait_for_selector("body[data-queue=running]", state="attached")
    wait_js(page, "document.querySelector('#queue-counts [data-count=completed]').textContent === '3'",
            timeout=40)
    wait_js(page, "document.querySelector('#queue-eta').textContent === ''", timeout=10)
    assert page.errors == [] and other.errors == []


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_the_system_panel_shows_the_redis_bus(make_server, open_page):
    need(redis_reachable(), "no Redis at 127.0.0.1:6379")
    import redis

    prefix = f"test-{uuid.uuid4().hex[:12]}"
    server = make_server(redis_url="redis://127.0.0.1:6379/0", redis_prefix=prefix)
    try:
        bus = server.get("/websocket/stats").json()["stats"]["bus"]
        assert bus["kind"] == "redis"
        page = open_page(server.url + "/")
        wait_connected(page)
        page.wait_for_selector("#bus-health:not([hidden])")
        text = page.inner_text("#bus-state")
        assert "connected" in text and "lag" in text and "dropped" in text, text
        assert page.get_attribute("#bus-health", "data-health") == ("ok" if bus["connected"] else "unwell")
        assert page.errors == []
    finally:
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_the_system_panel_hides_the_bus_without_redis(live_server, open_page):
    assert live_server.get("/websocket/stats").json()["stats"]["bus"]["kind"] != "redis"
    page = open_page(live_server.url + "/")
    wait_connected(page)
    assert page.locator("#bus-health").is_hidden()
    assert page.errors == []
