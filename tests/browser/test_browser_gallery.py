"""The gallery at the size of a wedding, in Chromium: 2,000 photos (rows inserted through the
Database, with small real thumbnails) load page by page (cursor) as the grid scrolls, the DOM
never holds more than the gallery's bound of tiles, bursts fold into one tile with a count,
and the filters (session, rating, flag, label, decision) and sorts (capture time, score,
name) show exactly what the server lists."""

from __future__ import annotations

import pytest
from browser_support import wait_connected, wait_js
from culling_support import insert_photos, new_session, row

pytestmark = pytest.mark.browser

COUNT = 2000
BOUND = 300  # the gallery's MAX_TILES

# Records the most tiles the grid ever held, and every /api/photos request's query.
WATCH = """() => {
  window.__maxTiles = 0;
  const grid = document.querySelector('#gallery-grid');
  new MutationObserver(() => {
    window.__maxTiles = Math.max(window.__maxTiles, grid.children.length);
  }).observe(grid, { childList: true });
}"""


def shown(page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('#gallery-grid .thumb')].map(t => t.dataset.photo)")


def scroll_to_end(page, last_id, pages: int = 40) -> None:
    """Scroll to the bottom, page after page, until the tile of ``last_id`` is there."""
    target = f'#gallery-grid .thumb[data-photo="{last_id}"]'
    for _ in range(pages):
        if page.locator(target).count():
            return
        height = page.evaluate("document.querySelector('#gallery-sizer').style.height")
        page.evaluate("() => { const s = document.querySelector('#gallery-scroll');"
                      " s.scrollTop = s.scrollHeight; }")
        wait_js(page, f"document.querySelector('{target}') || document.querySelector("
                      f"'#gallery-sizer').style.height !== '{height}'", timeout=15,
                what="the next page")
    raise AssertionError(f"photo {last_id} never shown")


def choose(page, select: str, value: str) -> None:
    """Pick a filter or sort and wait until the gallery shows the new listing's first page."""
    before = page.evaluate("document.querySelector('#gallery-scroll').dataset.generation")
    page.select_option(select, value)
    wait_js(page, f"document.querySelector('#gallery-scroll').dataset.generation !== '{before}'",
            what=f"the gallery reloaded for {select}={value}")


@pytest.mark.timeout(180)
def test_two_thousand_photos_page_in_stay_bounded_and_filter_and_sort(live_server, open_page,
                                                                      tmp_path):
    session_id = new_session(live_server, "Wedding", tmp_path / "wedding")
    ids = insert_photos(live_server, session_id, COUNT, tmp_path / "files", developed=True)
    other_session = new_session(live_server, "Other", tmp_path / "other")
    other_ids = insert_photos(live_server, other_session, 5, tmp_path / "files2", bursts=False)
    queries = []

    def prepare(page):
        page.on("request", lambda r: queries.append(r.url) if "/api/photos?" in r.url else None)

    page = open_page(live_server.url + "/", prepare=prepare)
    wait_connected(page)
    page.evaluate(WATCH)
    page.wait_for_selector("#gallery-grid .thumb", state="attached")
    assert page.inner_text("#gallery-count") == f"{COUNT + 5:,}"
    first_page = len(queries)
    assert page.locator("#gallery-grid .thumb").count() <= BOUND
    # A burst folds into its first frame, with its size; the badge unfolds it.
    head = f'#gallery-grid .thumb[data-photo="{ids[0]}"]'
    assert page.inner_text(f"{head} .burst-badge") == "3"
    assert page.locator(f'#gallery-grid .thumb[data-photo="{ids[1]}"]').count() == 0
    page.click(f"{head} .burst-badge")
    page.wait_for_selector(f'#gallery-grid .thumb[data-photo="{ids[1]}"]', state="attached")
    assert [p for p in shown(page) if int(p) in ids[:3]] == [str(i) for i in ids[:3]]

    # Scrolling to the end loads every page by cursor, and the DOM stays bounded.
    scroll_to_end(page, ids[-1])
    cursors = [q for q in queries[first_page:] if "cursor=" in q]
    assert len(cursors) >= (COUNT // 200) - 1, queries
    assert page.evaluate("window.__maxTiles") <= BOUND
    assert page.locator("#gallery-grid .thumb").count() <= BOUND
    last = f'#gallery-grid .thumb[data-photo="{ids[-1]}"] img'
    wait_js(page, f"document.querySelector('{last}').naturalWidth === 96", what="a real thumbnail")
    assert page.locator(head).count() == 0  # the first rows left the DOM

    # Filters: the server's answer, and every tile shown matches.
    choose(page, "#filter-session", str(other_session))
    assert page.inner_text("#gallery-count") == "5"
    assert shown(page) == [str(i) for i in other_ids]
    choose(page, "#filter-session", str(session_id))
    assert page.inner_text("#gallery-count") == f"{COUNT:,}"
    choose(page, "#filter-rating", "5")
    expected = sum(1 for i in range(COUNT) if row(i)["rating"] >= 5)
    assert page.inner_text("#gallery-count") == f"{expected:,}"
    assert set(page.evaluate("[...document.querySelectorAll('#gallery-grid .thumb')]"
                             ".map(t => t.dataset.rating)")) == {"5"}
    choose(page, "#filter-flag", "pick")
    expected = sum(1 for i in range(COUNT) if row(i)["rating"] >= 5 and row(i)["flag"] == "pick")
    assert page.inner_text("#gallery-count") == f"{expected:,}"
    assert set(page.evaluate("[...document.querySelectorAll('#gallery-grid .thumb')]"
                             ".map(t => t.dataset.flag)")) == {"pick"}
    choose(page, "#filter-rating", "")
    choose(page, "#filter-flag", "")
    choose(page, "#filter-label", "purple")
    expected = sum(1 for i in range(COUNT) if row(i)["color_label"] == "purple")
    assert page.inner_text("#gallery-count") == f"{expected:,}"
    assert set(page.evaluate("[...document.querySelectorAll('#gallery-grid .thumb')]"
                             ".map(t => t.dataset.label)")) == {"purple"}
    choose(page, "#filter-label", "")
    choose(page, "#filter-decision", "approved")
    expected = sum(1 for i in range(COUNT) if i % 13 == 0)
    assert page.inner_text("#gallery-count") == f"{expected:,}"
    assert set(page.evaluate("[...document.querySelectorAll('#gallery-grid .thumb')]"
                             ".map(t => t.dataset.decision)")) == {"approved"}
    choose(page, "#filter-decision", "")

    # Sorts: by name descending, by score descending (the server's order, tile by tile).
    choose(page, "#filter-sort", "name")
    choose(page, "#filter-order", "desc")
    names = page.evaluate("[...document.querySelectorAll('#gallery-grid .thumb-name')].map(n => n.textContent)")
    assert names[0] == f"IMG_{COUNT - 1:05d}.jpg" and names == sorted(names, reverse=True)
    choose(page, "#filter-sort", "score")
    scores = page.evaluate("[...document.querySelectorAll('#gallery-grid .thumb')].map(t => "
                           "Number(t.querySelector('.score').textContent))")
    assert scores == sorted(scores, reverse=True) and scores[0] == 5.0
    # Sorted by score, bursts do not fold (their frames are apart).
    assert page.locator(".burst-badge:not([hidden])").count() == 0
    assert page.evaluate("window.__maxTiles") <= BOUND
    assert page.errors == []
