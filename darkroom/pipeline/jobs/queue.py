"""The job queue as the database holds it: claims and leases, dead workers, counts, listings.

Any number of workers in any number of processes on any number of machines
share the one ``jobs`` table. A worker takes the most urgent (lowest
``priority``), then oldest, pending job:

- on PostgreSQL with ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the claiming
  ``UPDATE``: concurrent claimers skip each other's row instead of waiting for it;
- on SQLite (one process, one writer) with a compare-and-set ``UPDATE ... WHERE
  id = ? AND status = 'pending'``: the loser of a race sees no row updated.

A claim is a lease (``lease_expires_at``, in the database's clock) that the
worker's heartbeat renews while the job runs. Every write a worker makes about
its job is fenced by (``worker``, ``attempts``), so a worker whose lease expired
and whose job was taken again can no longer touch it. ``reap`` settles jobs
whose lease expired: requeued, or failed after ``MAX_ATTEMPTS`` claims (a job
that kills its worker must not kill them all), or cancelled if a person asked.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator, Optional

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from darkroom.db import Database, Job, Photo, QueueState, utcnow
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.status import ACTIVE_JOB, JobKind, JobStatus, PhotoStatus

log = logging.getLogger("darkroom.queue")

RUN_ORDER = (Job.priority, Job.created_at, Job.id)
MAX_ATTEMPTS = 3  # claims of a job whose worker keeps dying before it fails for good
CLAIM_TRIES = 3  # SKIP LOCKED may see no row while others commit theirs: look again
NEW_WORK = "darkroom_jobs"  # the PostgreSQL NOTIFY channel: a job became claimable


@dataclass(frozen=True)
class Claimed:
    """A job this worker now owns (its row is ``running``, leased to ``worker``)."""

    job_id: int
    photo_id: int
    kind: str
    preset: str
    params: dict
    worker: str
    attempts: int


@dataclass(frozen=True)
class Reaped:
    """A job whose worker stopped renewing its lease, and what became of it."""

    job_id: int
    photo_id: int
    kind: str
    outcome: str  # pending (requeued) | failed (too many attempts) | cancelled (asked for)
    attempts: int
    stage: Optional[str]


def _now(db: Database) -> Any:
    """The clock leases are measured in: the server's for PostgreSQL (machines' clocks
    differ), this process's for SQLite (one machine, and SQLite has no timezone-aware now)."""
    return utcnow() if db.is_sqlite else func.now()


def _lease_until(db: Database, lease: float) -> Any:
    return _now(db) + timedelta(seconds=lease)


def _claim_values(db: Database, worker: str, lease: float) -> dict:
    return dict(status=JobStatus.RUNNING, worker=worker, started_at=utcnow(), finished_at=None,
                stage=None, progress=0.0, attempts=Job.attempts + 1, error_message=None,
                error_details=None, cancel_requested=False,
                lease_expires_at=_lease_until(db, lease))


def claim(db: Database, worker: str, lease: float) -> Optional[Claimed]:
    """Take the most urgent, oldest pending job for ``lease`` seconds; None when there is none."""
    take = _claim_cas if db.is_sqlite else _claim_skip_locked
    return take(db, worker, lease)


def _claim_skip_locked(db: Database, worker: str, lease: float) -> Optional[Claimed]:
    for _ in range(CLAIM_TRIES):
        with db.write() as s:
            pick = (select(Job.id).where(Job.status == JobStatus.PENDING).order_by(*RUN_ORDER)
                    .limit(1).with_for_update(skip_locked=True).scalar_subquery())
            row = s.execute(
                update(Job).where(Job.id == pick, Job.status == JobStatus.PENDING)
                .values(**_claim_values(db, worker, lease))
                .returning(Job.id, Job.photo_id, Job.kind, Job.preset, Job.params, Job.attempts)
            ).first()
            if row is not None:
                if row.kind == JobKind.DEVELOP:
                    s.execute(update(Photo).where(Photo.id == row.photo_id)
                              .values(status=PhotoStatus.DEVELOPING))
                return Claimed(row.id, row.photo_id, row.kind, row.preset, dict(row.params or {}),
                               worker, row.attempts)
        with db.read() as s:  # none free, or all we saw were taken meanwhile?
            if s.scalar(select(func.count(Job.id)).where(Job.status == JobStatus.PENDING)) == 0:
                return None
    return None


def _claim_cas(db: Database, worker: str, lease: float) -> Optional[Claimed]:
    while True:
        with db.write() as s:
            job = s.scalars(select(Job).where(Job.status == JobStatus.PENDING)
                            .order_by(*RUN_ORDER).limit(1)).first()
            if job is None:
                return None
            attempts = job.attempts + 1  # (the UPDATE below refreshes ``job`` in the session)
            won = s.execute(
                update(Job).where(Job.id == job.id, Job.status == JobStatus.PENDING)
                .values(**_claim_values(db, worker, lease))
            ).rowcount
            if won != 1:
                continue
            if job.kind == JobKind.DEVELOP:
                s.execute(update(Photo).where(Photo.id == job.photo_id)
                          .values(status=PhotoStatus.DEVELOPING))
            return Claimed(job.id, job.photo_id, job.kind, job.preset, dict(job.params or {}),
                           worker, attempts)


