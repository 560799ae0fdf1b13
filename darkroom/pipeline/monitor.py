"""The system monitor: ``system_status`` every ``config.monitor_interval`` seconds and
``resource_warning`` when CPU, memory or disk crosses its threshold.

Warnings have hysteresis: one event when a value rises to its threshold,
then nothing until it has fallen ``hysteresis`` points below it and risen
again, so a value hovering at the limit does not warn on every tick.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Optional

import psutil

from darkroom.db import iso, utcnow
from darkroom.periodic import Periodic
from darkroom.pipeline.jobs import queue
from darkroom.pipeline.reporter import report_error
from websocket_events import broadcast_resource_warning, broadcast_system_status

if TYPE_CHECKING:
    from darkroom.pipeline import Pipeline

log = logging.getLogger("darkroom.monitor")

HYSTERESIS = 5.0


class Monitor(Periodic):
    def __init__(self, p: "Pipeline", interval: float, thresholds: dict[str, float]):
        interval = max(0.05, float(interval))
        # The first status soon after start (CPU needs a moment to measure), then every interval.
        super().__init__("monitor", interval, first=min(interval, 1.0))
        self.p = p
        self.thresholds = dict(thresholds)
        self.hysteresis = HYSTERESIS
        self.warning: dict[str, bool] = {k: False for k in self.thresholds}
        self.last: Optional[dict] = None
        self._started = time.monotonic()

    def start(self) -> None:
        psutil.cpu_percent(None)  # prime: the first call measures from here
        super().start()

    def failed(self, exc: Exception) -> None:
        report_error(exc, "monitor")

    def measure(self) -> dict:
        """The current status (also served by ``GET /api/system`` before the first tick)."""
        mem = psutil.virtual_memory()
        disk = psutil.disk_usage(str(self.p.data_dir))
        counts = queue.counts(self.p.db)
        hub = self.p.runtime.hub
        details = {
            "cpu_percent": round(psutil.cpu_percent(None), 1),
            "cpu_count": psutil.cpu_count() or 1,
            "memory_percent": round(mem.percent, 1),
            "memory_used_mb": round((mem.total - mem.available) / 2**20, 1),
            "memory_total_mb": round(mem.total / 2**20, 1),
            "disk_percent": round(disk.percent, 1),
            "disk_free_gb": round(disk.free / 2**30, 2),
            "disk_path": str(self.p.data_dir),
            "active_jobs": counts["processing"],
            "queue": counts,
            "workers": self.p.workers.size,
            "queue_paused": self.p.workers.paused,
            "imports_pending": self.p.imports.pending(),
            "connected_clients": hub.client_count(),
            "uptime_seconds": round(time.monotonic() - self._started, 1),
            "pid": os.getpid(),
            "measured_at": iso(utcnow()),
        }
        values = {"cpu": details["cpu_percent"], "memory": details["memory_percent"],
                  "disk": details["disk_percent"]}
        over = [k for k, v in values.items() if v >= self.thresholds.get(k, 101)]
        return {"status": "warning" if over else "ok", "details": details, "values": values}

    def tick(self) -> dict:
        m = self.measure()
        self.last = {"status": m["status"], "details": m["details"]}
        broadcast_system_status(status=m["status"], details=m["details"])
        for resource, value in m["values"].items():
            threshold = self.thresholds.get(resource)
            if threshold is None:
                continue
            if not self.warning[resource] and value >= threshold:
                self.warning[resource] = True
                message = f"{resource} at {value:.1f}% (threshold {threshold:g}%)"
                log.warning("resource warning: %s", message)
                broadcast_resource_warning(resource_type=resource, current_value=float(value),
                                           threshold=float(threshold), message=message)
            elif self.warning[resource] and value < threshold - self.hysteresis:
                self.warning[resource] = False
                log.info("%s back below its threshold: %.1f%%", resource, value)
        return self.last
