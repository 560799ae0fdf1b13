"""The worker pool: threads that claim jobs, run them, and record how each one ended.

A job's runner (develop, export) reports progress through its ``JobContext``,
which is also where a cancellation, a shutdown or a lost lease stops it. While
jobs run, the pool's heartbeat thread renews their leases (``queue.heartbeat``),
stores their progress for every process to read, and picks up cancellations
asked for in any process. A job interrupted by a clean stop is put back to
``pending``. Jobs a crash left ``running`` go back to ``pending`` at the next
start on SQLite (one process owns the database), and through the ``Reaper``
once their lease expires when several processes share it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from sqlalchemy import update

from darkroom.db import Job, Photo, utcnow
from darkroom.periodic import Periodic
from darkroom.pipeline import sessions
from darkroom.pipeline.jobs import queue
from darkroom.pipeline.jobs.lifecycle import announce_cancelled, announce_requeued
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
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.jobs")


class JobError(Exception):
    """An expected failure of a job (unreadable source, missing preset...): job_failed only."""


class JobCancelled(Exception):
    """The job was cancelled by a person while running."""


class JobInterrupted(Exception):
    """The worker pool is stopping; the job goes back to pending."""


class JobLost(JobInterrupted):
    """The job's lease expired and the reaper took it back: it is no longer this worker's
    to finish (another may be running it), so the worker drops it without a word."""


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
    worker: str
    attempts: int
    stage: Optional[str] = None
    percent: float = 0.0
    lost: bool = False  # the heartbeat found the lease taken back (see JobLost)
    cancelled: bool = False  # the heartbeat found a cancel asked for in another process
    timings: dict[str, float] = field(default_factory=dict)
    _stage_started: float = 0.0

    def check(self) -> None:
        if self.lost:
            raise JobLost()
        if self.cancelled or self.job_id in self.pool.cancel_requests:
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
                s.execute(update(Job).where(Job.id == self.job_id,
                                            *queue.owned(self.worker, self.attempts))
                          .values(stage=stage, progress=round(percent, 2)))
        percent = round(min(100.0, max(0.0, percent)), 2)
        self.percent = percent
        self.pool.live[self.job_id] = {"stage": stage, "progress": percent}
        broadcast_job_progress(job_id=self.job_id, stage=stage, progress=percent,
                               message=message, photo_id=self.photo_id)

    def finish_timings(self) -> dict[str, float]:
        if self.stage is not None:
            self.timings[self.stage] = round(time.monotonic() - self._stage_started, 4)
        return dict(self.timings)


class CancelRequests:
    """Running jobs a person cancelled. ``add`` also marks the job's row, so the worker
    running it sees it at its next heartbeat in whichever process it runs."""

    def __init__(self, pool: "WorkerPool"):
        self.pool = pool
        self._ids: set[int] = set()

    def add(self, job_id: int) -> None:
        self._ids.add(job_id)
        queue.request_cancel(self.pool.p.db, job_id)

    def discard(self, job_id: int) -> None:
        self._ids.discard(job_id)

    def __contains__(self, job_id: int) -> bool:
        return job_id in self._ids


def worker_prefix() -> str:
    """This process among every machine's workers (the ``worker`` column, up to 60 chars)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class WorkerPool:
    """``size`` threads that run jobs until the app stops (0: this process runs none)."""

    def __init__(self, p: "Pipeline", size: int, lease: float):
        self.p = p
        self.size = max(0, int(size))
        self.lease = float(lease)
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self.cancel_requests = CancelRequests(self)
        self.live: dict[int, dict] = {}
        self.running: dict[int, JobContext] = {}
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
        """On SQLite, put jobs a crash left running back to pending; how many there were.
        (A shared database leaves that to the ``Reaper``: other processes' jobs run.)"""
        if not self.p.db.is_sqlite:
            return 0
        requeued = queue.recover(self.p.db)
        if requeued:
            log.warning("requeued %d job(s) interrupted by a crash: %s", len(requeued), requeued)
        return len(requeued)

    @property
    def heartbeat_interval(self) -> float:
        """Three beats per lease, and at least one every 2 s: a cancel asked for in another
        process stops the job within that."""
        return max(0.05, min(self.lease / 3, 2.0))

    def start(self) -> None:
        self.recover()
        self.p.queue.changed()
        prefix = worker_prefix()
        for i in range(self.size):
            t = threading.Thread(target=self._loop, args=(f"{prefix}:{i + 1}",),
                                 name=f"darkroom-worker-{i + 1}", daemon=True)
            t.start()
            self.threads.append(t)
        if self.size:
            helpers = [(self._heartbeat, "darkroom-heartbeat")]
            if not self.p.db.is_sqlite:
                helpers.append((self._listen, "darkroom-job-listener"))
            for target, name in helpers:
                t = threading.Thread(target=target, name=name, daemon=True)
                t.start()
                self.threads.append(t)

    def stop(self) -> None:
        self.stopping.set()
        self.wake()  # on PostgreSQL the NOTIFY also ends the listener's wait at once
        deadline = time.monotonic() + 1.5
        for t in self.threads:
            t.join(timeout=max(0.05, deadline - time.monotonic()))

    def _heartbeat(self) -> None:
        while not self.stopping.wait(self.heartbeat_interval):
            contexts = list(self.running.values())
            running = {c.job_id: (c.worker, c.attempts, c.stage, c.percent) for c in contexts}
            try:
                lost, cancel = queue.heartbeat(self.p.db, self.lease, running)
            except Exception as exc:  # the next beat tries again; the lease has slack for it
                report_error(exc, "heartbeat")
                continue
            for ctx in contexts:
                if self.running.get(ctx.job_id) is not ctx:
                    continue  # it ended meanwhile (its row is no longer running: not lost)
                if ctx.job_id in lost:
                    ctx.lost = True
                elif ctx.job_id in cancel:
                    ctx.cancelled = True

    def wake(self) -> None:
        """New work: this process's idle workers look at once, and on PostgreSQL every other
        process's too (``NOTIFY``; without it they would find it at their next poll)."""
        self._wake_here()
        if not self.p.db.is_sqlite:
            try:
                queue.notify(self.p.db)
            except Exception as exc:
                log.warning("could not notify the other workers of new work: %s", exc)

    def _wake_here(self) -> None:
        with self._wake:
            self._kicked = True
            self._wake.notify_all()

    def _listen(self) -> None:
        """Wake this process's workers on every ``NOTIFY`` of new work, reconnecting as needed."""
        while not self.stopping.is_set():
            try:
                for _ in queue.notifications(self.p.db, self.stopping):
                    self._wake_here()
            except Exception as exc:
                log.warning("job notifications interrupted (polling meanwhile): %s", exc)
                self.stopping.wait(1.0)

    @property
    def paused(self) -> bool:
        """The queue's pause, as the database holds it for every process."""
        return queue.is_paused(self.p.db)

    def pause(self) -> None:
        queue.set_paused(self.p.db, True)
        self.p.queue.changed()  # every screen shows it (queue_status)

    def resume(self) -> None:
        queue.set_paused(self.p.db, False)
        self.p.queue.changed()
        self.wake()  # on PostgreSQL the NOTIFY wakes the other processes' workers too

    def _loop(self, name: str) -> None:
        while not self.stopping.is_set():
            job = None
            try:
                if not self.paused:
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
        job = queue.claim(self.p.db, worker, self.lease)
        if job is None:
            return None
        ctx = JobContext(self, job.job_id, job.photo_id, job.kind, job.preset, job.params,
                         job.worker, job.attempts)
        self.running[ctx.job_id] = ctx
        return ctx

    def run(self, ctx: JobContext) -> None:
        log.info("job %d (%s photo %d, preset %s) started", ctx.job_id, ctx.kind, ctx.photo_id,
                 ctx.preset)
        broadcast_job_started(job_id=ctx.job_id, photo_id=ctx.photo_id)
        self.p.queue.changed()
        started = time.monotonic()
        try:
            result = self._runners[ctx.kind](ctx)
        except JobLost:
            log.warning("job %d dropped: its lease expired and it was requeued", ctx.job_id)
        except JobInterrupted:
            if self._finish(ctx, JobStatus.PENDING, photo_status=PhotoStatus.QUEUED):
                self.wake()  # another process's workers may take it at once
            log.info("job %d interrupted by shutdown; back to pending", ctx.job_id)
        except JobCancelled:
            if self._finish(ctx, JobStatus.CANCELLED, photo_status=PhotoStatus.ANALYZED):
                announce_cancelled(ctx.job_id, ctx.photo_id, ctx.kind)
                log.info("job %d cancelled while running", ctx.job_id)
        except (JobError, ImageError) as exc:
            self._failed(ctx, exc, expected=True)
        except Exception as exc:
            report_error(exc, f"{ctx.kind} job", job_id=ctx.job_id, photo_id=ctx.photo_id)
            self._failed(ctx, exc, expected=False)
        else:
            result.setdefault("timings", {})["total"] = round(time.monotonic() - started, 4)
            if not self._finish(ctx, JobStatus.COMPLETED, result=result):
                log.warning("job %d finished after its lease expired: result dropped", ctx.job_id)
                return
            broadcast_job_completed(job_id=ctx.job_id, photo_id=ctx.photo_id, result=result)
            log.info("job %d completed in %.2fs", ctx.job_id, result["timings"]["total"])
            if ctx.kind == JobKind.DEVELOP:
                self._after_develop(ctx)
        finally:
            self.running.pop(ctx.job_id, None)
            self.cancel_requests.discard(ctx.job_id)
            self.live.pop(ctx.job_id, None)
            self.p.queue.changed()

    def _finish(self, ctx: JobContext, status: JobStatus, result: Optional[dict] = None,
                error: Optional[str] = None, details: Optional[dict] = None,
                photo_status: Optional[PhotoStatus] = None) -> bool:
        """Record how the job ended, if it is still this worker's (False: it was reaped)."""
        with self.p.db.write() as s:
            values: dict[str, Any] = {"status": status, "result": result, "lease_expires_at": None,
                                      "error_message": error, "error_details": details}
            if status == JobStatus.PENDING:
                values.update(stage=None, progress=0.0, worker=None)
            else:
                values["finished_at"] = utcnow()
                if status == JobStatus.COMPLETED:
                    values["progress"] = 100.0
            mine = s.execute(update(Job).where(Job.id == ctx.job_id,
                                               *queue.owned(ctx.worker, ctx.attempts))
                             .values(**values)).rowcount == 1
            if not mine:
                return False
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
        return True

    def _failed(self, ctx: JobContext, exc: Exception, expected: bool) -> None:
        message = describe(exc)
        details = {"type": type(exc).__name__, "stage": ctx.stage, "expected": expected,
                   "kind": ctx.kind, "attempts": ctx.attempts}
        if not self._finish(ctx, JobStatus.FAILED, error=message, details=details):
            return
        log.warning("job %d failed at %s: %s", ctx.job_id, ctx.stage, message)
        broadcast_job_failed(job_id=ctx.job_id, photo_id=ctx.photo_id, error_message=message,
                             error_details=details)
        if ctx.kind == JobKind.DEVELOP:
            self._after_develop(ctx)

    def _after_develop(self, ctx: JobContext) -> None:
        after_develop(self.p, ctx.job_id, ctx.photo_id)


