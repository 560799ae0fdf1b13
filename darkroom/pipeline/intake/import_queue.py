"""The background import queue: files found by folder scans and the hot folder are imported
one at a time on a service thread, and a refused file is reported, never raised."""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.intake.importer import import_file
from darkroom.pipeline.reporter import report_error, report_refusal

if TYPE_CHECKING:
    from darkroom.pipeline import Pipeline

log = logging.getLogger("darkroom.import")


class ImportQueue:
    def __init__(self, p: "Pipeline"):
        self.p = p
        self._queue: "queue.Queue[Optional[tuple[Path, int]]]" = queue.Queue()
        self._thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()

    def submit(self, path: Path, session_id: int) -> None:
        self._queue.put((path, session_id))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="darkroom-import", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(None)
        if self._thread:
            self._thread.join(timeout=1.5)

    def pending(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while not self._stopping.is_set():
            item = self._queue.get()
            if item is None:
                return
            path, session_id = item
            self.import_one(path, session_id)

    def import_one(self, path: Path, session_id: int) -> Optional[dict]:
        """Import in the background: duplicates are skipped, other refusals reported."""
        try:
            return import_file(self.p, str(path), session_id)
        except PipelineError as exc:
            if exc.code == "duplicate":
                log.info("skipping %s: already imported as photo %s", path.name,
                         exc.extra.get("photo_id"))
                return None
            report_refusal("import_rejected", exc.message,
                           {"file_name": path.name, "file_path": str(path), "code": exc.code,
                            "status": exc.status, "session_id": session_id})
        except Exception as exc:
            report_error(exc, "import")
        return None
