"""Fan-out through the real hub: every event, in order, to the right clients only,
whatever a stuck or dead client does, without leaking threads or sockets."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import warnings

import jsonschema
import pytest
from event_samples import full_args
from rawws import RawClient

import websocket_events as events


def test_every_catalogue_event_arrives_with_its_fields_and_types(live_server):
    catalog = live_server.get("/websocket/catalog").json()
    assert set(catalog["events"]) == {e.name for e in events.CATALOGUE}  # every one, served
    client = live_server.ws()
    client.subscribe(*events.CHANNELS)
    for event in events.CATALOGUE:
        args = full_args(event)
        getattr(events, f"broadcast_{event.name}")(**args)
        msg = client.events(1)[0]
        assert msg["type"] == event.name and msg["channel"] == event.channel
        jsonschema.validate(msg, catalog["events"][event.name]["schema"])
        for key, value in args.items():
            assert msg[key] == value, (event.name, key)


def test_channel_isolation(live_server):
    jobs, photos, both = live_server.ws(), live_server.ws(), live_server.ws()
    jobs.subscribe("jobs")
    photos.subscribe("photos")
    both.subscribe("jobs", "photos")
    for i in range(50):
        events.broadcast_job_started(job_id=i, photo_id=i)
        events.broadcast_photo_approved(photo_id=i, session_id=1)
    assert {m["channel"] for m in jobs.events(50)} == {"jobs"}
    assert {m["channel"] for m in photos.events(50)} == {"photos"}
    assert len(both.events(100)) == 100
    events.broadcast_session_created(session_id=1, session_name="s", import_folder="/x")
    with pytest.raises(TimeoutError):
        jobs.recv_type("session_created", timeout=0.3)


def test_order_and_seq_continuity_under_four_publishers(live_server):
    clients = [live_server.ws() for _ in range(3)]
    for c in clients:
        c.subscribe("jobs")
    start = threading.Barrier(4)

    def publisher(n: int) -> None:
        start.wait()
        for i in range(250):
            events.broadcast_job_started(job_id=f"p{n}", photo_id=i)

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seen = []
    for c in clients:
        got = c.events(1000)
        seqs = [m["seq"] for m in got]
        assert seqs == list(range(seqs[0], seqs[0] + 1000))
        # Each publisher's own events keep their order.
        for n in range(4):
            mine = [m["photo_id"] for m in got if m["job_id"] == f"p{n}"]
            assert mine == list(range(250))
        seen.append({m["seq"]: (m["job_id"], m["photo_id"]) for m in got})
    assert seen[0] == seen[1] == seen[2]


def test_helpers_validate_at_the_call_site():
    with pytest.raises(TypeError, match="photo_id"):
        events.broadcast_photo_imported(session_id=1, file_name="a.jpg")
    with pytest.raises(TypeError, match="must be integer"):
        events.broadcast_photo_imported(photo_id="1", session_id=1, file_name="a.jpg")
    with pytest.raises(TypeError, match="unexpected keyword"):
        events.broadcast_photo_imported(photo_id=1, session_id=1, file_name="a", timestamp="x")
    with pytest.raises(ValueError, match="priority"):
        events.broadcast_job_created(job_id=1, photo_id=1, priority=11)
    with pytest.raises(ValueError, match="progress"):
        events.broadcast_job_progress(job_id=1, stage="x", progress=100.5)
    with pytest.raises(TypeError, match="bool"):
        events.broadcast_job_started(job_id=1, photo_id=True)


def test_helpers_publish_nothing_once_the_hub_is_detached(make_server):
    server = make_server(with_pipeline=False)
    c = server.ws()
    c.subscribe("jobs")
    events.broadcast_job_started(job_id=1, photo_id=1)
    assert c.events(1)[0]["job_id"] == 1
    events.detach(server.hub)
    with warnings.catch_warnings():  # "no server in this process" (once per process)
        warnings.simplefilter("ignore", RuntimeWarning)
        events.broadcast_job_started(job_id=2, photo_id=2)  # validated, then dropped
    server.hub.publish("marker", "jobs", {})
    assert [m["type"] for m in c.events(1)] == ["marker"]
    assert server.hub.seq == 2


def test_computed_percentages(live_server):
    c = live_server.ws()
    c.subscribe("sessions")
    events.broadcast_session_updated(session_id=1, total_photos=3, processed_photos=1,
                                     status="processing")
    events.broadcast_session_updated(session_id=1, total_photos=0, processed_photos=0)
    events.broadcast_session_completed(session_id=1, total_photos=8, approved_photos=5,
                                       session_name="Wedding")
    first, empty, done = c.events(3)
    assert first["progress_percent"] == 33.33 and first["status"] == "processing"
    assert empty["progress_percent"] == 0.0
    assert done["approval_rate"] == 62.5 and done["session_name"] == "Wedding"


def test_stuck_client_never_delays_others_and_is_dropped_with_1013(make_server):
    server = make_server(outbox_limit=256 * 1024)
    stuck = RawClient("127.0.0.1", server.port)
    stuck.send_json({"type": "subscribe", "channels": ["jobs"]})
    server.wait_for(lambda: any(c.channels for c in server.hub.clients()), 2, "stuck subscribed")
    # A congested link: the kernel holds little for this client, so its outbox fills.
    stuck_sock = next(c for c in server.hub.clients() if c.channels).outbox
    stuck_sock.raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    healthy = [server.ws() for _ in range(20)]
    for c in healthy:
        c.subscribe("jobs")
    counts = [0] * len(healthy)

    def read(i: int) -> None:
        counts[i] = len(healthy[i].events(120, timeout=30))

    readers = [threading.Thread(target=read, args=(i,)) for i in range(len(healthy))]
    for t in readers:
        t.start()
    padding = "x" * 16000
    post_times = []
    for i in range(120):
        if i % 10 == 0:
            t0 = time.monotonic()
            r = server.post("/websocket/broadcast", {"type": "job_progress", "channel": "jobs",
                            "data": {"job_id": i, "stage": "s", "progress": 1,
                                     "message": padding}})
            post_times.append(time.monotonic() - t0)
            assert r.status_code == 200
        else:
            events.broadcast_job_progress(job_id=i, stage="s", progress=1, message=padding)
    for t in readers:
        t.join(timeout=40)
    assert counts == [120] * 20
    assert max(post_times) < 1.0, post_times  # never blocked behind the stuck client
    server.wait_for(lambda: server.stats()["disconnected"]["slow"] == 1, 10, "slow kick")
    code, _ = stuck.read_until_close()
    assert code == 1013
    assert server.stats()["outbox_high_water_bytes"] > 256 * 1024
    server.wait_for(lambda: server.hub.client_count() == 20, 5, "stuck client removed")


def _paused_reader(server) -> tuple[RawClient, object]:
    """A subscribed client that reads nothing yet, on a link whose kernel buffers are small."""
    paused = RawClient("127.0.0.1", server.port)
    paused.send_json({"type": "subscribe", "channels": ["jobs"]})
    server.wait_for(lambda: any(c.channels for c in server.hub.clients()), 2, "subscribed")
    outbox = next(c for c in server.hub.clients() if c.channels).outbox
    outbox.raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    return paused, outbox


def _one_at_a_time(server, pacer, count: int, padding: str) -> None:
    """Publish events each in its own fan-out: the next only once ``pacer`` has the last."""
    for i in range(count):
        events.broadcast_job_progress(job_id=i, stage="s", progress=1, message=padding)
        got = pacer.events(1)[0]
        assert got.get("job_id") == i, got


def test_a_paused_reader_gets_every_event_of_single_fan_outs_once_it_reads(make_server):
    server = make_server(outbox_limit=8 * 1024 * 1024)
    paused, outbox = _paused_reader(server)
    pacer = server.ws()
    pacer.subscribe("jobs")
    _one_at_a_time(server, pacer, 40, "x" * 16000)
    assert outbox.pending() > 0  # the kernel could not take them: they wait in the outbox ...
    got = paused.read_texts(42, timeout=10)  # ... and the flusher sends them once it reads
    assert [m["type"] for m in got[:2]] == ["connection_established", "subscription_confirmed"]
    assert [m["job_id"] for m in got[2:]] == list(range(40))
    assert server.stats()["disconnected"]["slow"] == 0


def test_a_reader_over_its_outbox_limit_in_single_fan_outs_is_dropped_alone(make_server):
    server = make_server(outbox_limit=128 * 1024)
    paused, _ = _paused_reader(server)
    pacer = server.ws()
    pacer.subscribe("jobs")
    _one_at_a_time(server, pacer, 20, "x" * 16000)  # 320 KB for a client that reads nothing
    server.wait_for(lambda: server.stats()["disconnected"]["slow"] == 1, 10, "slow kick")
    code, _ = paused.read_until_close()
    assert code == 1013
    _one_at_a_time(server, pacer, 3, "")  # the others go on


def test_stalled_client_is_dropped_after_the_stall_timeout(make_server):
    server = make_server(stall_timeout=0.5)
    stuck = RawClient("127.0.0.1", server.port)
    stuck.send_json({"type": "subscribe", "channels": ["jobs"]})
    server.wait_for(lambda: any(c.channels for c in server.hub.clients()), 2, "subscribed")
    for i in range(400):
        events.broadcast_job_progress(job_id=i, stage="s", progress=1, message="y" * 16000)
    server.wait_for(lambda: server.stats()["disconnected"]["slow"] == 1, 10, "stall kick")
    code, _ = stuck.read_until_close()
    assert code == 1013


def test_peer_that_never_answers_pings_is_removed(make_server):
    server = make_server(ping_interval=0.5)
    dead = RawClient("127.0.0.1", server.port)
    server.wait_for(lambda: server.hub.client_count() == 1, 2, "connected")
    t0 = time.monotonic()
    server.wait_for(lambda: server.hub.client_count() == 0, 3, "dead peer removed")
    assert time.monotonic() - t0 <= 1.0 + 0.5  # two intervals, plus scheduling slack
    assert server.stats()["disconnected"]["dead"] == 1
    dead.close()


def _fds() -> int:
    """Open sockets of this process (the server's and the test clients')."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass  # closed meanwhile
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count sockets")
def test_threads_and_sockets_return_to_baseline_after_200_cycles(live_server):
    live_server.ws().close()
    live_server.wait_for(lambda: live_server.hub.client_count() == 0, 2, "warm-up closed")
    time.sleep(0.2)
    threads, fds = threading.active_count(), _fds()
    for i in range(200):
        c = live_server.ws()
        if i % 2:
            c.subscribe("jobs")
        c.close()
    live_server.wait_for(lambda: live_server.hub.client_count() == 0, 5, "all closed")
    live_server.wait_for(lambda: threading.active_count() <= threads + 1, 5, "threads back")
    live_server.wait_for(lambda: _fds() <= fds + 2, 5, "sockets back")
    assert live_server.stats()["disconnected"]["closed"] == 201


