"""gunicorn's gthread worker and arbiter, taught Darkroom's clean shutdown and restart.

gunicorn waits up to ``graceful_timeout`` for open connections on shutdown, and
a WebSocket never ends by itself: the worker stops the app first (clients get
close code 1001, jobs are requeued, the event log is flushed), so the wait is
short. SIGHUP to the server restarts the app in place: the arbiter asks its
worker to stop with 1012 (service restart) and starts a fresh one on the same
socket, which keeps the event log's epoch and ``seq``. Imported only where
gunicorn runs (never on Windows).

Slow clients cannot hold a thread: gthread hands every new (or kept-alive)
connection to a pool thread that then blocks until the request's headers are
in, with no deadline, so a few hundred unfinished requests (slowloris) would
take every thread the HTTP API has. Here the worker's own poller collects the
headers without blocking, closes a connection whose headers are not complete
within ``header_timeout``, and only hands over complete ones.
"""

from __future__ import annotations

import errno
import os
import selectors
import signal
import threading
import time
from collections import deque
from functools import partial

from gunicorn import http
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import TConn, ThreadWorker

RESTART_SIGNAL = signal.SIGUSR2
HEADERS_END = b"\r\n\r\n"
MAX_HEADER_BYTES = 64 * 1024  # gunicorn's own limits refuse anything near this with a 400


class HubWorker(ThreadWorker):
    _stopper: threading.Thread | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.awaiting_headers: deque[TConn] = deque()  # oldest deadline first

    def init_process(self):
        self.header_timeout = 10.0
        self.hub = None
        super().init_process()

    def load_wsgi(self):
        super().load_wsgi()
        runtime = getattr(self.wsgi, "extensions", {}).get("darkroom")
        if runtime is not None:
            self.header_timeout = runtime.config.header_timeout
            self.hub = runtime.hub  # counts the connections closed for slow headers

    # --- requests reach a thread only once their headers are in -------------------

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self._await_headers(TConn(self.cfg, client_sock, client_addr, listener.getsockname()))

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection has more: its next request's headers come in here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._await_headers(conn)

    def _await_headers(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        conn.header_bytes = bytearray()
        conn.timeout = time.monotonic() + self.header_timeout
        self.awaiting_headers.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._read_headers, conn))

    def _read_headers(self, conn: TConn, client) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop_awaiting(conn)
            return
        conn.header_bytes += chunk
        if HEADERS_END not in conn.header_bytes and len(conn.header_bytes) < MAX_HEADER_BYTES:
            return
        self.poller.unregister(conn.sock)
        self.awaiting_headers.remove(conn)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(conn.header_bytes))
        conn.data_ready = True
        self.enqueue_req(conn)

    def _drop_awaiting(self, conn: TConn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (OSError, KeyError, ValueError):
            pass
        self.awaiting_headers.remove(conn)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """Also close connections whose headers did not arrive within ``header_timeout``."""
        super().murder_pending()
        now = time.monotonic()
        while self.awaiting_headers and self.awaiting_headers[0].timeout <= now:
            self._drop_awaiting(self.awaiting_headers[0])
            if self.hub is not None:
                self.hub.refused["header_timeout"] += 1

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
