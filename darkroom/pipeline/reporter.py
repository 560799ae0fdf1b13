"""The app-wide error reporter: an unexpected exception is logged with its traceback and
every client learns of it through ``error_occurred``, without a path or a traceback.

No request pattern can flood the log (the server's and the durable event log
every client resumes from): each kind of error (``error_type``) is reported at
most ``PER_WINDOW`` times per ``WINDOW`` seconds; the rest are counted, and the
next report of that kind carries the count as ``error_details.suppressed``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from typing import Callable, Optional

from websocket_events import broadcast_error_occurred

log = logging.getLogger("darkroom.errors")

PER_WINDOW = 3
WINDOW = 1.0
MAX_KINDS = 256


class ErrorLimiter:
    """At most ``per_window`` reports per kind in each ``window`` seconds; a report after
    suppressed ones learns how many were suppressed."""

    def __init__(self, per_window: int = PER_WINDOW, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic):
        self.per_window = per_window
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        # kind -> [window start, reports in this window, suppressed since the last report]
        self._kinds: dict[str, list] = {}

    def admit(self, kind: str) -> Optional[int]:
        """None: suppress this one (it is counted). Otherwise report it, with the number
        of this kind suppressed since its last report."""
        now = self.clock()
        with self._lock:
            state = self._kinds.get(kind)
            if state is None:
                if len(self._kinds) >= MAX_KINDS:
                    self._forget(now)
                state = self._kinds[kind] = [now, 0, 0]
            if now - state[0] >= self.window:
                state[0], state[1] = now, 0
            if state[1] >= self.per_window:
                state[2] += 1
                return None
            state[1] += 1
            suppressed, state[2] = state[2], 0
            return suppressed

    def reset(self) -> None:
        """Forget every window and count (a test's fresh start)."""
        with self._lock:
            self._kinds.clear()

    def _forget(self, now: float) -> None:
        """Drop kinds with nothing pending and an old window (else the oldest)."""
        idle = [k for k, (start, _, pending) in self._kinds.items()
                if pending == 0 and now - start >= self.window]
        for kind in idle or [min(self._kinds, key=lambda k: self._kinds[k][0])]:
            del self._kinds[kind]


LIMITER = ErrorLimiter()


def describe(exc: BaseException) -> str:
    """A short message for clients: OS errors name the file, not its whole path."""
    if isinstance(exc, OSError) and exc.strerror:
        name = os.path.basename(os.fsdecode(exc.filename)) if exc.filename else ""
        return f"{exc.strerror}: {name}" if name else exc.strerror
    return str(exc)[:500] or type(exc).__name__


def report_error(exc: BaseException, where: str, job_id: Optional[int] = None,
                 photo_id: Optional[int] = None) -> None:
    """Log an unexpected exception with its traceback and send ``error_occurred`` (both
    rate-limited per exception type)."""
    kind = type(exc).__name__
    suppressed = LIMITER.admit(kind)
    if suppressed is None:
        return
    log.error("unexpected error in %s (job %s, photo %s)%s", where, job_id, photo_id,
              f"; {suppressed} more {kind} suppressed before it" if suppressed else "",
              exc_info=(type(exc), exc, exc.__traceback__))
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    details = {"where": where,
               "location": f"{last.name} ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
               if last else None}
    if suppressed:
        details["suppressed"] = suppressed
    broadcast_error_occurred(error_type=kind, error_message=describe(exc),
                             error_details=details, job_id=job_id, photo_id=photo_id)


def report_refusal(error_type: str, message: str, details: dict) -> None:
    """An expected refusal in the background (a file an import refused) as
    ``error_occurred``, rate-limited like every other kind."""
    suppressed = LIMITER.admit(error_type)
    if suppressed is None:
        return
    log.warning("%s: %s%s", error_type, message,
                f" ({suppressed} more suppressed before it)" if suppressed else "")
    if suppressed:
        details = {**details, "suppressed": suppressed}
    broadcast_error_occurred(error_type=error_type, error_message=message,
                             error_details=details)