def test_disconnect_endpoint(live_server):
    c = live_server.ws()
    client_id = c.welcome["client_id"]
    assert live_server.post("/websocket/disconnect/nobody", {}).status_code == 404
    r = live_server.post(f"/websocket/disconnect/{client_id}", {})
    assert r.status_code == 200 and r.json()["client_id"] == client_id
    from websockets.exceptions import ConnectionClosed
    with pytest.raises(ConnectionClosed) as closed:
        c.recv(timeout=5)
    assert closed.value.rcvd.code == 1000
    live_server.wait_for(lambda: live_server.hub.client_count() == 0, 2, "removed")


def test_stats_counters(live_server):
    c = live_server.ws()
    c.request({"type": "register", "client_type": "mobile"}, "registration_confirmed")
    c.subscribe("jobs", "export")
    before = live_server.stats()
    events.broadcast_export_failed(photo_id=1, preset_name="p", error_message="disk full")
    assert c.events(1)[0]["error_message"] == "disk full"
    stats = live_server.stats()
    assert stats["total_clients"] == 1 and stats["clients_by_type"] == {"mobile": 1}
    assert stats["active_channels"] == ["export", "jobs"] and stats["channel_count"] == 2
    assert stats["events_published"]["export"] == 1
    assert stats["messages_delivered"] == before["messages_delivered"] + 1
    assert stats["uptime_seconds"] > 0 and stats["seq"] == before["seq"] + 1
    assert set(stats["disconnected"]) >= {"slow", "dead", "too_big"}
    json.dumps(stats)


def test_one_unencodable_event_does_not_take_its_batch_with_it(live_server):
    c = live_server.ws()
    c.subscribe("jobs")
    hub = live_server.hub
    hub.publish("tick", "jobs", {"i": 1})
    hub.publish("tick", "jobs", {"i": 10**20})  # beyond 64 bits: orjson refuses it
    hub.publish("tick", "jobs", {"i": 3, "text": "\ud800"})
    got = c.events(3)
    assert [m["i"] for m in got] == [1, 10**20, 3]
    assert [m["seq"] for m in got] == list(range(got[0]["seq"], got[0]["seq"] + 3))


def test_subscribe_then_unsubscribe_at_once_keep_their_order(live_server):
    c = live_server.ws()
    for _ in range(20):
        c.send({"type": "subscribe", "channels": ["jobs"]})
        c.send({"type": "unsubscribe", "channels": ["jobs"]})
        first, second = c.recv(), c.recv()
        assert first["type"] == "subscription_confirmed" and first["channels"] == ["jobs"]
        assert second["type"] == "unsubscription_confirmed" and second["channels"] == []
    assert live_server.get("/websocket/clients").json()["clients"][0]["subscriptions"] == []
