"""Robust HTTP errors: a bad id is a 404 (never a 500), bodies and JSON have limits that answer
400/413, no GET changes anything or publishes an event, internal errors are answered without a
traceback or a path, and are reported as ``error_occurred`` at a bounded rate."""

from __future__ import annotations

import json
import shutil
import time

import pytest
import requests
from imagegen import write_image
from pipeline_support import Recorder, create_session, error, ok, pipeline_of

from darkroom.pipeline import reporter
from darkroom.pipeline.reporter import ErrorLimiter

pytestmark = pytest.mark.databases

# Ids are 32-bit INTEGER columns on PostgreSQL: 2**31 is already out of range there.
MAX_ID = 2**31 - 1
HUGE_IDS = ("99999999999999999999", str(2**31), str(2**63), "1" + "0" * 400)

ID_ROUTES = [
    ("GET", "/api/photos/{id}"), ("GET", "/api/photos/{id}/thumbnail"),
    ("GET", "/api/photos/{id}/preview"), ("GET", "/api/photos/{id}/developed"),
    ("GET", "/api/photos/{id}/developed/thumbnail"), ("GET", "/api/sessions/{id}"),
    ("PATCH", "/api/sessions/{id}"), ("POST", "/api/sessions/{id}/import"),
    ("GET", "/api/jobs/{id}"), ("PATCH", "/api/jobs/{id}"), ("POST", "/api/jobs/{id}/cancel"),
    ("POST", "/api/jobs/{id}/retry"), ("POST", "/api/approval/{id}/approve"),
    ("POST", "/api/approval/{id}/reject"),
]


def _sentinel(server, rec, name: str) -> None:
    """Every event published before this point has reached ``rec`` once this arrives
    (one dispatcher, one seq order)."""
    create_session(server, name, pipeline_of(server).data_dir / "inbox")
    rec.wait(lambda ev: rec.of("session_created", session_name=name), what="the sentinel")


def test_an_id_out_of_range_is_a_404_and_reports_nothing(live_server):
    rec = Recorder(live_server, ("system", "sessions"))
    for method, route in ID_ROUTES:
        for huge in HUGE_IDS:
            res = requests.request(method, live_server.url + route.format(id=huge), json={},
                                   timeout=10)
            error(res, 404, "not_found")
        # The largest id is a valid id of nothing.
        res = requests.request(method, live_server.url + route.format(id=MAX_ID), json={},
                               timeout=10)
        assert res.status_code in (400, 404), (route, res.status_code, res.text)
    for odd in ("-1", "+1", "١٢", "1e3", "0x10", "007"):
        error(live_server.get(f"/api/photos/{odd}/preview"), 404)
    _sentinel(live_server, rec, "after ids")
    assert not rec.of("error_occurred"), rec.of("error_occurred")
    rec.close()


def test_an_id_out_of_range_in_a_body_or_query_is_a_400(live_server, tmp_path):
    photo = str(write_image(tmp_path / "a.jpg", seed=931))
    huge = int(HUGE_IDS[0])
    error(live_server.post("/api/jobs", {"photo_id": huge}), 400, "invalid_field")
    error(live_server.post("/api/jobs", {"photo_id": MAX_ID + 1}), 400, "invalid_field")
    error(live_server.post("/api/jobs", {"photo_id": MAX_ID}), 404)
    error(live_server.post("/api/jobs", {"photo_id": 1e300}), 400, "invalid_field")
    error(live_server.post("/import/file", {"file_path": photo, "session_id": huge}), 400,
          "invalid_field")
    error(live_server.post("/api/export", {"photo_ids": [1, huge]}), 400, "invalid_field")
    error(live_server.post("/api/export", {"photo_ids": [MAX_ID + 1]}), 400, "invalid_field")
    error(live_server.post("/api/export", {"photo_ids": [MAX_ID]}), 404)
    error(live_server.post("/api/export", {"session_id": huge}), 400, "invalid_field")
    for query in ("photo_id", "session_id"):
        error(live_server.get("/api/jobs", params={query: HUGE_IDS[0]}), 400, "invalid_query")
        error(live_server.get("/api/jobs", params={query: MAX_ID + 1}), 400, "invalid_query")
        ok(live_server.get("/api/jobs", params={query: MAX_ID}))
    error(live_server.get("/api/photos", params={"offset": HUGE_IDS[0]}), 400, "invalid_query")
    # A number too long to parse is bad JSON, not a 500.
    res = live_server.post("/api/jobs", data='{"photo_id": ' + "9" * 5000 + "}",
                           headers={"Content-Type": "application/json"})
    error(res, 400, "invalid_json")


