"""Culling on the dashboard in Chromium against the real server: Lightroom's keys (stars,
flags, labels, approve) and Ctrl+Z / Cmd+Z undo, seen live by a second open dashboard and by
the server; auto-advance; a reject (X) cancels a pending develop; decisions and marks
survive a reload; and events from outside (POST /websocket/broadcast) reach the log only.

Most photos here are rows inserted through the server's Database with small real image files
(culling_support.py): the keys act on photos exactly as on imported ones, in a second."""

from __future__ import annotations

import pytest
from browser_support import wait_connected, wait_js
from culling_support import insert_photos, new_session
from imagegen import write_image

pytestmark = pytest.mark.browser


def tile(photo_id) -> str:
    return f'#gallery-grid .thumb[data-photo="{photo_id}"]'


def attr(page, photo_id, name: str) -> str:
    return page.get_attribute(tile(photo_id), f"data-{name}")


def wait_attr(page, photo_id, name: str, value: str) -> None:
    page.wait_for_selector(f'{tile(photo_id)}[data-{name}="{value}"]', state="attached",
                           timeout=20_000)


def current(page) -> str:
    return page.get_attribute("#gallery-grid .thumb.current", "data-photo")


def marks(server, photo_id) -> dict:
    photo = server.get(f"/api/photos/{photo_id}").json()["photo"]
    return {k: photo[k] for k in ("rating", "flag", "color_label", "decision")}


def dashboards(server, open_page, count=2):
    pages = [open_page(server.url + "/") for _ in range(count)]
    for page in pages:
        wait_connected(page)
        page.wait_for_selector("#gallery-grid .thumb.current", state="attached")
    return pages


@pytest.mark.timeout(120)
def test_keys_rate_flag_label_and_undo_and_every_other_dashboard_follows(live_server, open_page,
                                                                         tmp_path):
    session_id = new_session(live_server, "Keys", tmp_path / "keys")
    ids = insert_photos(live_server, session_id, 4, tmp_path / "files", developed=True,
                        decide=False, bursts=False)
    res = live_server.patch("/api/photos", {"ids": ids, "rating": 0, "flag": None, "color_label": None})
    assert res.status_code == 200, res.text
    page, other = dashboards(live_server, open_page)
    first = ids[0]
    assert current(page) == str(first)

    steps = [("3", "rating", "3"), ("p", "flag", "pick"), ("6", "label", "red"),
             ("8", "label", "green"), ("x", "flag", "reject"), ("0", "rating", "0"),
             ("5", "rating", "5"), ("u", "flag", "")]
    for key, name, value in steps:
        page.keyboard.press(key)
        for p in (page, other):
            wait_attr(p, first, name, value)
    assert marks(live_server, first) == {"rating": 5, "flag": None, "color_label": "green",
                                         "decision": None}

    # Ctrl+Z undoes the last action first, one at a time (Cmd+Z too), everywhere.
    page.keyboard.press("Control+z")
    for p in (page, other):
        wait_attr(p, first, "flag", "reject")
    page.keyboard.press("Meta+z")
    for p in (page, other):
        wait_attr(p, first, "rating", "0")
    # Two more in quick succession: the page sends them in order, so the last one wins.
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    for p in (page, other):
        wait_attr(p, first, "rating", "3")
        wait_attr(p, first, "flag", "pick")
    live_server.wait_for(lambda: marks(live_server, first) == {
        "rating": 3, "flag": "pick", "color_label": "green", "decision": None}, what="undone")

    # A approves; the undo puts the photo back in the approval queue on both pages.
    page.keyboard.press("a")
    for p in (page, other):
        wait_attr(p, first, "decision", "approved")
        wait_js(p, f"!document.querySelector('#approval-list li[data-photo=\"{first}\"]')")
    page.keyboard.press("Control+z")
    for p in (page, other):
        wait_attr(p, first, "decision", "")
        p.wait_for_selector(f'#approval-list li[data-photo="{first}"]', state="attached")
    assert marks(live_server, first)["decision"] is None
    # A and Ctrl+Z at once: the undo is the decision's (it is undoable before the server
    # answers) and waits for it, so the photo ends in the queue with its marks as they were.
    watcher = live_server.ws()
    watcher.subscribe("photos", "approval")
    page.keyboard.press("a")
    page.keyboard.press("Control+z")
    assert watcher.recv_type("photo_approved", timeout=20)["photo_id"] == first
    assert watcher.recv_type("photo_decision_reverted", timeout=20)["photo_id"] == first
    for p in (page, other):
        wait_attr(p, first, "decision", "")
        p.wait_for_selector(f'#approval-list li[data-photo="{first}"]', state="attached")
    assert marks(live_server, first) == {"rating": 3, "flag": "pick", "color_label": "green",
                                         "decision": None}
    # The approval panel's Approve button is this page's action too: Ctrl+Z takes it back.
    page.click("#approve-btn")
    assert watcher.recv_type("photo_approved", timeout=20)["photo_id"] == first
    page.keyboard.press("Control+z")
    assert watcher.recv_type("photo_decision_reverted", timeout=20)["photo_id"] == first
    for p in (page, other):
        wait_attr(p, first, "decision", "")

    # Auto-advance (the toggle; Caps Lock does the same): a mark moves to the next photo.
    page.check("#marks-bar .advance")
    page.keyboard.press("2")
    wait_js(page, f"document.querySelector('#gallery-grid .thumb.current').dataset.photo === '{ids[1]}'")
    wait_attr(other, first, "rating", "2")
    page.keyboard.press("9")
    wait_attr(other, ids[1], "label", "blue")
    assert current(page) == str(ids[2])
    # Purple has no key (as in Lightroom): a click on its swatch.
    page.click('#marks-bar .label-btn[data-label="purple"]')
    wait_attr(other, ids[2], "label", "purple")
    # Arrows move without marking; the second page's current photo is its own.
    page.keyboard.press("ArrowLeft")
    assert current(page) == str(ids[1])
    assert current(other) == str(first)
    assert page.errors == [] and other.errors == []


