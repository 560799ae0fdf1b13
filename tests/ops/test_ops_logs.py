"""``--log-format json``: every line of ``python app.py`` is one JSON object, gunicorn's own
lines included; HTTP lines carry request ids; a refused Origin is logged once with its reason;
no token reaches a line."""

from __future__ import annotations

import json

import pytest
import requests

SERVERS = ["gunicorn", "werkzeug"]


def json_lines(output: str) -> list[dict]:
    lines = [line for line in output.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}\n{output}")
    assert all({"ts", "level", "logger", "msg"} <= set(p) for p in parsed), parsed
    return parsed


@pytest.mark.parametrize("server", SERVERS)
def test_json_log_format_emits_only_json_lines_with_request_ids(start_app, server):
    app = start_app("--server", server, "--log-format", "json", "--access-log")
    r = app.get("/api/sessions", headers={"X-Request-Id": "ops-req-1"})
    assert r.status_code == 200 and r.headers["X-Request-Id"] == "ops-req-1"
    generated = app.get("/healthz").headers["X-Request-Id"]
    secret = "abcdefghijklmnop1234"
    app.get(f"/api/photos?token={secret}")
    for _ in range(2):  # refused twice, logged once
        refused = requests.post(app.url + "/websocket/broadcast", json={"type": "x", "channel": "system"},
                                headers={"Origin": "http://evil.example"}, timeout=10)
        assert refused.status_code == 403
    app.wait_for(lambda: sum('"route": "/websocket/broadcast"' in line for line in app.output().splitlines()) >= 2,
                 what="two access lines for the refused writes")
    app.terminate()
    records = json_lines(app.output())
    loggers = {r["logger"] for r in records}
    if server == "gunicorn":
        assert "gunicorn.error" in loggers, loggers  # "Starting gunicorn", "Booting worker", ...
    access = [r for r in records if r["logger"] == "darkroom.access"]
    mine = next(r for r in access if r.get("request_id") == "ops-req-1")
    assert (mine["method"], mine["route"], mine["status"]) == ("GET", "/api/sessions", 200)
    assert isinstance(mine["ms"], float)
    assert any(r.get("request_id") == generated and r["path"] == "/healthz" for r in access)
    refusals = [r for r in records if r["msg"] == "request refused"]
    assert len(refusals) == 1 and refusals[0]["reason"] == "forbidden_origin"
    assert refusals[0]["value"] == "http://evil.example" and refusals[0]["level"] == "WARNING"
    assert refusals[0]["request_id"]
    assert secret not in app.output() and "token=[redacted]" in app.output()


def test_text_format_puts_gunicorn_lines_in_the_same_format(start_app):
    app = start_app()
    app.terminate()
    lines = [line for line in app.output().splitlines() if line.strip()]
    gunicorn = [line for line in lines if " gunicorn.error " in line]
    assert gunicorn, lines
    assert not any(line.startswith("[") for line in lines), lines  # gunicorn's own "[date] [pid]" format
