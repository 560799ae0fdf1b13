"""``darkroom.client`` against real servers: typed events, reconnect and resume across a server
restart, ``resync`` for a foreign epoch, the AsyncClient, LAN mode's token, and the helpers'
warning in a process without a server."""

from __future__ import annotations

import asyncio
import queue
import subprocess
import sys
import threading
import time
from typing import Union

import pytest
from clitools import run_cli
from harness import ROOT

from darkroom.client import Api, AsyncClient, AuthError, Client, ConnectError, Event, RequestRefused, Unreachable

QUICK_REFERENCE_EXAMPLE = '''
from websocket_events import (
    broadcast_photo_imported,
    broadcast_job_progress,
    broadcast_session_updated
)

# Photo imported
broadcast_photo_imported(
    photo_id=123,
    session_id=1,
    file_name="IMG_5432.CR3",
    file_path="/path/to/photo.cr3"
)

# Job progress
broadcast_job_progress(
    job_id="task-abc123",
    stage="developing",
    progress=75.5,
    message="Applying preset..."
)

# Session updated
broadcast_session_updated(
    session_id=1,
    total_photos=100,
    processed_photos=45,
    status='processing'
)
'''


def publish(server, n: int, channel: str = "system") -> int:
    answer = server.post("/websocket/broadcast", {"type": "custom_event", "channel": channel,
                                                  "data": {"n": n}})
    assert answer.status_code == 200, answer.text
    return answer.json()["seq"]


def next_event(events: "queue.Queue", timeout: float = 15) -> Event:
    return events.get(timeout=timeout)


@pytest.fixture
def hub_server(make_server):
    return make_server(with_pipeline=False)


def test_events_are_typed_from_the_catalogue(hub_server):
    events: "queue.Queue" = queue.Queue()
    with Client(hub_server.url, channels=["jobs", "system"]) as client:
        client.on("*", events.put)
        catalog_names = set(hub_server.get("/websocket/catalog").json()["events"])
        assert set(client.catalog) == catalog_names
        JobProgress = client.catalog["job_progress"]
        assert JobProgress.__name__ == "JobProgress" and client.catalog.JobProgress is JobProgress
        assert JobProgress.__annotations__["progress"] is float
        assert JobProgress.__annotations__["job_id"] == Union[str, int]
        assert {"job_id", "stage", "progress"} <= set(JobProgress.required)
        assert "percent done" in JobProgress.progress.__doc__
        hub_server.post("/websocket/broadcast", {"type": "job_progress", "data": {
            "job_id": 7, "stage": "rendering", "progress": 40}})
        publish(hub_server, 1)
        progress, custom = next_event(events), next_event(events)
    assert isinstance(progress, JobProgress)
    assert (progress.job_id, progress.stage, progress.progress) == (7, "rendering", 40)
    assert progress.photo_id is None  # optional and absent
    assert progress["channel"] == "jobs" and progress.to_dict()["type"] == "job_progress"
    assert type(custom) is Event and custom.n == 1 and custom.source == "external"
    with pytest.raises(AttributeError):
        custom.nothing_like_this  # noqa: B018


def test_register_subscribe_and_close_are_seen_by_the_server(hub_server):
    client = Client(hub_server.url, client_type="gui", client_name="Wall display",
                    channels=["jobs"])
    client.connect()
    try:
        registered = queue.Queue()
        client.on("registration_confirmed", registered.put)
        (me,) = [c for c in hub_server.get("/websocket/clients").json()["clients"]
                 if c["id"] == client.client_id]
        assert me["client_type"] == "gui" and me["client_name"] == "Wall display"
        assert me["subscriptions"] == ["jobs"]
        confirmed = queue.Queue()
        client.on("subscription_confirmed", confirmed.put)
        client.subscribe(["photos"])
        assert confirmed.get(timeout=10).channels == ["jobs", "photos"]
        assert client.channels == ["jobs", "photos"]
    finally:
        client.close()
    hub_server.wait_for(lambda: hub_server.stats()["total_clients"] == 0, what="client gone")
    assert hub_server.stats()["disconnected"]["closed"] >= 1


def gate_reconnects(client: Client) -> tuple[threading.Event, "queue.Queue"]:
    """Hold the client's first reconnect until the test opens the gate (no sleeps, no races)."""
    gate, attempts = threading.Event(), queue.Queue()

    def reconnecting(info):
        attempts.put(info)
        gate.wait(30)

    client.on("reconnecting", reconnecting)
    return gate, attempts


