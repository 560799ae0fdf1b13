"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can do its work).

``/healthz`` is ``{"status": "ok"}`` whenever the process serves HTTP; it needs
no token in LAN mode (a load balancer or systemd check has none), and says
nothing else. ``/readyz`` checks, in a few milliseconds:

- ``database``: a connection answers ``SELECT 1``;
- ``hub``: the hub runs and its dispatcher thread is alive;
- ``event_log``: the log answers (its table, or the Redis stream), and the last
  batch the hub appended was stored (a failing append makes the hub deliver live
  only: no resume);
- ``redis``: only with ``REDIS_URL``: the link to the shared stream is up.

200 ``{"status": "ready"}`` or 503 ``{"status": "not_ready", "failing": [...]}``
naming the failing parts, with each check's error and milliseconds. Both need
no token in LAN mode (probes have none); there ``/readyz`` gives an unauthorised
caller its status code and ``status`` only, the parts and errors only with the
install's token or a paired device's cookie.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, jsonify, request
from sqlalchemy import text

from darkroom.web import ops

PATHS = ("/healthz", "/readyz")


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        problem = check()
    except Exception as exc:  # a check that raises failed; the reason is its error
        problem = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    out = {"ok": problem is None, "ms": round((time.perf_counter() - started) * 1000, 2)}
    if problem is not None:
        out["error"] = problem
    return out


def checks(app: Flask) -> dict[str, dict]:
    runtime = app.extensions["darkroom"]
    hub = runtime.hub
    tap = ops.tap(app)

    def database():
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def hub_alive():
        if not hub.running:
            return "hub is not running"
        if not hub.dispatcher_alive():
            return "hub dispatcher thread is not alive"
        return None

    def event_log():
        hub.log.oldest_seq()  # the log answers, in SQL or in Redis
        if tap.last_error is not None:
            return f"the last append failed: {tap.last_error}"[:300]
        return None

    def redis():
        bus = hub.bus_health()
        return None if bus["connected"] else f"Redis unreachable: {bus['last_error']}"[:300]

    out = {"database": _timed(database), "hub": _timed(hub_alive), "event_log": _timed(event_log)}
    if hub.bus_health()["kind"] == "redis":
        out["redis"] = _timed(redis)
    return out


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        response = jsonify({"status": "ok"})
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/readyz")
    def readyz():
        results = checks(current_app)
        failing = [name for name, result in results.items() if not result["ok"]]
        body = {"status": "not_ready" if failing else "ready", "failing": failing, "checks": results}
        config = current_app.extensions["darkroom"].config
        if config.lan:
            from darkroom.web import auth

            if auth.authority(current_app).authenticate(request) is None:
                body = {"status": body["status"]}
        response = jsonify(body)
        response.status_code = 503 if failing else 200
        response.headers["Cache-Control"] = "no-store"
        return response
