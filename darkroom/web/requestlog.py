"""A request id for every HTTP request, and the access log (``--access-log``).

The id is the caller's ``X-Request-Id`` when it is a short token of safe
characters, else a fresh one; it is echoed in the response's ``X-Request-Id``
and carried by every log line made while the request is handled (the log
formatter reads it, ``darkroom/logs.py``). With ``access_log`` on, each request
ends with one ``request`` line: method, path (tokens redacted), route, status,
milliseconds, remote address and request id, in the configured log format,
under gunicorn and Werkzeug alike.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, g, request

log = logging.getLogger("darkroom.access")

HEADER = "X-Request-Id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _begin() -> None:
    given = request.headers.get(HEADER, "")
    g.request_id = given if _SAFE_ID.fullmatch(given) else secrets.token_hex(8)
    g.request_started = time.perf_counter()


def route_of() -> str:
    """The matched URL rule (bounded: one label per route), or ``<unmatched>``."""
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def elapsed() -> float:
    started = g.get("request_started")
    return time.perf_counter() - started if started is not None else 0.0


def init_app(app: Flask, config) -> None:
    # First of all before_request hooks: a request the Host or Origin checks refuse has an id too.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)

    @app.after_request
    def _finish(response):
        rid = g.get("request_id")
        if rid:
            response.headers.setdefault(HEADER, rid)
        if config.access_log:
            path = request.full_path if request.query_string else request.path
            log.info("request", extra={"method": request.method, "path": path, "route": route_of(),
                                       "status": response.status_code,
                                       "ms": round(elapsed() * 1000, 2),
                                       "remote": request.remote_addr})
        return response
