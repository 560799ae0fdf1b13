"""How long the job queue and each session's jobs still need, from the jobs already done.

A kind's usual time is the median total of its last ``RECENT`` completed jobs (the timings
a worker records in every result: ``result.timings.total``, or the sum of its stages). The
waiting jobs are then laid out on the workers the way the pool runs them: running jobs keep
their worker for what is left of them (the usual time times the share of progress still
to go), then pending jobs in claim order (priority, age, id), each on the first worker to
be free. The queue is done when the last job ends; a session when its last job ends.

The workers are this process's pool, or as many as there are running jobs when more (other
processes' workers). A job of a kind with no history yet has no duration: it and every job
after it in claim order (which start no earlier) are unknown, so the queue's ``seconds`` and
those sessions' are None; sessions whose jobs all come before it keep their estimate.
"""

from __future__ import annotations

import heapq
import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional

from sqlalchemy import select

from darkroom.db import Job
from darkroom.pipeline.jobs.queue import RUN_ORDER
from darkroom.pipeline.status import ACTIVE_JOB, JobKind, JobStatus

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

RECENT = 20


@dataclass(frozen=True)
class Waiting:
    """A job still to finish: ``done`` is the share (0-1) of it already run."""

    kind: str
    session_id: int
    done: float = 0.0


def job_seconds(result: Any) -> Optional[float]:
    """A completed job's duration from its recorded timings (None when it has none)."""
    timings = result.get("timings") if isinstance(result, dict) else None
    if not isinstance(timings, dict):
        return None
    total = timings.get("total")
    if not _seconds(total):
        stages = [v for v in timings.values() if _seconds(v)]
        total = sum(stages) if stages else None
    return float(total) if _seconds(total) else None


def _seconds(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) and value >= 0


def usual(results_by_kind: dict[str, Iterable[Any]]) -> dict[str, float]:
    """kind -> the median duration of the results given (kinds without one are left out)."""
    out = {}
    for kind, results in results_by_kind.items():
        took = [t for t in (job_seconds(r) for r in results) if t is not None]
        if took:
            out[kind] = statistics.median(took)
    return out


def schedule(jobs: Iterable[Waiting], durations: dict[str, float], workers: int) -> dict:
    """Lay ``jobs`` (running first, then pending, each in claim order) on ``workers``:
    ``{"seconds", "remaining", "sessions": {"<id>": {"seconds", "remaining"}}}``."""
    free = [0.0] * max(1, workers)
    end = 0.0
    blind = False
    sessions: dict[int, dict] = {}
    for job in jobs:
        entry = sessions.setdefault(job.session_id, {"seconds": 0.0, "remaining": 0})
        entry["remaining"] += 1
        blind = blind or job.kind not in durations
        if blind:
            entry["seconds"] = None
            continue
        start = heapq.heappop(free)
        finish = start + durations[job.kind] * (1.0 - min(1.0, max(0.0, job.done)))
        heapq.heappush(free, finish)
        end = max(end, finish)
        if entry["seconds"] is not None:
            entry["seconds"] = max(entry["seconds"], finish)
    for entry in sessions.values():
        entry["seconds"] = None if entry["seconds"] is None else round(entry["seconds"], 1)
    return {"seconds": None if blind else round(end, 1),
            "remaining": sum(e["remaining"] for e in sessions.values()),
            "sessions": {str(k): v for k, v in sorted(sessions.items())}}


def estimate(p: "Pipeline") -> dict:
    """The queue's ETA now (see ``schedule``), from the database and the live progress."""
    with p.db.read() as s:
        history = {kind: s.scalars(
            select(Job.result).where(Job.kind == kind, Job.status == JobStatus.COMPLETED)
            .order_by(Job.finished_at.desc(), Job.id.desc()).limit(RECENT)).all()
            for kind in JobKind}
        active = s.execute(select(Job.id, Job.kind, Job.session_id, Job.status, Job.progress)
                           .where(Job.status.in_(ACTIVE_JOB)).order_by(*RUN_ORDER)).all()
    live = dict(p.workers.live)

    def waiting(row) -> Waiting:
        progress = live.get(row.id, {}).get("progress", row.progress) or 0.0
        return Waiting(row.kind, row.session_id, progress / 100.0)

    running = [waiting(r) for r in active if r.status == JobStatus.RUNNING]
    pending = [Waiting(r.kind, r.session_id) for r in active if r.status == JobStatus.PENDING]
    # Every running job holds a worker: with worker processes elsewhere (``--workers 0``
    # here) they show at least that many.
    workers = max(p.workers.size, len(running), 1)
    return schedule([*running, *pending], usual(history), workers)
