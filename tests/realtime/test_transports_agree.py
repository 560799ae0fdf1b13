"""One real pipeline run watched over /ws, SSE and long polling at once: every transport gets
the same events in the same order, and each, cut off mid-run and resumed its own way
(``since``, ``Last-Event-ID``, a new handshake with ``since``), ends with nothing lost or
doubled: the same as the durable log."""

from __future__ import annotations

import time

from imagegen import write_image
from streamclients import Poller, SseClient

import websocket_events

CHANNELS = list(websocket_events.CHANNELS)


def _ws_until(client, pred, got, timeout=30):
    deadline = time.monotonic() + timeout
    while not any(pred(m) for m in got):
        msg = client.recv(timeout=max(deadline - time.monotonic(), 0.01))
        if "channel" in msg:
            got.append(msg)


def _sse_until(stream, pred, got, timeout=30):
    deadline = time.monotonic() + timeout
    while not any(pred(m) for m in got):
        rec = stream.record(timeout=max(deadline - time.monotonic(), 0.01))
        if "channel" in rec["data"]:
            got.append(rec["data"])


def _poll_until(poller, pred, got, timeout=30):
    deadline = time.monotonic() + timeout
    while not any(pred(m) for m in got):
        assert time.monotonic() < deadline, "poller: condition not reached"
        got.extend(m for m in poller.poll(wait=2)["messages"] if "channel" in m)


def _import(server, path) -> int:
    r = server.post("/import/file", {"file_path": str(path)})
    assert r.status_code == 200, r.text
    return r.json()["photo_id"]


def _completed(photo_id):
    return lambda m: m["type"] == "job_completed" and m["photo_id"] == photo_id


def _state_key(event):
    rule = websocket_events.EVENTS.get(event["type"])
    return rule.key(event) if rule is not None else None


def _superseded(event, run) -> bool:
    """A state event a later event of the same state replaced."""
    key = _state_key(event)
    return key is not None and any(_state_key(e) == key and e["seq"] > event["seq"] for e in run)


def _marker(name):
    return lambda m: m["type"] == name


def test_ws_sse_and_long_polling_see_the_same_run(make_server, tmp_path):
    server = make_server(with_pipeline=True, monitor_interval=0.5)
    epoch = server.hub.epoch
    ws = server.ws()
    ws.subscribe(*CHANNELS)
    stream = SseClient(server, {"channels": ",".join(CHANNELS), "client_type": "gui"})
    stream.until("subscription_confirmed")
    poller = Poller(server)
    poller.subscribe(*CHANNELS)
    got = {"ws": [], "sse": [], "poll": []}

    start = server.post("/websocket/broadcast", {"type": "mark_start", "channel": "system"})
    assert start.status_code == 200
    first = _import(server, write_image(tmp_path / "a.jpg", seed=1))
    _ws_until(ws, _completed(first), got["ws"])
    _sse_until(stream, _completed(first), got["sse"])
    _poll_until(poller, _completed(first), got["poll"])

    # Everyone goes away mid-run ...
    ws.close()
    stream.close()
    assert poller.disconnect().status_code == 200
    watcher = server.ws()
    watcher.subscribe("jobs")
    second = _import(server, write_image(tmp_path / "b.jpg", seed=2))
    _ws_until(watcher, _completed(second), [])

    # ... and comes back its own way, after events it missed.
    ws = server.ws()
    last_ws = got["ws"][-1]["seq"]
    confirmed = ws.request({"type": "subscribe", "channels": CHANNELS,
                            "since": {"epoch": epoch, "seq": last_ws}}, "subscription_confirmed")
    assert confirmed["recovered"] is True
    stream = SseClient(server, {"channels": ",".join(CHANNELS)},
                       headers={"Last-Event-ID": f"{epoch}:{got['sse'][-1]['seq']}"})
    assert stream.until("subscription_confirmed")["data"]["recovered"] is True
    poller = Poller(server)
    assert poller.subscribe(*CHANNELS, since={"epoch": epoch, "seq": got["poll"][-1]["seq"]}
                            )["recovered"] is True

    end = server.post("/websocket/broadcast", {"type": "mark_end", "channel": "system"})
    assert end.status_code == 200
    _ws_until(ws, _marker("mark_end"), got["ws"])
    _sse_until(stream, _marker("mark_end"), got["sse"])
    _poll_until(poller, _marker("mark_end"), got["poll"])

    def window(events):
        seqs = [e["seq"] for e in events]
        lo = seqs.index(start.json()["seq"])
        hi = seqs.index(end.json()["seq"])
        return events[lo:hi + 1]

    runs = {name: window(events) for name, events in got.items()}
    # The same events, same JSON, same order on the two streams ...
    assert runs["ws"] == runs["sse"]
    # ... and on the poller, whose outbox (as any outbox) keeps only the newest of a state
    # that waited for the next poll: everything else, in the same order.
    assert runs["poll"] == [e for e in runs["ws"] if not _superseded(e, runs["ws"]) or e in runs["poll"]]
    seqs = [e["seq"] for e in runs["ws"]]
    # ... each once, none missing (every channel: the server-wide sequence has no hole) ...
    assert seqs == list(range(seqs[0], seqs[-1] + 1))
    # ... exactly the durable log, with the whole pipeline run in it.
    history = server.get("/api/events", params={"since": seqs[0] - 1, "limit": 1000}).json()
    logged = [e for e in history["events"] if e["seq"] <= seqs[-1]]
    assert logged == runs["ws"]
    types = [e["type"] for e in runs["ws"]]
    for kind in ("photo_imported", "photo_analyzed", "photo_selected", "job_created",
                 "job_started", "job_progress", "job_completed"):
        assert types.count(kind) >= 2, (kind, types)
