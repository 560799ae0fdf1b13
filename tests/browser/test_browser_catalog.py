"""The pages take their channels and event names from GET /websocket/catalog, not from copies.

Each test runs twice: against the server's catalogue, and against a catalogue
the browser is served altered (reordered, one channel moved away), which a
list hard-coded in the JavaScript or the template cannot follow.
"""

from __future__ import annotations

import pytest
from browser_support import PHONE, wait_connected

pytestmark = pytest.mark.browser


def altered(catalog: dict) -> dict:
    """The catalogue reversed, with the `jobs` channel gone and its events moved to `queue`."""
    events = {name: {**event, "channel": "queue" if event["channel"] == "jobs" else event["channel"]}
              for name, event in reversed(catalog["events"].items())}
    return {**catalog, "channels": [c for c in reversed(catalog["channels"]) if c != "jobs"],
            "events": events}


@pytest.fixture(params=["served", "altered"])
def catalog_for_page(request, live_server):
    """(the catalogue the page sees, a ``prepare`` for ``open_page`` that serves it)."""
    catalog = live_server.get("/websocket/catalog").json()
    if request.param == "served":
        return catalog, None
    changed = altered(catalog)
    assert set(changed["channels"]) != set(catalog["channels"])

    def prepare(page):
        page.route("**/websocket/catalog", lambda route: route.fulfill(json=changed))

    return changed, prepare


def held_channels(server, page) -> list[str]:
    """The channels the server holds for the page's realtime client."""
    client_id = page.evaluate("window.darkroomClient.clientId")
    clients = server.get("/websocket/clients").json()["clients"]
    return next(c["subscriptions"] for c in clients if c["id"] == client_id)


def test_the_dashboard_holds_and_filters_exactly_the_catalogues_channels(live_server, open_page,
                                                                         catalog_for_page):
    catalog, prepare = catalog_for_page
    page = open_page(live_server.url + "/", prepare)
    wait_connected(page)
    options = page.evaluate("[...document.querySelectorAll('#log-channel option')].map(o => o.value)")
    assert options == ["", *catalog["channels"]]
    assert sorted(held_channels(live_server, page)) == sorted(catalog["channels"])
    types = page.evaluate("[...document.querySelectorAll('#log-types option')].map(o => o.value)")
    assert types[:len(catalog["events"])] == list(catalog["events"])
    assert page.errors == []


def test_the_phone_holds_the_channels_of_the_events_it_handles(live_server, open_page,
                                                              catalog_for_page):
    catalog, prepare = catalog_for_page
    page = open_page(live_server.url + "/mobile", prepare, **PHONE)
    wait_connected(page)
    # The phone refreshes its queue on job_completed and follows photos and sessions.
    handled = ["job_completed", "photo_approved", "session_updated", "approval_queue_updated"]
    held = held_channels(live_server, page)
    assert {catalog["events"][name]["channel"] for name in handled} <= set(held)
    assert set(held) < set(catalog["channels"])
    assert page.errors == []

