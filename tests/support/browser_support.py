"""Headless Chromium for the browser tests (Playwright driving Debian's /usr/bin/chromium).

Playwright's own browser download does not work here, so the tests point it
at the system package (installed by ``.ci/run``). Without it the tests skip
locally and fail in CI (``need``).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Callable

from harness import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


def port_free(port: int) -> bool:
    """Nobody listens on ``port`` (connections in TIME_WAIT do not count, as for servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_js(page, expression: str, timeout: float = 10.0, what: str = ""):
    """Poll a JavaScript expression until it is truthy; return its value.

    ``page.wait_for_function`` evaluates its predicate with ``eval``, which the
    pages' CSP (rightly) forbids; ``page.evaluate`` goes through DevTools.
    """
    return eventually(lambda: page.evaluate(expression), timeout, what or expression)


def wait_connected(page, timeout: float = 10_000) -> None:
    """Wait until the page's realtime client is open and its state is loaded."""
    page.wait_for_selector("body[data-connection=open][data-sync=ready]", state="attached",
                           timeout=timeout)


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot to test-artifacts/ (gitignored; CI keeps it as an artifact)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def eventually(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition"):
    """Poll ``predicate`` (bounded) until it returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s")
        time.sleep(0.05)
