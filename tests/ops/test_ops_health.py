"""/healthz and /readyz: fast, JSON, and a broken part is named (real server, real SQLite)."""

from __future__ import annotations

import sqlite3
import time

import requests

from darkroom.web import auth

BROADCAST = {"type": "ops_probe", "channel": "system", "data": {}}


def fastest_ms(server, path: str, tries: int = 7, **kw) -> float:
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        server.get(path, **kw)
        best = min(best, (time.perf_counter() - t0) * 1000)
    return best


def sqlite_path(server) -> str:
    return server.config.database_url.removeprefix("sqlite:///")


def test_healthz_and_readyz_answer_ready_at_once(live_server):
    r = live_server.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["Content-Type"].startswith("application/json")
    r = live_server.get("/readyz")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ready" and body["failing"] == []
    assert set(body["checks"]) == {"database", "hub", "event_log"}
    assert all(check["ok"] for check in body["checks"].values())
    # They answer at once, never waiting on a lock or a slow part (speed itself is for
    # benchmarks: a generous bound that a loaded CI machine still meets).
    assert fastest_ms(live_server, "/healthz") < 250
    assert fastest_ms(live_server, "/readyz") < 250


def test_readyz_names_the_event_log_when_its_table_is_gone(live_server):
    with sqlite3.connect(sqlite_path(live_server)) as db:
        db.execute("DROP TABLE event_log")
    r = live_server.get("/readyz")
    body = r.json()
    assert r.status_code == 503 and body["status"] == "not_ready"
    assert body["failing"] == ["event_log"]
    assert "event_log" in body["checks"]["event_log"]["error"]
    assert body["checks"]["database"]["ok"] and body["checks"]["hub"]["ok"]
    assert live_server.get("/healthz").status_code == 200  # alive, not ready


def test_readyz_names_the_event_log_when_appends_fail_and_recovers(live_server):
    assert live_server.post("/websocket/broadcast", BROADCAST).status_code == 200
    with sqlite3.connect(sqlite_path(live_server)) as db:
        db.execute("CREATE TRIGGER ops_refuse BEFORE INSERT ON event_log "
                   "BEGIN SELECT RAISE(ABORT, 'event log is read-only'); END")
    r = live_server.post("/websocket/broadcast", BROADCAST)
    assert r.status_code == 503 and r.json()["code"] == "not_stored"
    body = live_server.get("/readyz").json()
    assert body["failing"] == ["event_log"]
    assert "last append failed" in body["checks"]["event_log"]["error"]
    assert "read-only" in body["checks"]["event_log"]["error"]
    with sqlite3.connect(sqlite_path(live_server)) as db:
        db.execute("DROP TRIGGER ops_refuse")
    assert live_server.post("/websocket/broadcast", BROADCAST).status_code == 200
    assert live_server.get("/readyz").json()["status"] == "ready"


def test_readyz_names_the_hub_when_its_dispatcher_stopped(make_server):
    server = make_server(with_pipeline=False)
    server.hub.stop()
    r = server.get("/readyz")
    assert r.status_code == 503 and r.json()["failing"] == ["hub"]


def test_lan_mode_healthz_needs_no_token_and_readyz_details_need_it(make_server):
    server = make_server(lan=True, host="127.0.0.1")
    url = server.url
    assert requests.get(url + "/healthz", timeout=10).json() == {"status": "ok"}
    anonymous = requests.get(url + "/readyz", timeout=10)
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ready"}
    token = (server.config.data_dir / auth.TOKEN_FILE).read_text().strip()
    detailed = requests.get(url + "/readyz", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert set(detailed["checks"]) == {"database", "hub", "event_log"}
    assert requests.get(url + "/metrics", timeout=10).status_code == 401  # the rest still needs it
