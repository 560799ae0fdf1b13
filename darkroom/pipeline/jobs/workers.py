"""The worker pool: threads that claim jobs, run them, and record how each one ended.

A job's runner (develop, export) reports progress through its ``JobContext``,
which is also where a cancellation or a shutdown stops it. At start, jobs left
``running`` by a crash go back to ``pending``; a job interrupted by a clean
stop is put back to ``pending`` too.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from sqlalchemy import select, update

from darkroom.db import Job, Photo, utcnow
from darkroom.pipeline import sessions
from darkroom.pipeline.jobs import queue
from darkroom.pipeline.jobs.lifecycle import announce_cancelled
from darkroom.pipeline.media.decode import ImageError
from darkroom.pipeline.reporter import describe, report_error
from darkroom.pipeline.status import JobKind, JobStatus, PhotoStatus
from websocket_events import (
    broadcast_approval_queue_updated,
    broadcast_job_completed,
    broadcast_job_failed,
    broadcast_job_progress,
    broadcast_job_started,
)

if TYPE_CHECKING:
    from darkroom.pipeline import Pipeline

log = logging.getLogger("darkroom.jobs")


class JobError(Exception):
    """An expected failure of a job (unreadable source, missing preset...): job_failed only."""


class JobCancelled(Exception):
    """The job was cancelled by a person while running."""


class JobInterrupted(Exception):
    """The worker pool is stopping; the job goes back to pending."""


Runner = Callable[["JobContext"], dict]
OnCancelled = Callable[["Pipeline", Job], None]


@dataclass
class JobContext:
    """What a running job needs: its row's data, progress reporting, cancellation checks."""

    pool: "WorkerPool"
    job_id: int
    photo_id: int
    kind: str
    preset: str
    params: dict
    stage: Optional[str] = None
    timings: dict[str, float] = field(default_factory=dict)
    _stage_started: float = 0.0

    def check(self) -> None:
        if self.job_id in self.pool.cancel_requests:
            raise JobCancelled()
        if self.pool.stopping.is_set():
            raise JobInterrupted()

    def progress(self, stage: str, percent: float, message: str = "") -> None:
        """Report real progress: a new stage is recorded in the database and timed."""
        self.check()
        now = time.monotonic()
        if stage != self.stage:
            if self.stage is not None:
                self.timings[self.stage] = round(now - self._stage_started, 4)
            self.stage, self._stage_started = stage, now
            with self.pool.p.db.write() as s:
                s.execute(update(Job).where(Job.id == self.job_id)
                          .values(stage=stage, progress=round(percent, 2)))
        percent = round(min(100.0, max(0.0, percent)), 2)
        self.pool.live[self.job_id] = {"stage": stage, "progress": percent}
        broadcast_job_progress(job_id=self.job_id, stage=stage, progress=percent,
                               message=message, photo_id=self.photo_id)

    def finish_timings(self) -> dict[str, float]:
        if self.stage is not None:
            self.timings[self.stage] = round(time.monotonic() - self._stage_started, 4)
        return dict(self.timings)