def test_a_reject_cancels_the_pending_develop(live_server, open_page, tmp_path):
    folder = tmp_path / "pending"
    folder.mkdir()
    for i in range(2):
        write_image(folder / f"IMG_{i:04d}.jpg", width=200, height=140, seed=i + 3)
    assert live_server.post("/api/queue/pause", {}).status_code == 200
    page = open_page(live_server.url + "/")
    wait_connected(page)
    page.wait_for_selector("body[data-queue=paused]", state="attached")
    watcher = live_server.ws()
    watcher.subscribe("jobs")
    session_id = new_session(live_server, "Pending", folder)
    live_server.post(f"/api/sessions/{session_id}/import", {})
    wait_js(page, "document.querySelectorAll('#job-list .job[data-status=pending]').length === 2",
            timeout=30)
    photo_id = page.get_attribute("#gallery-grid .thumb", "data-photo")
    job_id = str(live_server.get(f"/api/jobs?photo_id={photo_id}").json()["jobs"][0]["id"])
    page.click(f"{tile(photo_id)} .thumb-btn")
    page.keyboard.press("x")
    failed = watcher.recv_type("job_failed", timeout=10)
    assert str(failed["job_id"]) == job_id and failed["error_details"]["cancelled"] is True
    page.wait_for_selector(f'[data-job="{job_id}"][data-status="cancelled"]', state="attached")
    wait_attr(page, photo_id, "flag", "reject")
    # The other photo's develop still waits, for the queue's resume button.
    assert page.locator("#job-list .job[data-status=pending]").count() == 1
    page.click("#queue-pause")
    page.wait_for_selector("body[data-queue=running]", state="attached")
    assert live_server.get("/api/queue").json()["paused"] is False
    watcher.close()
    assert page.errors == []


BORDER = ("(id) => getComputedStyle(document.querySelector(`#gallery-grid .thumb[data-photo=\"${id}\"]"
          " .thumb-btn`)).borderTopColor")


