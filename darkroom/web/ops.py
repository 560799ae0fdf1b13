"""Operations endpoints of one app: health, metrics, the API documents, request logs.

``init_app(app)`` (called from ``create_app``) registers them all:

- ``darkroom/web/requestlog.py``: a request id per HTTP request, the access log;
- ``darkroom/web/health.py``: ``GET /healthz`` and ``GET /readyz``;
- ``darkroom/web/metrics.py``: ``GET /metrics`` (Prometheus text format);
- ``darkroom/web/openapi.py``: ``GET /api/openapi.json`` (OpenAPI 3.1);
- ``darkroom/web/asyncapi.py``: ``GET /websocket/asyncapi.json`` (AsyncAPI 3.0).

``EventTap`` watches the hub's event log from outside the hub: it wraps the
store's ``append`` (the one call every committed batch goes through, on the
log's writer thread) to time it, count events by channel and type and remember
whether the last batch was stored, without touching ``darkroom/realtime``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Callable, Optional

import orjson
from flask import Flask

EXTENSION = "darkroom_ops"


class EventTap:
    """What went through ``hub.log.append``: counts, latencies, stage timings, the last outcome."""

    def __init__(self, event_log):
        self.published: Counter[tuple[str, str]] = Counter()
        self.appends = 0
        self.append_failures = 0
        self.last_error: Optional[str] = None  # None once a batch is stored again
        self.last_append_at: Optional[float] = None
        self.observers: list[Callable[[float, list], None]] = []  # (seconds, rows)
        self.stage_observers: list[Callable[[str, str, float], None]] = []  # (kind, stage, seconds)
        self._lock = threading.Lock()
        original = event_log.append

        def append(rows, *args, **kwargs):
            started = time.perf_counter()
            try:
                stored = original(rows, *args, **kwargs)
            except Exception as exc:
                self._after(rows, started, f"{type(exc).__name__}: {exc}")
                raise
            self._after(rows, started, "not stored: Redis lost the stream it belonged to"
                        if stored is False else None)
            return stored

        event_log.append = append  # an instance attribute: the class and the hub are unchanged

    def _after(self, rows, started: float, error: Optional[str]) -> None:
        seconds = time.perf_counter() - started
        with self._lock:
            self.appends += 1
            self.last_error = error
            self.last_append_at = time.time()
            if error is not None:
                self.append_failures += 1
                return  # a failed batch is counted once it is stored, not each time it is tried
            for row in rows:
                self.published[(row.channel, row.type)] += 1
        for observe in self.observers:
            observe(seconds, rows)
        if self.stage_observers:
            for row in rows:
                if row.type == "job_completed":
                    self._stages(row.data)

    def _stages(self, data: str) -> None:
        try:
            result = orjson.loads(data).get("result") or {}
            timings = result.get("timings") or {}
        except Exception:
            return
        kind = "develop" if "developed_path" in result else "export"
        for stage, seconds in timings.items():
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
                for observe in self.stage_observers:
                    observe(kind, str(stage), float(seconds))

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self.published)


def tap(app: Flask) -> EventTap:
    return app.extensions[EXTENSION]


def init_app(app: Flask) -> None:
    from darkroom.web import asyncapi, health, metrics, openapi, requestlog

    runtime = app.extensions["darkroom"]
    # The store's own append: the commits themselves, on the log's writer thread.
    app.extensions[EXTENSION] = EventTap(getattr(runtime.hub.log, "store", runtime.hub.log))
    requestlog.init_app(app, runtime.config)
    metrics.init_app(app)
    health.init_app(app)
    openapi.init_app(app)
    asyncapi.init_app(app)
