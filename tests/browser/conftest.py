"""Browser fixtures: one headless Chromium per module, pages that record their errors."""

from __future__ import annotations

import os
from typing import Callable, Iterator, Optional

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS
from harness import need


@pytest.fixture(scope="module")
def browser() -> Iterator:
    need(os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser) -> Iterator[Callable]:
    """``open_page(url, prepare=None, **context_options)`` -> a Playwright page that records its
    errors and console output from the start: the listeners, and whatever ``prepare(page)`` sets
    up (routes, more listeners), are attached before navigating, so nothing the page does while
    loading is missed."""
    contexts = []

    def open_(url: str, prepare: Optional[Callable] = None, **options):
        context = browser.new_context(**{"viewport": {"width": 1440, "height": 960}, **options})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # uncaught exceptions in the page: tests assert there are none
        page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
        page.console = []  # the text of every console message, in order
        page.on("console", lambda message: page.console.append(message.text))
        if prepare:
            prepare(page)
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()
