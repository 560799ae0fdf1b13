"""/metrics: Prometheus text that prometheus-client's parser reads, and counters that move
with real traffic (HTTP requests, WebSocket clients, published and delivered events)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

BROADCAST = {"type": "ops_probe", "channel": "system", "data": {"n": 1}}


def scrape(server) -> dict[tuple[str, tuple], float]:
    r = server.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_parse_and_move_with_real_traffic(live_server):
    before = scrape(live_server)
    assert value(before, "darkroom_info", version=__import__("darkroom").__version__) == 1.0
    assert ("darkroom_jobs", (("state", "pending"),)) in before

    client = live_server.ws()
    client.send({"type": "register", "client_type": "gui", "client_name": "metrics"})
    client.recv_type("registration_confirmed")
    client.subscribe("system")
    for _ in range(3):
        assert live_server.post("/websocket/broadcast", BROADCAST).status_code == 200
    assert [e["type"] for e in client.events(3)] == ["ops_probe"] * 3
    assert live_server.get("/api/sessions").status_code == 200
    assert live_server.get("/api/sessions/999999").status_code == 404

    during = scrape(live_server)
    assert value(during, "darkroom_clients", client_type="gui", transport="websocket") == 1
    published = "darkroom_events_published_total"
    assert value(during, published, channel="system", type="ops_probe") == \
        value(before, published, channel="system", type="ops_probe") + 3
    assert value(during, "darkroom_messages_delivered_total") >= value(before, "darkroom_messages_delivered_total") + 3
    appends = "darkroom_event_log_append_seconds_count"
    assert value(during, appends) >= value(before, appends) + 3
    requests_total = "darkroom_http_requests_total"
    assert value(during, requests_total, method="POST", route="/websocket/broadcast", status="200") == 3
    assert value(during, requests_total, method="GET", route="/api/sessions", status="200") == 1
    assert value(during, requests_total, method="GET", route="/api/sessions/<id:session_id>", status="404") == 1
    assert value(during, "darkroom_http_request_duration_seconds_count", method="POST",
                 route="/websocket/broadcast") == 3
    assert value(during, "darkroom_http_request_duration_seconds_bucket", method="POST",
                 route="/websocket/broadcast", le="+Inf") == 3

    client.close()
    live_server.wait_for(lambda: live_server.stats()["total_clients"] == 0, what="client gone")
    after = scrape(live_server)
    assert value(after, "darkroom_clients", client_type="gui", transport="websocket") == 0
    assert value(after, "darkroom_client_disconnects_total", reason="closed") == \
        value(before, "darkroom_client_disconnects_total", reason="closed") + 1
    for name in ("darkroom_refusals_total", "darkroom_replays_total", "darkroom_outbox_high_water_bytes",
                 "darkroom_outbox_pending_bytes", "darkroom_replayed_events_total",
                 "darkroom_event_log_failures_total"):
        assert any(key[0] == name for key in after), name


def test_replays_and_refusals_are_counted(live_server):
    live_server.post("/websocket/broadcast", BROADCAST)
    first = live_server.ws()
    epoch = first.welcome["epoch"]
    first.close()
    resumer = live_server.ws()
    resumer.send({"type": "subscribe", "channels": ["system"], "since": {"epoch": epoch, "seq": 0}})
    assert resumer.recv_type("subscription_confirmed")["recovered"] is True
    assert resumer.recv_type("ops_probe")["seq"] >= 1  # the replayed event
    resumer.send({"type": "subscribe", "channels": ["system"] * 33})
    assert resumer.recv_type("error")["code"] == "too_many_channels"
    resumer.close()
    samples = scrape(live_server)
    assert value(samples, "darkroom_replays_total", result="recovered") == 1
    assert value(samples, "darkroom_replays_total", result="not_recovered") == 0
    assert value(samples, "darkroom_replayed_events_total") >= 1
    assert value(samples, "darkroom_refusals_total", limit="too_many_channels") == 1
    assert value(samples, "darkroom_replay_duration_seconds_count") == 1  # the replay's time
