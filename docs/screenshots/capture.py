"""Regenerate the README screenshots (run by hand: ``python docs/screenshots/capture.py``).

Starts Darkroom on a free port with a temporary data directory, imports two
generated shoots, decides a few photos, and photographs the dashboard and the
phone view mid-import with headless Chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

import requests  # noqa: E402
from browser_support import CHROMIUM, CHROMIUM_ARGS, PHONE  # noqa: E402
from harness import free_port  # noqa: E402
from imagegen import write_image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from app import create_app  # noqa: E402
from darkroom.config import Config  # noqa: E402
from darkroom.web.serving import WerkzeugServer  # noqa: E402


def shoot(folder: Path, count: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        write_image(folder / f"DSC_{seed + i:04d}.jpg", width=1800, height=1200, seed=seed + i,
                    brightness=0.3 + 0.05 * i)
    return folder


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="darkroom-shots-"))
    config = Config(port=free_port(), data_dir=tmp / "data", workers=1, hot_folder=False,
                    monitor_interval=1.0, export_dirs=[str(tmp / "exports")])
    server = WerkzeugServer(create_app(config), config)
    server.start_background()
    url = f"http://127.0.0.1:{config.port}"
    api = requests.Session()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            dashboard = browser.new_page(viewport={"width": 1440, "height": 1100})
            dashboard.goto(url + "/")
            phone = browser.new_context(**PHONE).new_page()
            phone.goto(url + "/mobile")
            time.sleep(8)  # a few monitor samples for the chart
            first = api.post(url + "/api/sessions", json={
                "name": "Ceremony", "import_folder": str(shoot(tmp / "ceremony", 6, 100))}).json()
            api.post(url + f"/api/sessions/{first['session_id']}/import", json={})
            time.sleep(14)
            waiting = api.get(url + "/api/approval/queue").json()["photos"]
            for photo in waiting[:4]:
                api.post(url + f"/api/approval/{photo['id']}/approve", json={})
            api.post(url + f"/api/approval/{waiting[4]['id']}/reject", json={"reason": "eyes closed"})
            second = api.post(url + "/api/sessions", json={
                "name": "Portraits", "import_folder": str(shoot(tmp / "portraits", 10, 200))}).json()
            api.post(url + f"/api/sessions/{second['session_id']}/import", json={})
            time.sleep(6)
            dashboard.screenshot(path=str(HERE / "dashboard.png"))
            phone.screenshot(path=str(HERE / "phone.png"))
            browser.close()
    finally:
        server.shutdown()
    print(f"wrote {HERE / 'dashboard.png'} and {HERE / 'phone.png'}")


if __name__ == "__main__":
    main()