def test_client_reconnects_and_resumes_after_the_server_restarts(start_app, tmp_path):
    app = start_app("--server", "werkzeug")
    events, resyncs = queue.Queue(), queue.Queue()
    client = Client(app.url, channels=["system"], min_delay=0.05, max_delay=0.2)
    client.on("*", events.put)
    client.on("resync", resyncs.put)
    gate, attempts = gate_reconnects(client)
    client.connect()
    try:
        before = publish(app, 1)
        assert next_event(events).seq == before
        app.terminate()
        assert attempts.get(timeout=15)["attempt"] == 1
        again = start_app("--server", "werkzeug", port=app.port, data_dir=tmp_path / "data")
        missed = [publish(again, n) for n in (2, 3)]  # while the client is away
        gate.set()
        got = [next_event(events), next_event(events)]
        assert [e.seq for e in got] == missed and [e.n for e in got] == [2, 3]
        live = publish(again, 4)
        assert next_event(events).seq == live
        assert client.position == {"epoch": client.server_epoch, "seq": live}
        assert resyncs.empty()
        assert events.empty()  # nothing doubled
    finally:
        client.close()


def test_resync_fires_when_the_server_cannot_replay(start_app, tmp_path):
    app = start_app("--server", "werkzeug")
    events, resyncs = queue.Queue(), queue.Queue()
    client = Client(app.url, channels=["system"], min_delay=0.05, max_delay=0.2)
    client.on("*", events.put)
    client.on("resync", resyncs.put)
    gate, attempts = gate_reconnects(client)
    client.connect()
    try:
        publish(app, 1)
        old = next_event(events)
        old_epoch = client.position["epoch"]
        app.terminate()
        attempts.get(timeout=15)
        # Same port, another data directory: another log, another epoch.
        other = start_app("--server", "werkzeug", port=app.port, data_dir=tmp_path / "other")
        gate.set()
        info = resyncs.get(timeout=15)
        assert info["reason"] == "not_recovered"
        assert info["since"] == {"epoch": old_epoch, "seq": old.seq}
        assert info["epoch"] != old_epoch
        live = publish(other, 2)
        assert next_event(events).seq == live
        assert client.position == {"epoch": info["epoch"], "seq": live}
    finally:
        client.close()


def test_resync_fires_for_a_foreign_epoch_given_as_since(hub_server):
    resyncs = queue.Queue()
    with Client(hub_server.url, channels=["system"], since="foreign-epoch:5",
                on_resync=resyncs.put) as client:
        info = resyncs.get(timeout=10)
        assert info["since"] == {"epoch": "foreign-epoch", "seq": 5}
        assert client.position["epoch"] == hub_server.stats()["epoch"] == info["epoch"]


def test_since_resumes_a_client_that_was_stopped(hub_server):
    with Client(hub_server.url, channels=["system"]) as first:
        events = queue.Queue()
        first.on("*", events.put)
        publish(hub_server, 1)
        next_event(events)
        saved = first.position
    missed = [publish(hub_server, n) for n in (2, 3)]
    events, resyncs = queue.Queue(), queue.Queue()
    later = Client(hub_server.url, channels=["system"], since=saved, on_resync=resyncs.put)
    later.on("*", events.put)  # before connect: the replay follows the subscription at once
    with later:
        assert [next_event(events).seq for _ in missed] == missed
    assert resyncs.empty()


def test_async_client_basic_flow(hub_server):
    async def scenario():
        got: asyncio.Queue = asyncio.Queue()

        async def on_progress(event):
            await got.put(event)

        client = AsyncClient(hub_server.url, client_type="gui", client_name="async script",
                             channels=["jobs"])
        client.on("job_progress", on_progress)
        seen_all = []
        client.on("*", seen_all.append)
        async with client:
            assert client.connected and client.client_id
            await asyncio.to_thread(hub_server.post, "/websocket/broadcast", {
                "type": "job_progress", "data": {"job_id": "a1", "stage": "loading", "progress": 5}})
            event = await asyncio.wait_for(got.get(), 10)
            assert type(event).__name__ == "JobProgress" and event.job_id == "a1"
            confirmations = []
            client.on("subscription_confirmed", confirmations.append)
            # Returns once the server holds the channel, so the next event is for us.
            await client.subscribe(["system"])
            assert [c.channels for c in confirmations] == [["jobs", "system"]]

            def me() -> dict:
                clients = hub_server.get("/websocket/clients").json()["clients"]
                return next(c for c in clients if c["id"] == client.client_id)

            assert me()["subscriptions"] == ["jobs", "system"]
            await asyncio.to_thread(publish, hub_server, 9)
            deadline = time.monotonic() + 10
            while len(seen_all) < 2:
                assert time.monotonic() < deadline, seen_all
                await asyncio.sleep(0.01)
            assert seen_all[1].n == 9
            assert me()["client_name"] == "async script"
        assert client.closed and not client.connected

    asyncio.run(scenario())