class WorkerPool:
    """``size`` threads that run jobs until the app stops."""

    def __init__(self, p: "Pipeline", size: int):
        self.p = p
        self.size = max(1, int(size))
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self.paused = False
        self.cancel_requests: set[int] = set()
        self.live: dict[int, dict] = {}
        self._wake = threading.Condition()
        self._kicked = False
        self._runners: dict[str, Runner] = {}
        self._on_cancelled: dict[str, OnCancelled] = {}

    def register(self, kind: str, runner: Runner,
                 on_cancelled: Optional[OnCancelled] = None) -> None:
        """``runner`` does the work of jobs of ``kind``; ``on_cancelled`` tidies up after one
        cancelled before it started."""
        self._runners[kind] = runner
        if on_cancelled is not None:
            self._on_cancelled[kind] = on_cancelled

    def cancelled_before_start(self, job: Job) -> None:
        hook = self._on_cancelled.get(job.kind)
        if hook is not None:
            hook(self.p, job)

    def recover(self) -> int:
        """Put jobs a crash left running back to pending; how many there were."""
        requeued = queue.recover(self.p.db)
        if requeued:
            log.warning("requeued %d job(s) interrupted by a crash: %s", len(requeued), requeued)
        return len(requeued)

    def start(self) -> None:
        self.recover()
        self.p.queue.changed()
        for i in range(self.size):
            t = threading.Thread(target=self._loop, name=f"darkroom-worker-{i + 1}", daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self) -> None:
        self.stopping.set()
        self.wake()
        deadline = time.monotonic() + 1.5
        for t in self.threads:
            t.join(timeout=max(0.05, deadline - time.monotonic()))

    def wake(self) -> None:
        with self._wake:
            self._kicked = True
            self._wake.notify_all()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.wake()

    def _loop(self) -> None:
        name = threading.current_thread().name
        while not self.stopping.is_set():
            job = None
            if not self.paused:
                try:
                    job = self.claim(name)
                except Exception as exc:
                    report_error(exc, "claim")
            if job is None:
                with self._wake:
                    # A wake() since the claim means new work: look again at once.
                    if not self._kicked and not self.stopping.is_set():
                        self._wake.wait(timeout=1.0)
                    self._kicked = False
                continue
            try:
                self.run(job)
            except Exception as exc:  # the worker must survive anything to take the next job
                report_error(exc, "worker", job_id=job.job_id, photo_id=job.photo_id)

    def claim(self, worker: str) -> Optional[JobContext]:
        """Take the most urgent, oldest pending job (see ``queue.claim``)."""
        job = queue.claim(self.p.db, worker)
        if job is None:
            return None
        return JobContext(self, job.job_id, job.photo_id, job.kind, job.preset, job.params)

    def run(self, ctx: JobContext) -> None:
        log.info("job %d (%s photo %d, preset %s) started", ctx.job_id, ctx.kind, ctx.photo_id,
                 ctx.preset)
        broadcast_job_started(job_id=ctx.job_id, photo_id=ctx.photo_id)
        self.p.queue.changed()
        started = time.monotonic()
        try:
            result = self._runners[ctx.kind](ctx)
        except JobInterrupted:
            self._finish(ctx, JobStatus.PENDING, photo_status=PhotoStatus.QUEUED)
            log.info("job %d interrupted by shutdown; back to pending", ctx.job_id)
        except JobCancelled:
            self._finish(ctx, JobStatus.CANCELLED, photo_status=PhotoStatus.ANALYZED)
            announce_cancelled(ctx.job_id, ctx.photo_id, ctx.kind)
            log.info("job %d cancelled while running", ctx.job_id)
        except (JobError, ImageError) as exc:
            self._failed(ctx, exc, expected=True)
        except Exception as exc:
            report_error(exc, f"{ctx.kind} job", job_id=ctx.job_id, photo_id=ctx.photo_id)
            self._failed(ctx, exc, expected=False)
        else:
            result.setdefault("timings", {})["total"] = round(time.monotonic() - started, 4)
            self._finish(ctx, JobStatus.COMPLETED, result=result)
            broadcast_job_completed(job_id=ctx.job_id, photo_id=ctx.photo_id, result=result)
            log.info("job %d completed in %.2fs", ctx.job_id, result["timings"]["total"])
            if ctx.kind == JobKind.DEVELOP:
                self._after_develop(ctx)
        finally:
            self.cancel_requests.discard(ctx.job_id)
            self.live.pop(ctx.job_id, None)
            self.p.queue.changed()

    def _finish(self, ctx: JobContext, status: JobStatus, result: Optional[dict] = None,
                error: Optional[str] = None, details: Optional[dict] = None,
                photo_status: Optional[PhotoStatus] = None) -> None:
        with self.p.db.write() as s:
            values: dict[str, Any] = {"status": status, "result": result,
                                      "error_message": error, "error_details": details}
            if status == JobStatus.PENDING:
                values.update(stage=None, progress=0.0, worker=None)
            else:
                values["finished_at"] = utcnow()
                if status == JobStatus.COMPLETED:
                    values["progress"] = 100.0
            s.execute(update(Job).where(Job.id == ctx.job_id).values(**values))
            if ctx.kind == JobKind.DEVELOP:
                photo_values: dict[str, Any] = {}
                if status == JobStatus.COMPLETED:
                    photo_values = {"status": PhotoStatus.DEVELOPED, "error": None,
                                    "preset": ctx.preset,
                                    "developed_path": result["developed_path"],
                                    "developed_preview_path": result["preview_path"],
                                    "developed_thumbnail_path": result["thumbnail_path"]}
                elif status == JobStatus.FAILED:
                    photo_values = {"status": PhotoStatus.FAILED, "error": error}
                elif photo_status:
                    photo_values = {"status": photo_status}
                if photo_values:
                    s.execute(update(Photo).where(Photo.id == ctx.photo_id).values(**photo_values))

    def _failed(self, ctx: JobContext, exc: Exception, expected: bool) -> None:
        message = describe(exc)
        details = {"type": type(exc).__name__, "stage": ctx.stage, "expected": expected,
                   "kind": ctx.kind}
        with self.p.db.read() as s:
            details["attempts"] = s.scalar(select(Job.attempts).where(Job.id == ctx.job_id))
        self._finish(ctx, JobStatus.FAILED, error=message, details=details)
        log.warning("job %d failed at %s: %s", ctx.job_id, ctx.stage, message)
        broadcast_job_failed(job_id=ctx.job_id, photo_id=ctx.photo_id, error_message=message,
                             error_details=details)
        if ctx.kind == JobKind.DEVELOP:
            self._after_develop(ctx)

    def _after_develop(self, ctx: JobContext) -> None:
        """The photo finished (developed or failed): session progress and approval queue."""
        try:
            with self.p.db.read() as s:
                photo = s.get(Photo, ctx.photo_id)
                session_id = photo.session_id
                developed = photo.status == PhotoStatus.DEVELOPED
            sessions.emit_updated(self.p, session_id)
            if developed:
                broadcast_approval_queue_updated(queue_count=self.p.approval_count(session_id),
                                                 session_id=session_id)
        except Exception as exc:
            report_error(exc, "after develop", job_id=ctx.job_id, photo_id=ctx.photo_id)
