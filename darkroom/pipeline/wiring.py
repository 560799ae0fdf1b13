"""The wiring of one app's pipeline (``Pipeline``): database, services, routes.

Kept apart from the package's ``__init__`` so that importing any part of the
domain (``darkroom.pipeline.media.formats`` from a client command) does not
import every service, SQLAlchemy and Alembic with it; ``darkroom/pipeline/__init__.py``
reaches this module only when an app or a worker is built.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from sqlalchemy.exc import IntegrityError

from darkroom.db import safe_url
from darkroom.pipeline import EXTENSION, approval, reporter, sessions
from darkroom.pipeline.intake.hotfolder import HotFolder
from darkroom.pipeline.intake.import_queue import ImportQueue
from darkroom.pipeline.intake.roots import ImportRoots
from darkroom.pipeline.jobs import develop, export
from darkroom.pipeline.jobs.notifier import QueueNotifier
from darkroom.pipeline.jobs.workers import Reaper, WorkerPool
from darkroom.pipeline.monitor import Monitor
from darkroom.pipeline.presets import PresetLibrary
from darkroom.pipeline.status import JobKind

if TYPE_CHECKING:
    from flask import Flask

    from darkroom.runtime import Runtime

log = logging.getLogger("darkroom.pipeline")


class Pipeline:
    """Everything one app's pipeline owns."""

    def __init__(self, rt: "Runtime"):
        # The reporter's rate windows belong to the app that reports: a new app (a restart
        # in place, each test's server) starts with none spent.
        reporter.LIMITER.reset()
        self.runtime = rt
        self.config = rt.config
        self.data_dir: Path = Path(rt.config.data_dir).resolve()
        # Thumbnails, previews and renders: in media_dir when set, a folder every web and
        # worker process mounts at the same path (clients get URLs, never these paths).
        media = Path(rt.config.media_dir).expanduser().resolve() if rt.config.media_dir else self.data_dir
        self.cache_dir = media / "cache"
        self.render_dir = media / "renders"
        for folder in (self.cache_dir, self.render_dir, self.data_dir / "presets"):
            folder.mkdir(parents=True, exist_ok=True)
        # Imports come only from these folders; the Inbox's folder is always one of them.
        self.import_roots = ImportRoots(rt.config.import_roots, always=[self.data_dir / "inbox"])
        self.db = rt.db
        self.schema_version = self.db.create_schema()
        self.presets = PresetLibrary([*rt.config.preset_dirs, self.data_dir / "presets"])
        try:
            self.inbox_id = sessions.ensure_inbox(self)
        except IntegrityError:  # another process sharing the database made it this instant
            self.inbox_id = sessions.ensure_inbox(self)
        self.queue = QueueNotifier(self)
        self.imports = ImportQueue(self)
        self.workers = WorkerPool(self, rt.config.workers, rt.config.job_lease)
        # Only a shared database has other processes' workers to outlive; on SQLite the
        # one process requeues its crashed jobs at start.
        self.reaper: Optional[Reaper] = None if self.db.is_sqlite else Reaper(self, rt.config.job_lease)
        self.workers.register(JobKind.DEVELOP, develop.run)
        self.workers.register(JobKind.EXPORT, export.run,
                              on_cancelled=export.cancelled_before_start)
        self.monitor = Monitor(self, rt.config.monitor_interval, thresholds={
            "cpu": rt.config.cpu_warning, "memory": rt.config.memory_warning,
            "disk": rt.config.disk_warning})
        self.hotfolder: Optional[HotFolder] = HotFolder(self) if rt.config.hot_folder else None

    def services(self, serving: bool = True) -> list:
        """What runs in a web process (``serving``) or in a ``darkroom worker``."""
        out = [self.queue, self.workers]
        if self.reaper is not None:
            out.append(self.reaper)
        if serving:
            out += [self.imports, self.monitor]
            if self.hotfolder is not None:
                out.append(self.hotfolder)
        return out

    def approval_count(self, session_id: Optional[int] = None) -> int:
        return approval.count(self, session_id)

    def hotfolder_changed(self) -> None:
        if self.hotfolder is not None:
            self.hotfolder.sessions_changed()


def init_app(app: "Flask") -> Pipeline:
    """Attach a pipeline to ``app``: database, routes and services (started by the runtime)."""
    from darkroom.pipeline import http
    from darkroom.runtime import runtime

    rt = runtime(app)
    p = Pipeline(rt)
    app.extensions[EXTENSION] = p
    http.register(app)
    for service in p.services():
        rt.add(service)
    log.info("pipeline ready: %s, schema v%d, %d workers, %d presets", safe_url(p.db.url),
             p.schema_version, p.workers.size, len(p.presets.all()))
    return p



def init_worker(rt: "Runtime") -> Pipeline:
    """A pipeline that only runs jobs, on ``rt`` (``darkroom worker``: no web server)."""
    p = Pipeline(rt)
    for service in p.services(serving=False):
        rt.add(service)
    log.info("worker pipeline ready: %s, schema v%d, %d workers", safe_url(p.db.url),
             p.schema_version, p.workers.size)
    return p