def test_a_refused_subscribe_raises_and_the_channels_stay_as_they_were(hub_server):
    async def scenario():
        async with AsyncClient(hub_server.url, channels=["jobs"]) as client:
            with pytest.raises(RequestRefused) as refused:
                await client.subscribe(["no_such_channel"])
            assert refused.value.code == "unknown_channel"
            assert client.channels == ["jobs"]
            await client.unsubscribe(["jobs"])  # waits for its own reply, not the refusal's
            assert client.channels == []

    asyncio.run(scenario())


def test_a_subscribe_from_a_handler_does_not_wait_for_its_own_reply(hub_server):
    async def scenario():
        confirmed: asyncio.Queue = asyncio.Queue()
        async with AsyncClient(hub_server.url, channels=["jobs"]) as client:
            async def on_progress(event):
                await client.subscribe(["system"])  # the reader runs this handler

            client.on("job_progress", on_progress)
            client.on("subscription_confirmed", confirmed.put_nowait)
            await asyncio.to_thread(hub_server.post, "/websocket/broadcast", {
                "type": "job_progress", "data": {"job_id": "h", "stage": "loading", "progress": 1}})
            reply = await asyncio.wait_for(confirmed.get(), 5)
            assert reply.channels == ["jobs", "system"]

    asyncio.run(scenario())


def test_connect_errors_are_clear(hub_server):
    from harness import free_port

    with pytest.raises(Unreachable):
        Client(f"http://127.0.0.1:{free_port()}").connect(timeout=10)
    with pytest.raises(ConnectError, match="unknown_channel|channel"):
        Client(hub_server.url, channels=["nowhere"]).connect(timeout=10)


def test_lan_mode_token_from_the_data_directory(start_app, tmp_path):
    app = start_app("--lan", "--host", "127.0.0.1")
    data = tmp_path / "data"
    token = (data / "token").read_text().strip()

    # The commands read it from --data-dir for a local server.
    status = run_cli("status", "--url", app.url, "--data-dir", str(data))
    assert status.returncode == 0, status.stderr
    sent = run_cli("broadcast", "custom_event", "--channel", "system", "--data", '{"n": 1}',
                   "--url", app.url, "--data-dir", str(data))
    assert sent.returncode == 0, sent.stderr
    refused = run_cli("status", "--url", app.url, "--data-dir", str(tmp_path / "no-such-dir"))
    assert refused.returncode == 1 and "refused" in refused.stderr and "token" in refused.stderr
    assert token not in refused.stderr + refused.stdout
    wrong = run_cli("status", "--url", app.url, "--token", "wrong")
    assert wrong.returncode == 1

    # The client sends it as a Bearer token on /ws and on HTTP.
    events = queue.Queue()
    with Client(app.url, token=token, channels=["system"]) as client:
        client.on("*", events.put)
        answer = Api(app.url, token).post("/websocket/broadcast", {
            "type": "custom_event", "channel": "system", "data": {"n": 2}})
        assert next_event(events).seq == answer["seq"]
    with pytest.raises(AuthError):
        Client(app.url, channels=["system"]).connect(timeout=10)
    with pytest.raises(AuthError):
        Api(app.url).get("/websocket/stats")


def test_the_quick_reference_example_as_a_script_warns_once(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(QUICK_REFERENCE_EXAMPLE)
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "RuntimeWarning" in line]
    assert len(warnings) == 1, done.stderr  # three calls, one warning
    assert "no Darkroom server runs in this process" in warnings[0]
    assert "darkroom broadcast photo_imported" in warnings[0] and "darkroom.client" in warnings[0]
    assert f"{script}:9:" in warnings[0] or "example.py" in warnings[0]  # points at the call


def test_the_helpers_still_validate_without_a_server():
    import websocket_events

    with pytest.raises(TypeError):
        websocket_events.broadcast_job_progress(job_id="x", stage="s")  # progress missing
    with pytest.raises(ValueError):
        websocket_events.broadcast_job_progress(job_id="x", stage="s", progress=101)
