"""The phone view in Chromium with touch: stars, flags, colour labels and undo by tap and swipe,
seen live by a second phone and a plain WebSocket client, and decisions (and the undo button)
surviving a reload. Swipes are real touch input (DevTools' Input.dispatchTouchEvent), which
Chromium turns into the pointer events the page follows."""

from __future__ import annotations

import time

import pytest
from browser_support import PHONE, screenshot, wait_connected, wait_js
from imagegen import write_image

from darkroom.web import auth

pytestmark = pytest.mark.browser


def make_folder(path, count):
    path.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        write_image(path / f"IMG_{i:04d}.jpg", width=240, height=160, seed=i + 1)
    return path


def start_session(server, name, folder) -> int:
    res = server.post("/api/sessions", {"name": name, "import_folder": str(folder)})
    assert res.status_code == 201, res.text
    session_id = res.json()["session"]["id"]
    assert server.post(f"/api/sessions/{session_id}/import", {}).status_code in (200, 202)
    return session_id


def swipe(page, dx: float, dy: float = 0.0, steps: int = 8) -> None:
    """A finger drawn across the card from its upper middle by (dx, dy) CSS pixels, 16 ms a
    step, then held still a moment before it lifts: a drag, not a flick (Chromium spends the
    next tap after a flick on stopping the fling)."""
    box = page.locator("#m-card").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 3
    start = time.time()
    cdp = page.context.new_cdp_session(page)

    def touch(kind, points, at):
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points,
                                              "timestamp": start + at})

    touch("touchStart", [{"x": x, "y": y}], 0)
    for step in range(1, steps + 1):
        touch("touchMove", [{"x": x + dx * step / steps, "y": y + dy * step / steps}], step * 0.016)
    end = [{"x": x + dx, "y": y + dy}]
    for hold in range(1, 4):
        touch("touchMove", end, steps * 0.016 + hold * 0.1)
    touch("touchEnd", [], steps * 0.016 + 0.4)
    cdp.detach()


def shown(page) -> str:
    return page.get_attribute("#m-card", "data-photo")


def card_is(page, photo_id, **marks) -> None:
    """Wait until ``page`` shows ``photo_id`` with these data-* marks (rating, flag, label)."""
    checks = [f"c.dataset.photo === '{photo_id}'"]
    checks += [f"c.dataset.{k} === '{'' if v is None else v}'" for k, v in marks.items()]
    wait_js(page, f"(() => {{ const c = document.querySelector('#m-card'); return !c.hidden && "
                  f"{' && '.join(checks)}; }})()", timeout=15, what=f"card {photo_id} {marks}")


def marks_of(server, photo_id) -> tuple:
    photo = server.get(f"/api/photos/{photo_id}").json()["photo"]
    return photo["rating"], photo["flag"], photo["color_label"], photo["decision"]


def rated(watcher, photo_id) -> dict:
    event = watcher.recv_type("photo_rated", timeout=10)
    assert str(event["photo_id"]) == str(photo_id), event
    return event


def open_phones(server, open_page, count=2):
    phones = [open_page(server.url + "/mobile", **PHONE) for _ in range(count)]
    for phone in phones:
        wait_connected(phone)
        phone.evaluate("window.__noReload = true")
    return phones


