"""The running parts of one app: its config, database, hub and background services.

Services (the develop workers, the system monitor, the hot-folder watcher...)
are objects with ``start()`` and ``stop()``. They start in the order they were
added and stop in reverse order, so the hub, added first, stops last and can
still deliver what the others publish while they wind down.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from flask import Flask, current_app

log = logging.getLogger("darkroom.runtime")


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class Runtime:
    def __init__(self, config, db, hub):
        self.config = config
        self.db = db  # the app's one darkroom.db.Database, shared by the pipeline and the log
        self.hub = hub
        self.services: list[Service] = [hub]
        self._lock = threading.Lock()
        self.started = False
        self.stopped = False

    def add(self, service: Service) -> Service:
        """Register a service; it starts now if the runtime already runs."""
        with self._lock:
            self.services.append(service)
            running = self.started and not self.stopped
        if running:
            service.start()
        return service

    def start(self) -> None:
        with self._lock:
            if self.started:
                return
            self.started = True
            services = list(self.services)
        for service in services:
            service.start()

    def stop(self, close_code: int = 1001) -> None:
        """Stop every service, newest first; the hub last closes clients with ``close_code``."""
        with self._lock:
            if self.stopped:
                return
            self.stopped = True
            services = list(reversed(self.services))
        self.hub.close_code = close_code
        for service in services:
            try:
                service.stop()
            except Exception:
                log.exception("error stopping %s", type(service).__name__)
        self.db.dispose()


def runtime(app: Flask | None = None) -> Runtime:
    """The runtime of ``app`` (or of the current app)."""
    return (app or current_app).extensions["darkroom"]