def test_a_thousand_requests_for_a_missing_preview_report_nothing(live_server):
    rec = Recorder(live_server, ("system", "sessions"))
    with requests.Session() as http:
        statuses = [http.get(f"{live_server.url}/api/photos/{pid}/preview", timeout=10).status_code
                    for pid in (HUGE_IDS[0], "424242") * 500]
    assert statuses == [404] * 1000
    _sentinel(live_server, rec, "after 1000")
    assert len(rec.of("error_occurred")) <= 3, rec.of("error_occurred")
    rec.close()


def _deep(depth: int, kind: str = "list") -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def test_deep_json_is_a_400_not_a_500(live_server):
    json_headers = {"Content-Type": "application/json"}
    for path in ("/api/jobs", "/api/sessions", "/import/file", "/api/approval/1/approve",
                 "/api/queue/pause", "/websocket/broadcast"):
        for body in (_deep(10_000), _deep(10_000, "object"), _deep(65, "object"),
                     '{"name": ' + _deep(64) + "}"):
            res = live_server.post(path, data=body, headers=json_headers)
            error(res, 400, "invalid_json")
    assert live_server.stats()["refused"]["json_too_deep"] == 6 * 4  # counted, every one
    # 64 levels is allowed: the request goes on to its own checks.
    body = {"name": "Deep", "import_folder": str(pipeline_of(live_server).data_dir / "inbox"),
            "extra": json.loads(_deep(63))}
    ok(live_server.post("/api/sessions", data=json.dumps(body), headers=json_headers), 201)


def test_a_body_over_the_limit_is_a_413(make_server):
    server = make_server(max_body_size=4096)
    filler = {"name": "x", "import_folder": "y", "pad": "z" * 5000}
    error(server.post("/api/sessions", filler), 413, "payload_too_large")
    error(server.post("/api/approval/1/reject", {"reason": "z" * 5000}), 413)
    assert ok(server.get("/api/sessions"))["count"] == 1
    assert server.stats()["refused"]["body_too_large"] == 2


def test_a_200_kib_body_under_the_default_1_mib_limit_is_read(live_server):
    body = {"name": "Padded", "import_folder": str(pipeline_of(live_server).data_dir / "inbox"),
            "pad": "z" * 200 * 1024}
    ok(live_server.post("/api/sessions", body), 201)
    error(live_server.post("/api/sessions", {**body, "pad": "z" * (1024 * 1024 + 1)}), 413)


def _get_routes(server) -> list[str]:
    return sorted(rule.rule for rule in server.app.url_map.iter_rules()
                  if "GET" in rule.methods and rule.endpoint.startswith("pipeline."))


def test_no_get_changes_state_or_publishes_an_event(make_server, tmp_path):
    # The monitor's first status comes 1 s after the start, then never again in this test.
    live_server = make_server(monitor_interval=3600)
    rec = Recorder(live_server)
    photo = ok(live_server.post("/import/file", {"file_path": str(write_image(
        tmp_path / "g.jpg", seed=941))}))
    pid, job_id = photo["photo_id"], photo["job_id"]
    # The develop's last events (the worker's, then the queue notifier's) are in.
    rec.wait(lambda ev: rec.of("system_status") and rec.of("approval_queue_updated") and any(
        e["completed"] == 1 and e["pending"] == e["processing"] == 0
        for e in rec.of("queue_status")), what="the develop settling")
    _sentinel(live_server, rec, "before")
    before = len(rec.events)
    reads = ("/api/sessions", "/api/photos", "/api/jobs", "/api/queue", "/api/exports",
             f"/api/photos/{pid}", f"/api/jobs/{job_id}")
    state = [ok(live_server.get(path)) for path in reads]
    routes = _get_routes(live_server)
    assert "/api/photos/<id:photo_id>/preview" in routes and "/api/system" in routes
    for rule in routes:
        path = (rule.replace("<id:photo_id>", str(pid)).replace("<id:session_id>", "1")
                .replace("<id:job_id>", str(job_id)))
        assert "<" not in path, rule
        for _ in range(3):
            assert live_server.get(path).status_code == 200, path
    _sentinel(live_server, rec, "after")
    between = rec.events[before:-1]
    assert between == [], between
    after = [ok(live_server.get(path)) for path in reads]
    # The sessions list differs only by the "after" sentinel.
    assert after[0]["count"] == state[0]["count"] + 1 and after[1:] == state[1:]
    rec.close()


