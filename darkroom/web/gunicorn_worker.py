"""gunicorn's gthread worker and arbiter, taught Darkroom's clean shutdown and restart.

gunicorn waits up to ``graceful_timeout`` for open connections on shutdown, and
a WebSocket never ends by itself: the worker stops the app first (clients get
close code 1001, jobs are requeued, the event log is flushed), so the wait is
short. SIGHUP to the server restarts the app in place: the arbiter asks its
worker to stop with 1012 (service restart) and starts a fresh one on the same
socket, which keeps the event log's epoch and ``seq``. Imported only where
gunicorn runs (never on Windows).
"""

from __future__ import annotations

import os
import signal
import threading

from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker

RESTART_SIGNAL = signal.SIGUSR2


class HubWorker(ThreadWorker):
    _stopper: threading.Thread | None = None

    def init_signals(self):
        super().init_signals()
        signal.signal(RESTART_SIGNAL, self.handle_restart)

    def _stop_app(self, close_code: int) -> None:
        """Stop the app once, off the signal handler (it waits for clients and workers)."""
        runtime = getattr(self.wsgi, "extensions", {}).get("darkroom")
        if runtime is not None and self._stopper is None:
            self._stopper = threading.Thread(target=runtime.stop, args=(close_code,),
                                             daemon=True, name="darkroom-shutdown")
            self._stopper.start()

    def run(self):
        # However the loop ends (signal, or the arbiter gone), the app stops
        # completely (jobs requeued, log flushed) before the process exits.
        try:
            super().run()
        finally:
            self._stop_app(1001)
            if self._stopper is not None:
                self._stopper.join(timeout=self.cfg.graceful_timeout)

    def handle_exit(self, sig, frame):
        self._stop_app(1001)
        super().handle_exit(sig, frame)

    def handle_quit(self, sig, frame):
        # Ctrl-C and SIGQUIT get the same clean shutdown as SIGTERM.
        self.handle_exit(sig, frame)

    def handle_restart(self, sig, frame):
        self._stop_app(1012)
        super().handle_exit(sig, frame)


class RestartingArbiter(Arbiter):
    def handle_hup(self):
        """Restart the app in place; the arbiter replaces each worker as it exits."""
        self.log.info("restarting the app (SIGHUP)")
        for pid in list(self.WORKERS):
            try:
                os.kill(pid, RESTART_SIGNAL)
            except ProcessLookupError:
                pass
