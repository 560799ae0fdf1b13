"""The loupe in Chromium against a real develop: the photo fitted, a click zooms to 100 %
(the full-resolution render from /api/photos/<id>/full, pixel for pixel, with the clicked
point kept under the pointer), a drag pans, a two-up compare follows the same zoom and pan,
the histogram is drawn from the photo's bins, the EXIF line is the photographer's, the full
metadata is one click away, and the preset picker re-develops."""

from __future__ import annotations

import io

import pytest
from browser_support import wait_connected, wait_js
from imagegen import write_image
from PIL import Image

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 2400, 1600

# A crop of the full image as the page decoded it: drawn at natural size onto a canvas.
CROP = """([x, y, w, h]) => {
  const img = document.querySelector('#pane-a .full');
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return Array.from(ctx.getImageData(x, y, w, h).data);
}"""

RECT = ("(sel) => { const r = document.querySelector(sel).getBoundingClientRect();"
        " return [r.left, r.top, r.width, r.height]; }")


@pytest.mark.timeout(120)
def test_the_loupe_zooms_to_full_resolution_pans_compares_and_redevelops(live_server, open_page,
                                                                        tmp_path):
    folder = tmp_path / "loupe"
    folder.mkdir()
    for i in range(2):
        write_image(folder / f"IMG_{i:04d}.jpg", width=WIDTH, height=HEIGHT, seed=i + 11)
    res = live_server.post("/api/sessions", {"name": "Loupe", "import_folder": str(folder)})
    session_id = res.json()["session"]["id"]
    live_server.post(f"/api/sessions/{session_id}/import", {})
    live_server.wait_for(lambda: live_server.get("/api/approval/queue").json()["count"] == 2,
                         timeout=90, what="two developed photos")
    photo_ids = [p["id"] for p in live_server.get("/api/approval/queue").json()["photos"]]
    photo = live_server.get(f"/api/photos/{photo_ids[0]}").json()["photo"]

    page = open_page(live_server.url + "/")
    wait_connected(page)
    page.dblclick(f'#gallery-grid .thumb[data-photo="{photo_ids[0]}"] .thumb-btn')
    page.wait_for_selector(f'#pane-a[data-shown="{photo_ids[0]}"]', state="attached")
    assert page.get_attribute("#pane-a", "data-zoom") == "fit"
    assert "/developed" in page.get_attribute("#pane-a .fit", "src")

    # Beside it: the histogram from the bins, the EXIF line, the full metadata on request.
    page.wait_for_selector("#histogram[data-drawn=yes]", state="attached")
    assert page.inner_text("#detail-exif-line") == photo["exif_summary"]["line"]
    assert photo["exif_summary"]["line"]
    assert page.get_attribute("#detail-more", "open") is None
    page.click("#detail-more summary")
    assert page.locator("#detail-metrics th").first.is_visible()
    assert page.inner_text("#detail-score").endswith(f"{photo['ai_score']:.1f}")
    assert "0.35" in page.get_attribute("#detail-score", "title")  # the formula on hover

    # A click at a quarter of the picture zooms to 100 % around that very point.
    fx, fy = 0.25, 0.3
    left, top, width, height = page.evaluate(RECT, "#pane-a .fit")
    click = (left + fx * width, top + fy * height)
    page.mouse.click(*click)
    page.wait_for_selector("#pane-a[data-zoom='100'] .full:not([hidden])", state="attached")
    wait_js(page, f"document.querySelector('#pane-a .full').naturalWidth === {WIDTH}",
            what="the full-resolution image")
    assert page.get_attribute("#pane-a .full", "src").endswith(f"/api/photos/{photo_ids[0]}/full")
    left, top, width, height = page.evaluate(RECT, "#pane-a .full")
    assert (round(width), round(height)) == (WIDTH, HEIGHT)  # one image pixel per screen pixel
    assert abs(left + fx * WIDTH - click[0]) <= 2 and abs(top + fy * HEIGHT - click[1]) <= 2

    # Those are the full-resolution pixels: a crop matches the file the server serves.
    full = Image.open(io.BytesIO(live_server.get(f"/api/photos/{photo_ids[0]}/full").content))
    assert full.size == (WIDTH, HEIGHT)
    box = (int(fx * WIDTH), int(fy * HEIGHT), 24, 24)
    shown = page.evaluate(CROP, list(box))
    expected = full.convert("RGB").crop((box[0], box[1], box[0] + 24, box[1] + 24))
    rgb = expected.tobytes()
    want = [c for i in range(0, len(rgb), 3) for c in (*rgb[i:i + 3], 255)]
    diff = sum(abs(a - b) for a, b in zip(shown, want, strict=True)) / len(want)
    assert diff < 2.0, diff

    # A drag pans by as much as the pointer moved.
    page.mouse.move(*click)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(click[0] - 30 * step, click[1] - 20 * step)
    page.mouse.up()
    moved = page.evaluate(RECT, "#pane-a .full")
    assert abs((left - moved[0]) - 150) <= 2 and abs((top - moved[1]) - 100) <= 2
    assert page.get_attribute("#pane-a", "data-zoom") == "100"

    # Two-up: the next photo beside it, at the same zoom and the same spot.
    page.click("#detail-compare")
    page.wait_for_selector(f'#pane-b[data-photo="{photo_ids[1]}"]:not([hidden])')
    page.wait_for_selector("#pane-b[data-zoom='100'] .full:not([hidden])", state="attached")
    wait_js(page, f"document.querySelector('#pane-b .full').naturalWidth === {WIDTH}")
    a = page.evaluate(RECT, "#pane-a .full")
    b = page.evaluate(RECT, "#pane-b .full")
    pane_a = page.evaluate(RECT, "#pane-a")
    pane_b = page.evaluate(RECT, "#pane-b")
    assert abs((a[0] - pane_a[0]) - (b[0] - pane_b[0])) <= 2 and abs(a[1] - b[1]) <= 2
    # Panning one pans both.
    centre = (pane_b[0] + pane_b[2] / 2, pane_b[1] + pane_b[3] / 2)
    page.mouse.move(*centre)
    page.mouse.down()
    for step in range(1, 5):
        page.mouse.move(centre[0] + 10 * step, centre[1])
    page.mouse.up()
    assert abs(page.evaluate(RECT, "#pane-a .full")[0] - (a[0] + 40)) <= 2
    # A click without a drag fits again.
    page.mouse.click(*centre)
    page.wait_for_selector("#pane-a[data-zoom='fit']", state="attached")
    page.click("#detail-compare")

    # The preset picker re-develops with the chosen preset.
    watcher = live_server.ws()
    watcher.subscribe("jobs")
    presets = page.evaluate("[...document.querySelectorAll('#detail-preset option')].map(o => o.value)")
    chosen = next(name for name in presets if name != photo["preset"])
    page.select_option("#detail-preset", chosen)
    page.click("#detail-redevelop")
    created = watcher.recv_type("job_created", timeout=10)
    assert created["photo_id"] == photo_ids[0] and created.get("preset") == chosen
    watcher.close()
    page.keyboard.press("Escape")
    page.wait_for_selector("#detail:not([open])", state="attached")
    assert page.errors == []
