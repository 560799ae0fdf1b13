"""A background service that does one thing every so often, on a thread of its own.

Subclasses implement ``tick()``; a failing tick is reported (``failed``) and
the next one still runs. ``stop()`` returns within a couple of seconds.
"""

from __future__ import annotations

import logging
import threading
from typing import Optional

log = logging.getLogger("darkroom.periodic")


class Periodic:
    def __init__(self, name: str, interval: float, first: float = 0.0):
        self.name = name
        self.interval = interval
        self.first = first  # seconds before the first tick
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def tick(self) -> None:
        raise NotImplementedError

    def failed(self, exc: Exception) -> None:
        log.exception("%s failed", self.name)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"darkroom-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        wait = self.first
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                self.tick()
            except Exception as exc:
                self.failed(exc)
