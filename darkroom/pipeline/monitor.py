"""The system monitor: ``system_status`` every ``config.monitor_interval`` seconds and
``resource_warning`` on sustained pressure that threatens the work.

- memory: used at or over ``memory_warning`` % for ``memory_warning_duration`` s;
- disk (the data directory's): at or over ``disk_warning`` % for
  ``disk_warning_duration`` s (0: at once; a full disk does not come and go);
- CPU: at or over ``cpu_warning`` % for ``cpu_warning_duration`` s (3 minutes)
  *and* a job running late: longer than ``job_late_factor`` times the median
  time of the last completed jobs of its kind. A busy import on a small
  machine saturates the CPU by design; that is load, not a warning.

Warnings have hysteresis: one event (and one log line, with its reason) when
the pressure is established, then nothing until the value has fallen
``hysteresis`` points below its threshold and risen again.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from datetime import timezone
from typing import TYPE_CHECKING, Optional

import psutil
from sqlalchemy import select

from darkroom.db import Job, iso, utcnow
from darkroom.periodic import Periodic
from darkroom.pipeline.jobs import queue
from darkroom.pipeline.reporter import report_error
from websocket_events import broadcast_resource_warning, broadcast_system_status

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.monitor")

HYSTERESIS = 5.0
RECENT_JOBS = 20  # completed jobs of a kind that make its usual time
MIN_HISTORY = 3  # fewer than this: no usual time, so no job counts as late
DEFAULT_DURATIONS = {"cpu": 180.0, "memory": 30.0, "disk": 0.0}


def _aware(value):
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def late_jobs(db, factor: float, now=None) -> list[dict]:
    """Running jobs that have taken more than ``factor`` times the usual time of their kind."""
    now = now or utcnow()
    with db.read() as s:
        running = s.execute(select(Job.id, Job.kind, Job.started_at)
                            .where(Job.status == "running", Job.started_at.is_not(None))).all()
        if not running:
            return []
        usual: dict[str, float] = {}
        for kind in {row.kind for row in running}:
            rows = s.execute(select(Job.started_at, Job.finished_at)
                             .where(Job.kind == kind, Job.status == "completed",
                                    Job.started_at.is_not(None), Job.finished_at.is_not(None))
                             .order_by(Job.finished_at.desc()).limit(RECENT_JOBS)).all()
            took = [(_aware(r.finished_at) - _aware(r.started_at)).total_seconds() for r in rows]
            if len(took) >= MIN_HISTORY:
                usual[kind] = max(statistics.median(took), 0.001)
    out = []
    for row in running:
        if row.kind not in usual:
            continue
        elapsed = (now - _aware(row.started_at)).total_seconds()
        if elapsed > factor * usual[row.kind]:
            out.append({"job_id": row.id, "kind": row.kind, "elapsed": elapsed, "usual": usual[row.kind]})
    return out


class Monitor(Periodic):
    def __init__(self, p: "Pipeline", interval: float, thresholds: dict[str, float]):
        interval = max(0.05, float(interval))
        # The first status soon after start (CPU needs a moment to measure), then every interval.
        super().__init__("monitor", interval, first=min(interval, 1.0))
        self.p = p
        self.thresholds = dict(thresholds)
        self.hysteresis = HYSTERESIS
        self.warning: dict[str, bool] = {k: False for k in self.thresholds}
        config = p.runtime.config
        self.durations = {key: float(getattr(config, f"{key}_warning_duration", default))
                          for key, default in DEFAULT_DURATIONS.items()}
        self.job_late_factor = float(getattr(config, "job_late_factor", 3.0))
        self.over_since: dict[str, float] = {}  # when each value last rose to its threshold
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
        now = time.monotonic()
        for resource, value in m["values"].items():
            threshold = self.thresholds.get(resource)
            if threshold is None:
                continue
            if value >= threshold:
                self.over_since.setdefault(resource, now)
            else:
                self.over_since.pop(resource, None)
            if not self.warning.get(resource) and value >= threshold:
                reason = self.pressure(resource, value, threshold, now - self.over_since[resource])
                if reason is None:
                    continue
                self.warning[resource] = True
                log.warning("resource warning: %s", reason,
                            extra={"resource": resource, "value": value, "threshold": threshold})
                broadcast_resource_warning(resource_type=resource, current_value=float(value),
                                           threshold=float(threshold), message=reason)
            elif self.warning.get(resource) and value < threshold - self.hysteresis:
                self.warning[resource] = False
                log.info("%s back below its threshold: %.1f%%", resource, value)
        return self.last

    def pressure(self, resource: str, value: float, threshold: float, held: float) -> Optional[str]:
        """Why ``resource`` at ``value`` for ``held`` seconds is a warning now, or None."""
        needed = self.durations.get(resource, 0.0)
        if held < needed:
            return None
        message = f"{resource} at {value:.1f}% (threshold {threshold:g}%)"
        if needed > 0:
            message += f" for {held:.0f} s"
        if resource == "cpu":
            late = late_jobs(self.p.db, self.job_late_factor)
            if not late:
                return None  # busy, but the work is keeping its pace
            worst = max(late, key=lambda j: j["elapsed"] / j["usual"])
            message += (f" while {len(late)} job(s) run late: job {worst['job_id']} ({worst['kind']}) "
                        f"{worst['elapsed']:.0f} s, {worst['elapsed'] / worst['usual']:.1f}x its usual "
                        f"{worst['usual']:.1f} s")
        return message
