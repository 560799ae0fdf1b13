"""``queue_status``: sent when the job counts or the pause change, at most once per interval."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Optional

from darkroom.pipeline.jobs import queue
from darkroom.pipeline.reporter import report_error
from websocket_events import broadcast_queue_status

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline


class QueueNotifier:
    """``changed()`` never blocks: it marks the counts dirty and a service thread sends one
    event for any number of changes within the interval."""

    def __init__(self, p: "Pipeline", interval: float = 0.25):
        self.p = p
        self.interval = interval
        self._cond = threading.Condition()
        self._dirty = False
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._last: Optional[dict] = None

    def changed(self) -> None:
        with self._cond:
            self._dirty = True
            self._cond.notify()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="darkroom-queue-status",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread:
            self._thread.join(timeout=1.5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._dirty and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                self._dirty = False
            try:
                c = queue.counts(self.p.db)
                status = {k: c[k] for k in ("pending", "processing", "completed", "failed")}
                status["paused"] = self.p.workers.paused
                if status != self._last:
                    self._last = status
                    broadcast_queue_status(**status)
            except Exception as exc:
                report_error(exc, "queue_status")
            with self._cond:
                self._cond.wait_for(lambda: self._stopping, timeout=self.interval)
