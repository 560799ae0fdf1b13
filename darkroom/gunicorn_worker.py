"""gunicorn's gthread worker, taught to close WebSocket clients before it waits for them.

gunicorn waits up to ``graceful_timeout`` for open connections on shutdown, and
a WebSocket never ends by itself: the worker stops the app first (clients get
close code 1001, services stop), so the wait is short. Imported only where
gunicorn runs (never on Windows).
"""

from __future__ import annotations

import threading

from gunicorn.workers.gthread import ThreadWorker


class HubWorker(ThreadWorker):
    def handle_exit(self, sig, frame):
        runtime = getattr(self.wsgi, "extensions", {}).get("darkroom")
        if runtime is not None:
            threading.Thread(target=runtime.stop, args=(1001,), daemon=True,
                             name="darkroom-shutdown").start()
        super().handle_exit(sig, frame)

    def handle_quit(self, sig, frame):
        # Ctrl-C and SIGQUIT get the same clean shutdown as SIGTERM.
        self.handle_exit(sig, frame)
