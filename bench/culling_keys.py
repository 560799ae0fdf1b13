"""Culling keys: the time from a keypress to the next photo on screen, in headless Chromium,
with 5,000 photos loaded. Run by hand (never from the tests)::

    python bench/culling_keys.py                     # 5,000 photos, 300 presses per mode
    python bench/culling_keys.py --photos 2000 --presses 100 --modes loupe

A fresh Darkroom app (this process, Werkzeug, SQLite in a temporary data directory) gets
``--photos`` rows inserted through its Database, each with small real JPEGs (a 96 x 64
thumbnail, a 480 x 320 preview and developed preview; tests/browser/culling_support.py).
The dashboard opens in Chromium at 1440 x 960, and for each mode the bench presses a key
``--presses`` times, one after the other:

- ``grid``: ArrowRight in the gallery; on screen = the next tile is the current one;
- ``loupe``: ArrowRight in the loupe (E opens it); on screen = the next photo's preview
  has loaded into the loupe;
- ``rate``: 3 with auto-advance on, in the loupe (a PATCH goes out; the move does not
  wait for it); on screen as ``loupe``.

Each sample runs from the keydown event's timestamp to the first animation frame after
the page shows the next photo (both on the page's clock), so the key's delivery from
Playwright is not counted and the paint is. Target: p50 and p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import psutil  # noqa: E402
from browser_support import CHROMIUM, CHROMIUM_ARGS, wait_connected, wait_js  # noqa: E402
from culling_support import insert_photos, new_session  # noqa: E402
from harness import LiveServer, free_port  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from darkroom.config import Config  # noqa: E402

# Samples: keydown's timeStamp, then the frame after the next photo is on screen.
PROBE = """(mode) => {
  window.__samples = [];
  window.__down = null;
  window.addEventListener('keydown', (ev) => { window.__down = ev.timeStamp; }, true);
  const done = () => {
    const start = window.__down;
    if (start === null) return;
    window.__down = null;
    requestAnimationFrame(() => window.__samples.push(performance.now() - start));
  };
  if (mode === 'grid') {
    new MutationObserver((records) => {
      const current = (node) => node.classList && node.classList.contains('current');
      if (records.some((r) => current(r.target) || [...r.addedNodes].some(current))) done();
    }).observe(document.querySelector('#gallery-grid'),
               { subtree: true, attributes: true, attributeFilter: ['class'], childList: true });
  } else {
    new MutationObserver(() => {
      const pane = document.querySelector('#pane-a');
      if (pane.dataset.shown && pane.dataset.shown === pane.dataset.photo) done();
    }).observe(document.querySelector('#pane-a'), { attributes: true, attributeFilter: ['data-shown'] });
  }
}"""

KEYS = {"grid": "ArrowRight", "loupe": "ArrowRight", "rate": "3"}


def conditions(args, photos: int) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "\n".join([
        f"machine   {platform.machine()}, {psutil.cpu_count(logical=False)} physical / "
        f"{psutil.cpu_count()} logical cores, {psutil.virtual_memory().total / 2**30:.1f} GiB",
        f"load      {load:.2f} (1 min) before the run",
        f"python    {platform.python_version()}, server Werkzeug in-process, SQLite",
        f"browser   {CHROMIUM} headless, 1440 x 960, device scale 1",
        f"photos    {photos:,} in one session (thumbnail 96 x 64, preview 480 x 320)",
        f"presses   {args.presses} per mode, one after another",
    ])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_mode(page, mode: str, presses: int) -> list[float]:
    page.evaluate(PROBE, mode)
    key = KEYS[mode]
    for n in range(1, presses + 1):
        page.keyboard.press(key)
        wait_js(page, f"window.__samples.length >= {n}", timeout=30, what=f"{mode} press {n}")
    return page.evaluate("window.__samples")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--modes", default="grid,loupe,rate")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    logging.basicConfig(level=logging.WARNING)
    for name in ("werkzeug", "darkroom"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-") as tmp:
        tmp_path = Path(tmp)
        config = Config(data_dir=tmp_path / "data", port=free_port(), workers=1, hot_folder=False,
                        import_roots=[str(tmp_path)], export_dirs=[str(tmp_path / "exports")])
        server = LiveServer(config)
        try:
            session_id = new_session(server, "Bench", tmp_path / "shoot")
            started = time.monotonic()
            insert_photos(server, session_id, args.photos, tmp_path / "files", developed=True,
                          decide=False, bursts=False)
            print(conditions(args, args.photos))
            print(f"setup     {time.monotonic() - started:.1f} s to insert the photos")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 960})
                page.set_default_timeout(30_000)
                page.goto(server.url + "/")
                wait_connected(page, timeout=60_000)
                page.wait_for_selector("#gallery-grid .thumb.current", state="attached")
                print(f"dashboard {page.inner_text('#gallery-count')} photos listed, "
                      f"{page.locator('#gallery-grid .thumb').count()} tiles in the DOM")
                print(f"\n{'mode':<7} {'key':<11} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  target < 50")
                for mode in modes:
                    if mode in ("loupe", "rate") and not page.evaluate("document.querySelector('#detail').open"):
                        page.keyboard.press("e")
                        page.wait_for_selector("#pane-a[data-shown]", state="attached")
                    if mode == "rate":
                        page.evaluate("document.querySelector('#detail-marks .advance').click()")
                    samples = run_mode(page, mode, args.presses)
                    p50, p99 = statistics.median(samples), percentile(samples, 0.99)
                    verdict = "ok" if p99 < 50 else "MISSED"
                    print(f"{mode:<7} {KEYS[mode]:<11} {p50:>8.1f} {p99:>8.1f} {max(samples):>8.1f}  {verdict}")
                elements = page.evaluate("document.querySelectorAll('*').length")
                print(f"\nafter     {page.locator('#gallery-grid .thumb').count()} tiles in the DOM, "
                      f"{elements} elements in the page")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