def test_decisions_and_marks_survive_a_reload(live_server, open_page, tmp_path):
    session_id = new_session(live_server, "Reload", tmp_path / "reload")
    ids = insert_photos(live_server, session_id, 6, tmp_path / "files", developed=True,
                        decide=False, bursts=False)
    page = open_page(live_server.url + "/")
    wait_connected(page)
    page.wait_for_selector("#gallery-grid .thumb.current", state="attached")
    page.keyboard.press("a")
    wait_attr(page, ids[0], "decision", "approved")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("r")
    wait_attr(page, ids[1], "decision", "rejected")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("4")
    page.keyboard.press("7")
    live_server.wait_for(lambda: marks(live_server, ids[2]) == {
        "rating": 4, "flag": None, "color_label": "yellow", "decision": None},
        what="the marks stored")
    approved_border = page.evaluate(BORDER, ids[0])
    page.reload()
    wait_connected(page)
    page.wait_for_selector(f"{tile(ids[2])}", state="attached")
    assert attr(page, ids[0], "decision") == "approved"
    assert attr(page, ids[1], "decision") == "rejected"
    assert (attr(page, ids[2], "rating"), attr(page, ids[2], "label")) == ("4", "yellow")
    # The CSS reads the decision the API sends: approved and rejected tiles look it.
    assert page.evaluate(BORDER, ids[0]) == approved_border == "rgb(76, 175, 122)"
    assert page.evaluate(BORDER, ids[1]) == "rgb(224, 83, 61)"
    assert page.evaluate(BORDER, ids[3]) != approved_border
    assert page.inner_text(f"{tile(ids[0])} .decision") == "approved"
    assert page.errors == []


def test_events_from_outside_reach_the_log_only(live_server, open_page, tmp_path):
    session_id = new_session(live_server, "Outside", tmp_path / "outside")
    ids = insert_photos(live_server, session_id, 2, tmp_path / "files", developed=True,
                        decide=False, bursts=False)
    page = open_page(live_server.url + "/")
    wait_connected(page)
    page.wait_for_selector(tile(ids[1]), state="attached")
    before = {
        "tiles": page.locator("#gallery-grid .thumb").count(),
        "queue": page.locator("#approval-list li").count(),
        "jobs": page.locator("#job-list .job").count(),
        "card": page.inner_text(f'[data-session="{session_id}"] .counts-line'),
        "count": page.inner_text("#gallery-count"),
    }
    fakes = [
        ("photo_approved", "photos", {"photo_id": ids[0], "session_id": session_id}),
        ("photo_imported", "photos", {"photo_id": 999999, "session_id": session_id,
                                      "file_name": "ghost.jpg", "thumbnail_url": "/nowhere.jpg"}),
        ("job_created", "jobs", {"job_id": 424242, "photo_id": ids[1], "priority": 5,
                                 "preset": "X"}),
        ("session_updated", "sessions", {"session_id": session_id, "total_photos": 100,
                                         "processed_photos": 45, "status": "processing"}),
        ("photo_rated", "photos", {"photo_id": ids[1], "session_id": session_id, "rating": 5}),
    ]
    for kind, channel, data in fakes:
        res = live_server.post("/websocket/broadcast", {"type": kind, "channel": channel, "data": data})
        assert res.status_code == 200, res.text
    for kind, _, _ in fakes:
        page.wait_for_selector(f'#log-list li[data-type="{kind}"][data-source="external"]',
                               state="attached")
    after = {
        "tiles": page.locator("#gallery-grid .thumb").count(),
        "queue": page.locator("#approval-list li").count(),
        "jobs": page.locator("#job-list .job").count(),
        "card": page.inner_text(f'[data-session="{session_id}"] .counts-line'),
        "count": page.inner_text("#gallery-count"),
    }
    assert after == before
    assert attr(page, ids[0], "decision") == ""
    assert attr(page, ids[1], "rating") == "1" and marks(live_server, ids[1])["rating"] == 1
    assert page.locator('[data-photo="999999"], [data-job="424242"]').count() == 0
    assert page.errors == []
