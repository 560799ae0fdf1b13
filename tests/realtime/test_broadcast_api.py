"""POST /websocket/broadcast and the catalogue endpoint, including the quick reference's curl."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests


def test_quick_reference_curl_examples_unchanged(live_server):
    need_curl = shutil.which("curl")
    if not need_curl:
        pytest.skip("curl is not installed")
    watcher = live_server.ws()
    watcher.subscribe("system")
    base = f"http://localhost:{live_server.port}"
    out = subprocess.run(
        ["curl", "-s", "-X", "POST", f"{base}/websocket/broadcast",
         "-H", "Content-Type: application/json",
         "-d", '{\n    "type": "custom_event",\n    "data": {"message": "Hello"},\n'
               '    "channel": "system"\n  }'],
        capture_output=True, text=True, timeout=10)
    assert '"success":true' in out.stdout.replace(" ", "")
    event = watcher.recv_type("custom_event")
    assert event["message"] == "Hello" and event["channel"] == "system"
    assert event["source"] == "external" and event["seq"] >= 1
    for path in ("/websocket/clients", "/websocket/stats"):
        out = subprocess.run(["curl", "-s", base + path], capture_output=True, text=True,
                             timeout=10)
        assert '"success":true' in out.stdout.replace(" ", "")


def test_catalogue_event_over_http_is_validated_like_a_helper(live_server):
    c = live_server.ws()
    c.subscribe("sessions")
    r = live_server.post("/websocket/broadcast", {"type": "session_updated", "data": {
        "session_id": 4, "total_photos": 8, "processed_photos": 2}})
    assert r.status_code == 200 and r.json()["channel"] == "sessions"
    event = c.recv_type("session_updated")
    assert event["progress_percent"] == 25.0 and event["source"] == "external"


@pytest.mark.parametrize("body, code", [
    ({"channel": "system", "data": {}}, "missing_field"),
    ({"type": "Bad Type!", "channel": "system"}, "invalid_type"),
    ({"type": "pong", "channel": "system"}, "reserved_type"),
    ({"type": "custom_event", "data": {}}, "missing_field"),
    ({"type": "custom_event", "channel": "nope"}, "unknown_channel"),
    ({"type": "custom_event", "channel": ["system"]}, "unknown_channel"),
    ({"type": "custom_event", "channel": "system", "data": [1]}, "invalid_field"),  # [] is {} (Lua)
    ({"type": "custom_event", "channel": "system", "data": {"type": "x"}}, "reserved_field"),
    ({"type": "custom_event", "channel": "system", "data": {"seq": 1}}, "reserved_field"),
    ({"type": "custom_event", "channel": "system", "data": {"n": 10**20}}, "invalid_field"),
    ({"type": "job_started", "channel": "photos", "data": {"job_id": 1, "photo_id": 1}},
     "wrong_channel"),
    ({"type": "job_started", "data": {"job_id": 1}}, "invalid_event"),
    ({"type": "job_started", "data": {"job_id": 1, "photo_id": "x"}}, "invalid_event"),
    ({"type": "job_created", "data": {"job_id": 1, "photo_id": 1, "priority": 99}},
     "invalid_event"),
    ({"type": "session_updated", "data": {"session_id": 1, "total_photos": 1,
                                          "processed_photos": 1, "progress_percent": 5}},
     "invalid_event"),
])
def test_bad_broadcasts_are_400_and_publish_nothing(live_server, body, code):
    before = live_server.stats()["events_published"].get("system", 0)
    r = live_server.post("/websocket/broadcast", body)
    assert r.status_code == 400, r.text
    assert r.json() == {"success": False, "code": code, "error": r.json()["error"]}
    assert live_server.stats()["events_published"].get("system", 0) == before


def test_not_json_is_415_and_big_body_is_413(live_server):
    r = requests.post(live_server.url + "/websocket/broadcast", data="hello",
                      headers={"Content-Type": "text/plain"}, timeout=5)
    assert r.status_code == 415 and r.json()["success"] is False
    r = requests.post(live_server.url + "/websocket/broadcast", data="{",
                      headers={"Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    big = {"type": "custom_event", "channel": "system", "data": {"x": "y" * 70000}}
    r = live_server.post("/websocket/broadcast", big)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_catalog_endpoint_serves_a_json_schema_per_event(live_server):
    body = live_server.get("/websocket/catalog").json()
    assert body["channels"] == ["jobs", "photos", "sessions", "system", "queue", "approval",
                                "export"]
    schema = body["events"]["job_progress"]["schema"]
    assert body["events"]["job_progress"]["channel"] == "jobs"
    assert set(schema["required"]) >= {"type", "timestamp", "channel", "seq", "job_id",
                                       "stage", "progress"}