def after_develop(p: "Pipeline", job_id: int, photo_id: int) -> None:
    """The photo finished (developed or failed): session progress and approval queue."""
    try:
        with p.db.read() as s:
            photo = s.get(Photo, photo_id)
            session_id = photo.session_id
            developed = photo.status == PhotoStatus.DEVELOPED
        sessions.emit_updated(p, session_id)
        if developed:
            broadcast_approval_queue_updated(queue_count=p.approval_count(session_id),
                                             session_id=session_id)
    except Exception as exc:
        report_error(exc, "after develop", job_id=job_id, photo_id=photo_id)


class Reaper(Periodic):
    """Settles jobs whose worker stopped renewing its lease (killed, its machine gone): each
    goes back to the queue (``job_created`` again), or fails after ``queue.MAX_ATTEMPTS``
    claims, or ends cancelled if a person cancelled it meanwhile. Every process sharing
    the database runs one; ``SKIP LOCKED`` keeps two from settling the same job."""

    def __init__(self, p: "Pipeline", lease: float):
        super().__init__("reaper", interval=max(0.05, min(lease / 2, 10.0)))
        self.p = p

    def failed(self, exc: Exception) -> None:
        report_error(exc, "reaper")

    def tick(self) -> None:
        reaped = queue.reap(self.p.db)
        if not reaped:
            return
        log.warning("requeued or settled %d job(s) whose worker stopped: %s", len(reaped),
                    ", ".join(f"{r.job_id} -> {r.outcome}" for r in reaped))
        self.p.queue.changed()
        for r in reaped:
            self._announce(r)
        self.p.workers.wake()

    def _announce(self, r: queue.Reaped) -> None:
        if r.outcome == JobStatus.PENDING:
            with self.p.db.read() as s:
                job = s.get(Job, r.job_id)
            announce_requeued(job)
            return
        if r.outcome == JobStatus.CANCELLED:
            announce_cancelled(r.job_id, r.photo_id, r.kind)
        else:
            broadcast_job_failed(job_id=r.job_id, photo_id=r.photo_id,
                                 error_message=queue.lost_message(r.attempts),
                                 error_details=queue.lost_details(r.kind, r.stage, r.attempts))
        if r.kind == JobKind.DEVELOP:
            after_develop(self.p, r.job_id, r.photo_id)
        else:
            with self.p.db.read() as s:
                job = s.get(Job, r.job_id)
            self.p.workers.cancelled_before_start(job)