def owned(worker: str, attempts: int):
    """The WHERE clause of a write about a job this worker still holds."""
    return (Job.worker == worker, Job.attempts == attempts, Job.status == JobStatus.RUNNING)


def heartbeat(db: Database, lease: float, running: dict[int, tuple[str, int, Optional[str], float]]
              ) -> tuple[set[int], set[int]]:
    """Renew the leases of ``running`` (job id -> worker, attempts, stage, progress) and store
    their progress; returns (jobs no longer ours, jobs a person asked to cancel)."""
    lost: set[int] = set()
    cancel: set[int] = set()
    if not running:
        return lost, cancel
    with db.write() as s:
        for job_id, (worker, attempts, stage, progress) in running.items():
            values: dict[str, Any] = {"lease_expires_at": _lease_until(db, lease)}
            if stage is not None:
                values.update(stage=stage, progress=progress)
            row = s.execute(update(Job).where(Job.id == job_id, *owned(worker, attempts))
                            .values(**values).returning(Job.cancel_requested)).first()
            if row is None:
                lost.add(job_id)
            elif row.cancel_requested:
                cancel.add(job_id)
    return lost, cancel


def request_cancel(db: Database, job_id: int) -> bool:
    """Mark a running job cancelled in its row, for whichever worker runs it."""
    with db.write() as s:
        return s.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                         .values(cancel_requested=True)).rowcount == 1


def reap(db: Database) -> list[Reaped]:
    """Settle the running jobs whose lease expired (their worker died or hangs)."""
    now = _now(db)
    out: list[Reaped] = []
    with db.write() as s:
        expired = s.execute(
            select(Job.id, Job.photo_id, Job.kind, Job.attempts, Job.stage, Job.cancel_requested)
            .where(Job.status == JobStatus.RUNNING,
                   or_(Job.lease_expires_at.is_(None), Job.lease_expires_at < now))
            .order_by(Job.id).with_for_update(skip_locked=True)).all()
        for job in expired:
            if job.cancel_requested:
                outcome, photo = JobStatus.CANCELLED, PhotoStatus.ANALYZED
            elif job.attempts >= MAX_ATTEMPTS:
                outcome, photo = JobStatus.FAILED, PhotoStatus.FAILED
            else:
                outcome, photo = JobStatus.PENDING, PhotoStatus.QUEUED
            values: dict[str, Any] = {"status": outcome, "lease_expires_at": None}
            if outcome == JobStatus.PENDING:
                values.update(stage=None, progress=0.0, worker=None)
            else:
                values["finished_at"] = utcnow()
            if outcome == JobStatus.FAILED:
                values.update(error_message=lost_message(job.attempts),
                              error_details=lost_details(job.kind, job.stage, job.attempts))
            s.execute(update(Job).where(Job.id == job.id).values(**values))
            if job.kind == JobKind.DEVELOP:
                photo_values: dict[str, Any] = {"status": photo}
                if outcome == JobStatus.FAILED:
                    photo_values["error"] = values["error_message"]
                s.execute(update(Photo).where(Photo.id == job.photo_id).values(**photo_values))
            out.append(Reaped(job.id, job.photo_id, job.kind, outcome, job.attempts, job.stage))
    return out


def lost_message(attempts: int) -> str:
    return f"its worker stopped {attempts} times while running it"


def lost_details(kind: str, stage: Optional[str], attempts: int) -> dict:
    return {"type": "WorkerLost", "stage": stage, "expected": False, "kind": kind,
            "attempts": attempts}


def notify(db: Database) -> None:
    """Tell every process listening on this database that a job became claimable."""
    with db.engine.connect() as conn:
        conn.execute(text(f"NOTIFY {NEW_WORK}"))
        conn.commit()


def notifications(db: Database, stop: threading.Event, poll: float = 1.0) -> Iterator[None]:
    """One item per ``NOTIFY`` of new work, until ``stop`` is set (PostgreSQL only), on a
    connection of its own, which never goes back to the pool (it stays LISTENing)."""
    raw = db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.rollback()
        conn.autocommit = True
        conn.execute(f"LISTEN {NEW_WORK}")
        while not stop.is_set():
            for _ in conn.notifies(timeout=poll):
                yield None
                if stop.is_set():  # a stop's own NOTIFY ends the wait at once
                    break
    finally:
        raw.invalidate()


def recover(db: Database) -> list[int]:
    """Put every job left running back to pending (and its photo back in the queue): for a
    database only this process uses (SQLite), where nothing else can be running them."""
    with db.write() as s:
        running = s.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
        for job in running:
            job.status, job.stage, job.progress, job.worker = JobStatus.PENDING, None, 0.0, None
            job.lease_expires_at = None
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


def is_paused(db: Database) -> bool:
    """Whether the queue is paused, for every worker sharing this database."""
    with db.read() as s:
        return bool(s.scalar(select(QueueState.paused).where(QueueState.id == 1)))


def set_paused(db: Database, paused: bool) -> None:
    """Pause or resume the queue of every process sharing this database."""
    with db.write() as s:
        s.execute(update(QueueState).where(QueueState.id == 1)
                  .values(paused=paused, changed_at=utcnow()))


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
