"""The hot folder: files that appear in an active session's folder are imported by themselves.

watchdog reports created/modified/moved files; ``Arrivals`` decides when each
is ready (it has stopped growing) and offers each (path, size, mtime) once;
the import queue records it (durably, in ``import_items``) and imports it. The
folder is watched recursively (a card's ``DCIM/100CANON/`` copied in is
imported), skipping what a folder import skips (hidden files, hidden and system
folders, see ``scan``), only while the session is ``active`` and only if the
folder lies inside an import root (a session from before the roots, or roots
changed since, is not watched; the importer checks each file again). A file in
the folders of two sessions (one inside the other) belongs to the innermost.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from sqlalchemy import select
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from darkroom.db import PhotoSession
from darkroom.pipeline.intake.arrivals import Arrivals
from darkroom.pipeline.intake.scan import skipped_relative
from darkroom.pipeline.media.formats import file_format
from darkroom.pipeline.reporter import report_error
from darkroom.pipeline.status import SessionStatus

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.hotfolder")


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: "HotFolder"):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in ("created", "modified", "moved",
                                                          "closed"):
            return
        path = getattr(event, "dest_path", "") or event.src_path
        self.watcher.seen(os.fsdecode(path))


class HotFolder:
    def __init__(self, p: "Pipeline", settle: float = 1.0, poll: float = 0.25):
        self.p = p
        self.arrivals = Arrivals(settle)
        self.poll = poll
        self._lock = threading.Lock()
        self._folders: dict[str, int] = {}
        self._watches: dict[str, object] = {}
        self._refused: set[str] = set()
        self._observer: Optional[Observer] = None
        self._stop = threading.Event()
        self._refresh = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._observer = Observer(timeout=0.2)
        self._observer.daemon = True
        self._observer.start()
        self._sync_watches()
        self._thread = threading.Thread(target=self._run, name="darkroom-hotfolder",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._observer:
            self._observer.stop()
            self._observer.join(timeout=1.0)
        if self._thread:
            self._thread.join(timeout=1.0)

    def sessions_changed(self) -> None:
        """Sessions were created or changed status: watch the active ones' folders."""
        self._refresh.set()

    def watched(self) -> dict[str, int]:
        with self._lock:
            return dict(self._folders)

    def seen(self, path: str) -> None:
        if file_format(path) is None or os.path.basename(path).startswith("."):
            return
        if self._session_for(path) is not None:
            self.arrivals.seen(path)

    def _session_for(self, path: str) -> Optional[int]:
        """The session whose watched folder holds ``path`` (at any depth, not inside a hidden
        or system folder), if any."""
        with self._lock:
            folders = self._folders
        folder = os.path.dirname(path)
        while True:
            session_id = folders.get(folder)
            if session_id is not None:
                relative = os.path.relpath(path, folder)
                return None if skipped_relative(relative) else session_id
            parent = os.path.dirname(folder)
            if parent == folder:
                return None
            folder = parent

    def _sync_watches(self) -> None:
        with self.p.db.read() as s:
            rows = s.execute(select(PhotoSession.id, PhotoSession.import_folder)
                             .where(PhotoSession.status == SessionStatus.ACTIVE)
                             .order_by(PhotoSession.id)).all()
        wanted: dict[str, int] = {}
        for session_id, folder in rows:
            real = os.path.realpath(folder)
            if not self.p.import_roots.contains(real):
                if real not in self._refused:
                    self._refused.add(real)
                    log.warning("not watching session %d: its folder is outside the import "
                                "roots", session_id)
                continue
            if os.path.isdir(real):
                wanted.setdefault(real, session_id)
        with self._lock:
            for folder in list(self._watches):
                if folder not in wanted:
                    self._observer.unschedule(self._watches.pop(folder))
            for folder in wanted:
                if folder not in self._watches:
                    self._watches[folder] = self._observer.schedule(_Handler(self), folder,
                                                                    recursive=True)
                    log.info("watching %s for session %d", folder, wanted[folder])
            self._folders = wanted

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                if self._refresh.is_set():
                    self._refresh.clear()
                    self._sync_watches()
                for path, session_id in self.arrivals.settled(self._session_for):
                    self.p.imports.submit(Path(path), session_id)
            except Exception as exc:
                report_error(exc, "hot folder")
