"""The background import queue: the files folder imports and the hot folder recorded in
``import_items`` are imported one at a time, oldest first, on a service thread.

The queue is the database, not memory: a file is recorded before it is imported and
marked imported in the transaction that stores its photo, so Ctrl-C, SIGTERM, ``kill -9``
or a power cut loses nothing and imports nothing twice; at the next start the queue
resumes the pending files (and logs how many). Every file ends ``imported``,
``duplicate`` (with the photo it already is) or ``refused`` (with a reason, also reported
as an ``import_rejected`` error), and each step sends ``import_progress``. A photo stored
by a run that died before its analysis or develop job is finished at the next start.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from sqlalchemy import select

from darkroom.db import Job, Photo, utcnow
from darkroom.pipeline import sessions
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.intake import items
from darkroom.pipeline.intake.importer import analyse_and_queue, import_file
from darkroom.pipeline.reporter import report_error, report_refusal
from darkroom.pipeline.status import PhotoStatus

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.import")


class ImportQueue:
    def __init__(self, p: "Pipeline"):
        self.p = p
        self._thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._started_at = utcnow()

    def submit(self, path: Path, session_id: int) -> None:
        """Record one file (a hot-folder arrival) for import and wake the queue."""
        batch, known = items.record(self.p, session_id, [path])
        for _path, photo_id in known:
            log.info("skipping %s: already imported as photo %s", path.name, photo_id)
        if known:
            items.emit_progress(self.p, session_id, batch)
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        waiting = items.pending_sessions(self.p)
        for session_id, n in sorted(waiting.items()):
            log.warning("session %d: resuming an interrupted import, %d file(s) to go",
                        session_id, n)
        self._started_at = utcnow()
        self._thread = threading.Thread(target=self._run, name="darkroom-import", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=1.5)

    def pending(self) -> int:
        return items.pending_count(self.p)

    def _run(self) -> None:
        try:
            self.finish_interrupted()
        except Exception as exc:
            report_error(exc, "import")
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                item = items.next_pending(self.p)
            except Exception as exc:
                report_error(exc, "import")
                self._wake.wait(2.0)
                continue
            if item is None:
                self._wake.wait(5.0)
                continue
            self.import_item(*item)

    def import_item(self, item_id: int, session_id: int, raw_path: str, batch: int) -> None:
        """Import one recorded file and record what became of it."""
        path = Path(raw_path)
        try:
            import_file(self.p, raw_path, session_id, item_id=item_id)
        except PipelineError as exc:
            if exc.code == "duplicate":
                photo_id = exc.extra.get("photo_id")
                log.info("skipping %s: already imported as photo %s", path.name, photo_id)
                items.finish(self.p, item_id, items.DUPLICATE, "duplicate",
                             f"already imported as photo {photo_id}", photo_id=photo_id)
            else:
                items.finish(self.p, item_id, items.REFUSED, exc.code, exc.message)
                report_refusal("import_rejected", exc.message,
                               {"file_name": path.name, "file_path": raw_path,
                                "code": exc.code, "status": exc.status,
                                "session_id": session_id})
            sessions.emit_updated(self.p, session_id)
        except Exception as exc:
            report_error(exc, "import")
            items.finish(self.p, item_id, items.REFUSED, "internal_error",
                         f"the import failed: {type(exc).__name__}")
            sessions.emit_updated(self.p, session_id)
        c = items.emit_progress(self.p, session_id, batch)
        if c["remaining"] == 0:
            log.info("session %d: folder import %d done: %d imported, %d duplicate(s), "
                     "%d refused", session_id, batch, c["imported"], c["duplicates"],
                     c["refused"])

    def finish_interrupted(self) -> None:
        """Photos a crash left stored but not analysed or without their develop job."""
        from darkroom.pipeline.media import decode
        from darkroom.pipeline.media.sizes import PREVIEW_EDGE

        with self.p.db.read() as s:
            has_job = select(Job.id).where(Job.photo_id == Photo.id).exists()
            rows = s.execute(select(Photo.id, Photo.session_id, Photo.file_path, Photo.exif)
                             .where(Photo.status.in_((PhotoStatus.IMPORTED,
                                                      PhotoStatus.ANALYZED)), ~has_job,
                                    # stored by an earlier run, not by a request of this one
                                    Photo.imported_at < self._started_at)
                             .order_by(Photo.id)).all()
        for photo_id, session_id, file_path, exif in rows:
            if self._stopping.is_set():
                return
            log.warning("photo %d: finishing an import interrupted before its develop job",
                        photo_id)
            try:
                preview, _size = decode.load_with_size(Path(file_path), max_edge=PREVIEW_EDGE)
                analyse_and_queue(self.p, photo_id, session_id, preview, exif or {})
            except Exception as exc:
                report_error(exc, "analysis", photo_id=photo_id)
                with self.p.db.write() as s:
                    photo = s.get(Photo, photo_id)
                    photo.status = PhotoStatus.FAILED
                    photo.error = f"analysis failed: {type(exc).__name__}"
            sessions.emit_updated(self.p, session_id)
