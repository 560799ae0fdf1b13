"""The app-wide error reporter: an unexpected exception is logged with its traceback and
every client learns of it through ``error_occurred``, without a path or a traceback."""

from __future__ import annotations

import logging
import os
import traceback
from typing import Optional

from websocket_events import broadcast_error_occurred

log = logging.getLogger("darkroom.errors")


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
