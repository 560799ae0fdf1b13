"""The job queue as the database holds it: claiming, crash recovery, counts and listings.

Workers take the most urgent (lowest ``priority``), then oldest, pending job.
Claiming is a compare-and-set (``UPDATE ... WHERE id = ? AND status =
'pending'``), so two workers, two processes or two database connections can
never run the same job: the loser of a race sees no row updated and looks again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from darkroom.db import Database, Job, Photo, utcnow
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.status import ACTIVE_JOB, JobKind, JobStatus, PhotoStatus

log = logging.getLogger("darkroom.queue")

RUN_ORDER = (Job.priority, Job.created_at, Job.id)


@dataclass(frozen=True)
class Claimed:
    """A job this worker now owns (its row is ``running``)."""

    job_id: int
    photo_id: int
    kind: str
    preset: str
    params: dict


def claim(db: Database, worker: str) -> Optional[Claimed]:
    """Atomically take the most urgent, oldest pending job; None when there is none."""
    while True:
        with db.write() as s:
            job = s.scalars(select(Job).where(Job.status == JobStatus.PENDING)
                            .order_by(*RUN_ORDER).limit(1)).first()
            if job is None:
                return None
            won = s.execute(
                update(Job).where(Job.id == job.id, Job.status == JobStatus.PENDING)
                .values(status=JobStatus.RUNNING, worker=worker, started_at=utcnow(),
                        finished_at=None, stage=None, progress=0.0,
                        attempts=Job.attempts + 1, error_message=None, error_details=None)
            ).rowcount
            if won != 1:
                continue
            if job.kind == JobKind.DEVELOP:
                s.execute(update(Photo).where(Photo.id == job.photo_id)
                          .values(status=PhotoStatus.DEVELOPING))
            return Claimed(job.id, job.photo_id, job.kind, job.preset, dict(job.params or {}))


def recover(db: Database) -> list[int]:
    """Put jobs a crash left running back to pending (and their photos back in the queue)."""
    with db.write() as s:
        running = s.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
        for job in running:
            job.status, job.stage, job.progress, job.worker = JobStatus.PENDING, None, 0.0, None
            if job.kind == JobKind.DEVELOP:
                s.execute(update(Photo).where(Photo.id == job.photo_id)
                          .values(status=PhotoStatus.QUEUED))
    return [job.id for job in running]


def counts(db: Database) -> dict[str, int]:
    """Jobs by status, ``running`` reported as ``processing`` (the name ``queue_status`` uses)."""
    with db.read() as s:
        rows = s.execute(select(Job.status, func.count(Job.id)).group_by(Job.status)).all()
    by_status = {status: int(n) for status, n in rows}
    return {"pending": by_status.get(JobStatus.PENDING, 0),
            "processing": by_status.get(JobStatus.RUNNING, 0),
            "completed": by_status.get(JobStatus.COMPLETED, 0),
            "failed": by_status.get(JobStatus.FAILED, 0),
            "cancelled": by_status.get(JobStatus.CANCELLED, 0)}


def get(s: Session, job_id: int) -> Job:
    job = s.get(Job, job_id)
    if job is None:
        raise PipelineError(404, "job_not_found", f"no job {job_id}")
    return job


def active_develop_job(s: Session, photo_id: int) -> Optional[int]:
    """The id of the photo's develop job that is waiting or running, if any."""
    return s.scalar(select(Job.id).where(Job.photo_id == photo_id, Job.kind == JobKind.DEVELOP,
                                         Job.status.in_(ACTIVE_JOB)))


def find(s: Session, status: Optional[str] = None, kind: Optional[str] = None,
         photo_id: Optional[int] = None, session_id: Optional[int] = None,
         limit: int = 500) -> list[Job]:
    """Jobs matching every filter given, in the order workers take them."""
    q = select(Job)
    if status:
        q = q.where(Job.status == status)
    if kind:
        q = q.where(Job.kind == kind)
    if photo_id is not None:
        q = q.where(Job.photo_id == photo_id)
    if session_id is not None:
        q = q.where(Job.session_id == session_id)
    return list(s.scalars(q.order_by(*RUN_ORDER).limit(limit)))