def test_stars_flags_and_labels_by_tap_are_undone_in_order_and_seen_live(live_server, open_page,
                                                                           tmp_path):
    phone, other = open_phones(live_server, open_page)
    watcher = live_server.ws()
    watcher.subscribe("photos")
    session_id = start_session(live_server, "Tap marks", make_folder(tmp_path / "tap", 2))
    for page in (phone, other):
        wait_js(page, "document.querySelector('#m-left').textContent === '2 to go'", timeout=30)
    photo = shown(phone)
    assert shown(other) == photo
    # The quality score is a labelled number; the stars are the rating, empty at first.
    assert phone.inner_text("#m-score").startswith("Quality score ")
    assert "\u2605" not in phone.inner_text("#m-score")
    assert phone.locator(".star[aria-pressed=true]").count() == 0

    phone.tap('.star[data-rating="3"]')
    event = rated(watcher, photo)
    assert (event["rating"], event["session_id"]) == (3, session_id)
    card_is(other, photo, rating=3)
    assert other.locator(".star[aria-pressed=true]").count() == 3

    phone.tap("#m-pick")
    assert rated(watcher, photo)["flag"] == "pick"
    card_is(other, photo, rating=3, flag="pick")
    assert other.get_attribute("#m-pick", "aria-pressed") == "true"

    phone.tap('.label-dot[data-label="green"]')
    assert rated(watcher, photo)["color_label"] == "green"
    card_is(other, photo, rating=3, flag="pick", label="green")
    assert marks_of(live_server, photo) == (3, "pick", "green", None)
    screenshot(phone, "phone-marks.png", full_page=False)

    # Undo takes back the last action first: the label, then the flag, then the stars.
    phone.tap("#m-undo")
    assert rated(watcher, photo).get("color_label") is None
    card_is(other, photo, rating=3, flag="pick", label=None)
    phone.tap("#m-undo")
    assert rated(watcher, photo).get("flag") is None
    card_is(other, photo, rating=3, flag=None, label=None)
    phone.tap("#m-undo")
    assert rated(watcher, photo)["rating"] == 0
    card_is(other, photo, rating=0, flag=None, label=None)
    assert marks_of(live_server, photo) == (0, None, None, None)
    wait_js(phone, "document.querySelector('#m-undo').disabled")

    # A star tapped again clears the rating (0 stars), as in Lightroom's tap-to-toggle.
    phone.tap('.star[data-rating="5"]')
    assert rated(watcher, photo)["rating"] == 5
    phone.tap('.star[data-rating="5"]')
    assert rated(watcher, photo)["rating"] == 0
    watcher.close()
    assert phone.errors == [] and other.errors == []
    assert not [m for m in phone.console + other.console if m.startswith("i18n: no")]


