"""Develop and export jobs: creation, the worker pool, progress, and ``queue_status``.

Workers take the most urgent (lowest ``priority``), then oldest, pending job.
Claiming is a compare-and-set (``UPDATE ... WHERE id = ? AND status =
'pending'``), so two workers (or two processes) can never run the same job.
At start, jobs left ``running`` by a crash go back to ``pending``; a job
interrupted by a clean stop is put back to ``pending`` too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from sqlalchemy import func, select, update

from darkroom.db import Job, Photo, iso, utcnow
from darkroom.pipeline import imaging, render
from darkroom.pipeline import sessions as sessions_mod
from websocket_events import (
    broadcast_approval_queue_updated,
    broadcast_error_occurred,
    broadcast_job_completed,
    broadcast_job_created,
    broadcast_job_failed,
    broadcast_job_progress,
    broadcast_job_started,
    broadcast_queue_status,
)

if TYPE_CHECKING:
    from darkroom.pipeline import Pipeline

log = logging.getLogger("darkroom.jobs")

USER_PRIORITY = 3
AUTO_PRIORITY = 5
ACTIVE = ("pending", "running")
STATUSES = ("pending", "running", "completed", "failed", "cancelled")
DEVELOPED_QUALITY = 92
PREVIEW_EDGE = 1600
THUMBNAIL_EDGE = 320


class JobError(Exception):
    """An expected failure of a job (unreadable source, missing preset...): job_failed only."""


class JobCancelled(Exception):
    """The job was cancelled by a person while running."""


class JobInterrupted(Exception):
    """The worker pool is stopping; the job goes back to pending."""


def to_json(job: Job, live: Optional[dict] = None) -> dict:
    out = {
        "id": job.id, "kind": job.kind, "photo_id": job.photo_id, "session_id": job.session_id,
        "priority": job.priority, "preset": job.preset, "status": job.status,
        "stage": job.stage, "progress": job.progress, "attempts": job.attempts,
        "params": job.params or {}, "result": job.result, "error_message": job.error_message,
        "error_details": job.error_details, "created_at": iso(job.created_at),
        "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
    }
    if live and job.status == "running":
        out.update(live)
    return out


def create(p: "Pipeline", photo_id: int, priority: int, preset: str, kind: str = "develop",
           params: Optional[dict] = None) -> Job:
    """Insert a pending job, send ``job_created`` and wake a worker."""
    with p.db.write() as s:
        photo = s.get(Photo, photo_id)
        job = Job(kind=kind, photo_id=photo_id, session_id=photo.session_id, priority=priority,
                  preset=preset, params=params or {})
        s.add(job)
        left_approval = kind == "develop" and photo.status == "developed"
        if kind == "develop":
            photo.status = "queued"
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


def announce_cancelled(job_id: int, photo_id: int, kind: str) -> None:
    """A cancelled job ends for every client as a ``job_failed`` marked ``cancelled``."""
    broadcast_job_failed(job_id=job_id, photo_id=photo_id, error_message="cancelled by user",
                         error_details={"cancelled": True, "kind": kind})


def announce_requeued(job: Job) -> None:
    """A retried job enters the queue again: every client sees ``job_created`` once more."""
    broadcast_job_created(job_id=job.id, photo_id=job.photo_id, priority=job.priority,
                          preset=job.preset, session_id=job.session_id)


def queue_counts(p: "Pipeline") -> dict[str, int]:
    with p.db.read() as s:
        rows = s.execute(select(Job.status, func.count(Job.id)).group_by(Job.status)).all()
    by_status = {status: int(n) for status, n in rows}
    return {"pending": by_status.get("pending", 0), "processing": by_status.get("running", 0),
            "completed": by_status.get("completed", 0), "failed": by_status.get("failed", 0),
            "cancelled": by_status.get("cancelled", 0)}


def describe(exc: BaseException) -> str:
    """A short message for clients: OS errors name the file, not its whole path."""
    if isinstance(exc, OSError) and exc.strerror:
        name = os.path.basename(os.fsdecode(exc.filename)) if exc.filename else ""
        return f"{exc.strerror}: {name}" if name else exc.strerror
    return str(exc)[:500] or type(exc).__name__


def report_error(exc: BaseException, where: str, job_id: Optional[int] = None,
                 photo_id: Optional[int] = None) -> None:
    """Log an unexpected exception with its traceback and send ``error_occurred``."""
    log.error("unexpected error in %s (job %s, photo %s)", where, job_id, photo_id,
              exc_info=(type(exc), exc, exc.__traceback__))
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    details = {"where": where,
               "location": f"{last.name} ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
               if last else None}
    broadcast_error_occurred(error_type=type(exc).__name__, error_message=describe(exc),
                             error_details=details, job_id=job_id, photo_id=photo_id)


class QueueNotifier:
    """Sends ``queue_status`` when the job counts change, at most ``rate`` times a second.

    ``changed()`` never blocks: it marks the counts dirty and a service thread
    sends one event for any number of changes within the interval.
    """

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
                c = queue_counts(self.p)
                four = {k: c[k] for k in ("pending", "processing", "completed", "failed")}
                if four != self._last:
                    self._last = four
                    broadcast_queue_status(**four)
            except Exception as exc:
                report_error(exc, "queue_status")
            with self._cond:
                self._cond.wait_for(lambda: self._stopping, timeout=self.interval)


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
        self._runners: dict[str, Callable[[JobContext], dict]] = {"develop": develop}

    def register(self, kind: str, runner: Callable[[JobContext], dict]) -> None:
        self._runners[kind] = runner

    def recover(self) -> int:
        """Put jobs a crash left running back to pending (and their photos back in queue)."""
        with self.p.db.write() as s:
            running = s.scalars(select(Job).where(Job.status == "running")).all()
            for job in running:
                job.status, job.stage, job.progress, job.worker = "pending", None, 0.0, None
                if job.kind == "develop":
                    s.execute(update(Photo).where(Photo.id == job.photo_id)
                              .values(status="queued"))
        if running:
            log.warning("requeued %d job(s) interrupted by a crash: %s", len(running),
                        [j.id for j in running])
        return len(running)

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
        """Atomically take the most urgent, oldest pending job."""
        while True:
            with self.p.db.write() as s:
                job = s.scalars(select(Job).where(Job.status == "pending")
                                .order_by(Job.priority, Job.created_at, Job.id).limit(1)).first()
                if job is None:
                    return None
                won = s.execute(
                    update(Job).where(Job.id == job.id, Job.status == "pending")
                    .values(status="running", worker=worker, started_at=utcnow(),
                            finished_at=None, stage=None, progress=0.0,
                            attempts=Job.attempts + 1, error_message=None, error_details=None)
                ).rowcount
                if won != 1:
                    continue
                if job.kind == "develop":
                    s.execute(update(Photo).where(Photo.id == job.photo_id)
                              .values(status="developing"))
                return JobContext(self, job.id, job.photo_id, job.kind, job.preset,
                                  dict(job.params or {}))

    def run(self, ctx: JobContext) -> None:
        log.info("job %d (%s photo %d, preset %s) started", ctx.job_id, ctx.kind, ctx.photo_id,
                 ctx.preset)
        broadcast_job_started(job_id=ctx.job_id, photo_id=ctx.photo_id)
        self.p.queue.changed()
        started = time.monotonic()
        try:
            result = self._runners[ctx.kind](ctx)
        except JobInterrupted:
            self._finish(ctx, "pending", photo_status="queued")
            log.info("job %d interrupted by shutdown; back to pending", ctx.job_id)
        except JobCancelled:
            self._finish(ctx, "cancelled", photo_status="analyzed")
            announce_cancelled(ctx.job_id, ctx.photo_id, ctx.kind)
            log.info("job %d cancelled while running", ctx.job_id)
        except (JobError, imaging.ImageError) as exc:
            self._failed(ctx, exc, expected=True)
        except Exception as exc:
            report_error(exc, f"{ctx.kind} job", job_id=ctx.job_id, photo_id=ctx.photo_id)
            self._failed(ctx, exc, expected=False)
        else:
            result.setdefault("timings", {})["total"] = round(time.monotonic() - started, 4)
            self._finish(ctx, "completed", result=result)
            broadcast_job_completed(job_id=ctx.job_id, photo_id=ctx.photo_id, result=result)
            log.info("job %d completed in %.2fs", ctx.job_id, result["timings"]["total"])
            if ctx.kind == "develop":
                self._after_develop(ctx)
        finally:
            self.cancel_requests.discard(ctx.job_id)
            self.live.pop(ctx.job_id, None)
            self.p.queue.changed()

    def _finish(self, ctx: JobContext, status: str, result: Optional[dict] = None,
                error: Optional[str] = None, details: Optional[dict] = None,
                photo_status: Optional[str] = None) -> None:
        with self.p.db.write() as s:
            values: dict[str, Any] = {"status": status, "result": result,
                                      "error_message": error, "error_details": details}
            if status == "pending":
                values.update(stage=None, progress=0.0, worker=None)
            else:
                values["finished_at"] = utcnow()
                if status == "completed":
                    values["progress"] = 100.0
            s.execute(update(Job).where(Job.id == ctx.job_id).values(**values))
            if ctx.kind == "develop":
                photo_values: dict[str, Any] = {}
                if status == "completed":
                    photo_values = {"status": "developed", "error": None, "preset": ctx.preset,
                                    "developed_path": result["developed_path"],
                                    "developed_preview_path": result["preview_path"],
                                    "developed_thumbnail_path": result["thumbnail_path"]}
                elif status == "failed":
                    photo_values = {"status": "failed", "error": error}
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
        self._finish(ctx, "failed", error=message, details=details)
        log.warning("job %d failed at %s: %s", ctx.job_id, ctx.stage, message)
        broadcast_job_failed(job_id=ctx.job_id, photo_id=ctx.photo_id, error_message=message,
                             error_details=details)
        if ctx.kind == "develop":
            self._after_develop(ctx)

    def _after_develop(self, ctx: JobContext) -> None:
        """The photo finished (developed or failed): session progress and approval queue."""
        try:
            with self.p.db.read() as s:
                photo = s.get(Photo, ctx.photo_id)
                session_id, developed = photo.session_id, photo.status == "developed"
            sessions_mod.emit_updated(self.p, session_id)
            if developed:
                broadcast_approval_queue_updated(queue_count=self.p.approval_count(session_id),
                                                 session_id=session_id)
        except Exception as exc:
            report_error(exc, "after develop", job_id=ctx.job_id, photo_id=ctx.photo_id)


def develop(ctx: JobContext) -> dict:
    """Load the original at full size, apply the preset, write the developed JPEG and preview."""
    p = ctx.pool.p
    with p.db.read() as s:
        photo = s.get(Photo, ctx.photo_id)
        source, name = photo.file_path, photo.file_name
    preset = p.presets.get(ctx.preset)
    if preset is None:
        raise JobError(f"preset '{ctx.preset}' does not exist")
    ctx.progress("loading", 0, f"Reading {name}")
    rgb = imaging.load(source)
    ctx.progress("loading", 20, f"Decoded {rgb.shape[1]}x{rgb.shape[0]}")
    ctx.progress("applying_preset", 20, f"Building the {preset.name} tone curve")
    renderer = render.Renderer(rgb, preset.adjustments)
    ctx.progress("applying_preset", 25, f"Applying {preset.name}")
    out = renderer.run(lambda done, total: ctx.progress(
        "rendering", 25 + 65 * done / total, f"Rendered {done} of {total} bands"))
    ctx.progress("writing", 90, "Writing the developed JPEG")
    developed = p.render_dir / f"{ctx.photo_id}.jpg"
    preview = p.render_dir / f"{ctx.photo_id}_preview.jpg"
    thumbnail = p.render_dir / f"{ctx.photo_id}_thumb.jpg"
    size = imaging.save_jpeg(out, developed, quality=DEVELOPED_QUALITY)
    ctx.progress("writing", 96, "Writing the preview and thumbnail")
    small = imaging.downscaled(out, PREVIEW_EDGE)
    preview_size = imaging.save_jpeg(small, preview, quality=85)
    thumbnail_size = imaging.save_jpeg(small, thumbnail, max_edge=THUMBNAIL_EDGE, quality=80)
    ctx.progress("writing", 100, "Done")
    return {"developed_path": str(developed), "developed_size": size,
            "preview_path": str(preview), "preview_size": preview_size,
            "thumbnail_path": str(thumbnail), "thumbnail_size": thumbnail_size,
            "width": int(out.shape[1]), "height": int(out.shape[0]), "preset": preset.name,
            "developed_url": f"/api/photos/{ctx.photo_id}/developed",
            "developed_thumbnail_url": f"/api/photos/{ctx.photo_id}/developed/thumbnail",
            "timings": ctx.finish_timings()}