def test_an_internal_error_has_no_traceback_and_no_path(make_server, tmp_path):
    server = make_server()
    p = pipeline_of(server)
    shutil.rmtree(p.cache_dir)
    p.cache_dir.write_text("in the way")
    res = server.post("/import/file", {"file_path": str(write_image(tmp_path / "e.jpg",
                                                                    seed=951))})
    body = error(res, 500, "internal_error")
    assert set(body) == {"success", "code", "error"}
    for leak in ("Traceback", str(tmp_path), str(p.data_dir), "cache", ".py", "line "):
        assert leak not in res.text, leak
    p.cache_dir.unlink()


def test_a_repeated_internal_error_is_reported_a_few_times_with_the_count(make_server, tmp_path):
    server = make_server()
    p = pipeline_of(server)
    reporter.LIMITER.reset()
    rec = Recorder(server, ("system", "sessions"))
    shutil.rmtree(p.cache_dir)
    p.cache_dir.write_text("in the way")
    photo = {"file_path": str(write_image(tmp_path / "r.jpg", seed=961))}

    def mine():
        return [e for e in rec.of("error_occurred")
                if e["error_details"]["where"] == "POST /import/file"]

    start = time.monotonic()
    with requests.Session() as http:
        for _ in range(200):
            assert http.post(server.url + "/import/file", json=photo, timeout=10).status_code == 500
        elapsed = time.monotonic() - start
        _sentinel(server, rec, "after the burst")
        during = len(mine())
        # Once the window has moved on, the next error carries the count of the suppressed
        # ones (each poll waits for its event; nothing is slept).
        polls = 0
        while len(mine()) == during:
            polls += 1
            assert polls < 200, "no report after the burst"
            http.post(server.url + "/import/file", json=photo, timeout=10)
            try:
                rec.wait(lambda ev: len(mine()) > during, timeout=0.2)
            except TimeoutError:
                pass
    events = mine()
    windows = int(elapsed / reporter.WINDOW) + 2
    assert during <= reporter.PER_WINDOW * windows, (during, elapsed)
    assert during < 50 and len(events) == during + 1
    # A report carried the count of those suppressed before it: the first of a later
    # window, or the one after the burst. Which depends on where the burst's windows
    # fell (a last window of 3 errors or fewer suppressed none, so the next report says 0).
    assert any(e["error_details"].get("suppressed", 0) > 0 for e in events), events
    # Every error of the burst is accounted for: reported, or counted in a later report.
    reported = sum(1 + e["error_details"].get("suppressed", 0) for e in events)
    assert 200 < reported <= 200 + polls, (reported, polls)
    assert all(e["error_type"] == events[0]["error_type"] for e in events)
    p.cache_dir.unlink()
    rec.close()


def test_the_limiter_counts_what_it_suppresses():
    now = [0.0]
    limiter = ErrorLimiter(per_window=3, window=1.0, clock=lambda: now[0])
    assert [limiter.admit("A") for _ in range(5)] == [0, 0, 0, None, None]
    assert limiter.admit("B") == 0  # kinds are limited separately
    now[0] = 0.5
    assert limiter.admit("A") is None
    now[0] = 1.0
    assert limiter.admit("A") == 3  # the three suppressed, reported with the next one
    assert [limiter.admit("A") for _ in range(3)] == [0, 0, None]
    now[0] = 5.0
    assert limiter.admit("A") == 1