def test_swipes_decide_and_flag_undo_brings_a_photo_back_and_all_survives_a_reload(
        live_server, open_page, tmp_path):
    phone, other = open_phones(live_server, open_page)
    watcher = live_server.ws()
    watcher.subscribe("photos", "approval")
    session_id = start_session(live_server, "Swipe cull", make_folder(tmp_path / "swipe", 3))
    for page in (phone, other):
        wait_js(page, "document.querySelector('#m-left').textContent === '3 to go'", timeout=30)
    first = shown(phone)

    # Swipe up picks, swipe down flags as rejected, swipe down again unflags.
    swipe(phone, 0, -200)
    assert rated(watcher, first)["flag"] == "pick"
    card_is(other, first, flag="pick")
    swipe(phone, 0, 200)
    assert rated(watcher, first)["flag"] == "reject"
    card_is(other, first, flag="reject")
    swipe(phone, 0, 200)
    assert rated(watcher, first).get("flag") is None
    card_is(other, first, flag=None)

    # Swipe right approves: the other phone moves on to the next photo at once.
    swipe(phone, 220)
    approved = watcher.recv_type("photo_approved", timeout=10)
    assert (str(approved["photo_id"]), approved["session_id"]) == (first, session_id)
    wait_js(other, f"document.querySelector('#m-card').dataset.photo !== '{first}'")
    wait_js(other, "document.querySelector('#m-decided').dataset.approved === '1'")
    second = shown(other)

    # Undo (a button, no shaking): the decision is taken back and the photo is shown again.
    phone.tap("#m-undo")
    reverted = watcher.recv_type("photo_decision_reverted", timeout=10)
    assert (str(reverted["photo_id"]), reverted["previous_decision"]) == (first, "approved")
    card_is(phone, first)
    card_is(other, first)  # back in the queue, in capture order: first again
    wait_js(other, "document.querySelector('#m-decided').dataset.approved === '0'")
    for page in (phone, other):
        wait_js(page, "document.querySelector('#m-left').textContent === '3 to go'")
    assert marks_of(live_server, first)[3] is None

    # Decide for good: swipe right approves the first, a reason chip and a left swipe reject
    # the second.
    swipe(phone, 220)
    assert str(watcher.recv_type("photo_approved", timeout=10)["photo_id"]) == first
    card_is(phone, second)
    phone.tap('.chip[data-reason="blurry"]')
    swipe(phone, -220)
    rejected = watcher.recv_type("photo_rejected", timeout=10)
    assert (str(rejected["photo_id"]), rejected["reason"]) == (second, "blurry")
    for page in (phone, other):
        wait_js(page, "document.querySelector('#m-left').textContent === '1 to go'")
        wait_js(page, "(d => d.dataset.approved === '1' && d.dataset.rejected === '1')"
                      "(document.querySelector('#m-decided'))")
    third = shown(phone)
    assert third not in (first, second)
    phone.tap('.star[data-rating="4"]')
    assert rated(watcher, third)["rating"] == 4

    # After a reload the decisions hold: only the third photo is left (with its stars), the
    # counts come from the server, and the undo button still takes back the last action.
    phone.reload()
    wait_connected(phone)
    assert phone.evaluate("window.__noReload") is None
    card_is(phone, third, rating=4)
    assert phone.inner_text("#m-left") == "1 to go"
    assert phone.inner_text("#m-decided") == "Approved 1 \u00b7 Rejected 1"
    assert marks_of(live_server, first)[3] == "approved"
    assert marks_of(live_server, second)[3] == "rejected"
    phone.tap("#m-undo")
    assert rated(watcher, third)["rating"] == 0
    card_is(phone, third, rating=0)
    phone.tap("#m-undo")
    reverted = watcher.recv_type("photo_decision_reverted", timeout=10)
    assert (str(reverted["photo_id"]), reverted["previous_decision"]) == (second, "rejected")
    card_is(phone, second)
    card_is(other, second)
    wait_js(other, "document.querySelector('#m-decided').dataset.rejected === '0'")
    assert other.evaluate("window.__noReload") is True
    watcher.close()
    assert phone.errors == [] and other.errors == []


def test_a_paired_phone_on_the_lan_rates_and_undoes_with_its_cookie(make_server, open_page,
                                                                     tmp_path):
    """In LAN mode the phone's writes (PATCH, POST .../undo) go through on the pairing cookie
    with the CSRF header api.js sends; its words load from /static with the same cookie."""
    server = make_server(lan=True, host="127.0.0.1")
    server.token = (server.config.data_dir / "token").read_text().strip()
    code = server.app.extensions[auth.EXTENSION].new_code()
    phone = open_page(f"{server.url}/pair?code={code}&next=/mobile", locale="ja-JP", **PHONE)
    phone.wait_for_url(f"{server.url}/mobile", timeout=15_000)
    wait_connected(phone)
    phone.wait_for_selector("html[data-lang=ja]", state="attached")
    watcher = server.ws()
    watcher.subscribe("photos", "approval")
    start_session(server, "LAN", make_folder(tmp_path / "lan", 1))
    wait_js(phone, "document.querySelector('#m-left').textContent === '残り 1枚'", timeout=30)
    photo = shown(phone)

    phone.tap('.star[data-rating="2"]')
    assert rated(watcher, photo)["rating"] == 2
    phone.tap("#m-approve")
    assert str(watcher.recv_type("photo_approved", timeout=10)["photo_id"]) == photo
    phone.wait_for_selector("#m-empty:not([hidden])")
    phone.tap("#m-undo")
    assert str(watcher.recv_type("photo_decision_reverted", timeout=10)["photo_id"]) == photo
    card_is(phone, photo, rating=2)
    phone.tap("#m-undo")
    assert rated(watcher, photo)["rating"] == 0
    assert marks_of(server, photo) == (0, None, None, None)
    watcher.close()
    assert phone.errors == []
