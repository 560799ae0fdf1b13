"""A job's state transitions asked for by people: create, change priority, cancel, retry.

Each checks its rules, changes the rows in one transaction and sends the
events every client needs; the HTTP views only parse, call and serialise. The
transitions a worker makes while running a job (started, finished, failed)
are in ``workers``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

from sqlalchemy import update

from darkroom.db import Job, Photo, utcnow
from darkroom.pipeline import approval, sessions
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.jobs import queue
from darkroom.pipeline.status import ACTIVE_JOB, RETRYABLE_JOB, JobKind, JobStatus, PhotoStatus
from websocket_events import (
    broadcast_approval_queue_updated,
    broadcast_job_created,
    broadcast_job_failed,
    broadcast_priority_changed,
)

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.jobs")

USER_PRIORITY = 3  # asked for by a person: ahead of the automatic ones
AUTO_PRIORITY = 5  # queued by the importer


def create(p: "Pipeline", photo_id: int, priority: int, preset: str,
           kind: str = JobKind.DEVELOP, params: Optional[dict] = None) -> Job:
    """Insert a pending job, send ``job_created`` and wake a worker."""
    with p.db.write() as s:
        photo = s.get(Photo, photo_id)
        job = Job(kind=kind, photo_id=photo_id, session_id=photo.session_id, priority=priority,
                  preset=preset, params=params or {})
        s.add(job)
        left_approval = kind == JobKind.DEVELOP and photo.status == PhotoStatus.DEVELOPED
        if kind == JobKind.DEVELOP:
            photo.status = PhotoStatus.QUEUED
            photo.preset = preset
        s.flush()
    broadcast_job_created(job_id=job.id, photo_id=photo_id, priority=priority, preset=preset,
                          session_id=job.session_id)
    if left_approval:  # developed again: it waits for the new render, not for a decision
        broadcast_approval_queue_updated(queue_count=p.approval_count(job.session_id),
                                         session_id=job.session_id)
    p.queue.changed()
    p.workers.wake()
    return job


def develop(p: "Pipeline", photo_id: int, priority: int = USER_PRIORITY,
            preset: Optional[str] = None) -> Job:
    """A develop job asked for by a person: the photo must be analysed and idle. A decided
    photo is developed again too: its decision is undone first (``approval.undo``), since
    it was about the render this job replaces."""
    with p.db.read() as s:
        photo = s.get(Photo, photo_id)
        if photo is None:
            raise PipelineError(404, "photo_not_found", f"no photo {photo_id}")
        decided = photo.decision is not None
        if photo.status == PhotoStatus.IMPORTED or (photo.preset is None and preset is None):
            raise PipelineError(409, "not_analyzed", f"photo {photo_id} has not been analysed")
        active = queue.active_develop_job(s, photo_id)
        if active is not None:
            raise PipelineError(409, "job_active", f"photo {photo_id} already has job {active} "
                                "waiting or running", job_id=active)
        preset = preset or photo.preset
    if p.presets.get(preset) is None:
        raise PipelineError(400, "unknown_preset", f"no preset named '{preset}'")
    if decided:
        try:
            approval.undo(p, photo_id)
        except PipelineError as exc:
            if exc.code != "not_decided":  # undone meanwhile by someone else: as good
                raise
    return create(p, photo_id, priority, preset)


def change_priority(p: "Pipeline", job_id: int, priority: int, reason: str) -> tuple[Job, int]:
    """Reprioritise a pending job; ``priority_changed`` when it moved. Returns (job, old)."""
    with p.db.write() as s:
        job = queue.get(s, job_id)
        if job.status != JobStatus.PENDING:
            raise PipelineError(409, "job_not_pending", f"job {job_id} is {job.status}; only "
                                "pending jobs can be reprioritised")
        old = job.priority
        job.priority = priority
    if old != priority:
        log.info("job %d priority %d -> %d (%s)", job_id, old, priority, reason)
        broadcast_priority_changed(job_id=job_id, old_priority=old, new_priority=priority,
                                   reason=reason)
    return job, old


def cancel(p: "Pipeline", job_id: int) -> str:
    """Cancel a job: a pending one at once (``cancelled``), a running one at its next
    progress step (``cancelling``; its worker announces the end)."""
    with p.db.write() as s:
        job = queue.get(s, job_id)
        if job.status not in ACTIVE_JOB:
            raise PipelineError(409, "job_finished", f"job {job_id} is already {job.status}")
        won = job.status == JobStatus.PENDING and s.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.PENDING)
            .values(status=JobStatus.CANCELLED, finished_at=utcnow())).rowcount == 1
        if won and job.kind == JobKind.DEVELOP:
            s.execute(update(Photo).where(Photo.id == job.photo_id)
                      .values(status=PhotoStatus.ANALYZED))
    if not won:
        p.workers.cancel_requests.add(job_id)
        log.info("job %d cancelling", job_id)
        return "cancelling"
    p.queue.changed()
    announce_cancelled(job_id, job.photo_id, job.kind)
    p.workers.cancelled_before_start(job)
    log.info("job %d cancelled", job_id)
    return JobStatus.CANCELLED


def retry(p: "Pipeline", job_id: int) -> Job:
    """Send a failed or cancelled job back to the queue (a develop job only while its photo
    is undecided and has no other job)."""
    with p.db.write() as s:
        job = queue.get(s, job_id)
        if job.status not in RETRYABLE_JOB:
            raise PipelineError(409, "job_not_retryable", f"job {job_id} is {job.status}; only "
                                "failed or cancelled jobs retry")
        photo = s.get(Photo, job.photo_id)
        if job.kind == JobKind.DEVELOP:
            if photo.decision is not None:
                raise PipelineError(409, "already_decided",
                                    f"photo {photo.id} is already decided")
            active = queue.active_develop_job(s, job.photo_id)
            if active is not None:
                raise PipelineError(409, "job_active", f"photo {photo.id} already has job {active}")
            photo.status, photo.error = PhotoStatus.QUEUED, None
        job.status, job.stage, job.progress, job.finished_at = JobStatus.PENDING, None, 0.0, None
        job.error_message, job.error_details = None, None
        session_id = photo.session_id
    log.info("job %d retried", job_id)
    announce_requeued(job)
    p.queue.changed()
    p.workers.wake()
    if job.kind == JobKind.DEVELOP:
        sessions.emit_updated(p, session_id)
    return job


def announce_cancelled(job_id: int, photo_id: int, kind: str) -> None:
    """A cancelled job ends for every client as a ``job_failed`` marked ``cancelled``."""
    broadcast_job_failed(job_id=job_id, photo_id=photo_id, error_message="cancelled by user",
                         error_details={"cancelled": True, "kind": kind})


def announce_requeued(job: Job) -> None:
    """A retried job enters the queue again: every client sees ``job_created`` once more."""
    broadcast_job_created(job_id=job.id, photo_id=job.photo_id, priority=job.priority,
                          preset=job.preset, session_id=job.session_id)
