"""Run the app on a real server and shut it down cleanly.

POSIX: gunicorn's gthread worker, embedded so ``python app.py`` is all a user
types. One worker process (the hub lives in it), one thread per WebSocket plus
headroom for HTTP, so ``threads`` = ``max_clients`` + 32 (a socket pins a
thread, and the HTTP API must never wait behind sockets).
Windows, or ``--server werkzeug``: Werkzeug's threaded server, which
flask-sock also supports; gunicorn does not run on Windows.

Either way SIGTERM or Ctrl-C closes every client with 1001 (going away), stops
the services and exits within 5 seconds; SIGHUP restarts in place: clients get
1012 (service restart), reconnect and resume from the durable event log.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Callable

from flask import Flask

from darkroom import logs
from darkroom.config import Config
from darkroom.instance import AlreadyRunning, InstanceLock, PortInUse, check_port_free, exclusive

log = logging.getLogger("darkroom.server")

HTTP_HEADROOM = 32
GRACEFUL_TIMEOUT = 4


def serve(app_factory: Callable[[], Flask], config: Config) -> int:
    """Serve until told to stop; 1 with one clear line when this instance cannot start."""
    logs.configure("debug" if config.debug else config.log_level, config.log_format)
    lock = InstanceLock(config.data_dir)
    try:
        check_port_free(config.host, config.port)
        if exclusive(config):
            lock.acquire(f"http://{_bind(config)}")
    except (AlreadyRunning, PortInUse) as refusal:
        print(f"darkroom: {refusal}", file=sys.stderr)
        return 1
    _raise_open_file_limit()
    try:
        if config.server == "gunicorn":
            return _serve_gunicorn(app_factory, config)
        server = WerkzeugServer(app_factory(), config)
        server.run_forever()
        return 0
    finally:
        lock.release()


def _raise_open_file_limit() -> None:
    """Each client is a descriptor: allow as many as the system lets this process have."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _bind(config: Config) -> str:
    host = f"[{config.host}]" if ":" in config.host else config.host
    return f"{host}:{config.port}"


def _serve_gunicorn(app_factory: Callable[[], Flask], config: Config) -> int:
    from gunicorn.app.base import BaseApplication

    threads = config.max_clients + HTTP_HEADROOM

    class EmbeddedGunicorn(BaseApplication):
        def load_config(self):
            settings = {
                "bind": _bind(config),
                "workers": 1,
                "worker_class": "darkroom.web.gunicorn_worker.HubWorker",
                "threads": threads,
                # Every socket counts: WebSockets, requests, and unfinished requests
                # (closed after header_timeout) must not lock out the HTTP API.
                "worker_connections": threads * 4,
                "graceful_timeout": GRACEFUL_TIMEOUT,
                "timeout": 30,
                "keepalive": 5,
                "max_requests": 0,
                "loglevel": config.log_level,
                # gunicorn's lines in our format (text or JSON), to stderr like ours;
                # its access log off: --access-log logs requests under either server.
                "logconfig_dict": logs.gunicorn_logconfig(
                    "debug" if config.debug else config.log_level, config.log_format),
                "accesslog": None,
                "proc_name": "darkroom",
                # No runtime control socket in the user's home: nothing to manage there.
                "control_socket_disable": True,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return app_factory()

        def run(self):
            from darkroom.web.gunicorn_worker import RestartingArbiter
            RestartingArbiter(self).run()

    log.info("serving", extra={"url": f"http://{_bind(config)}", "server": "gunicorn gthread",
                               "threads": threads})
    EmbeddedGunicorn().run()
    return 0


class WerkzeugServer:
    """Werkzeug's threaded WSGI server with Darkroom's clean shutdown."""

    def __init__(self, app: Flask, config: Config):
        from werkzeug.serving import WSGIRequestHandler, make_server

        class TimedHandler(WSGIRequestHandler):
            # A read that waits longer than this ends the request (slow clients);
            # WebSockets are non-blocking once upgraded, so they are not affected.
            timeout = config.header_timeout

        self.app = app
        self.config = config
        self.server = make_server(config.host, config.port, app, threaded=True,
                                  request_handler=TimedHandler)
        self._thread: threading.Thread | None = None

    def start_background(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="darkroom-werkzeug", daemon=True)
        self._thread.start()

    def run_forever(self) -> None:
        stop = threading.Event()
        received: list[int] = []

        def _on_signal(signum, frame):
            received.append(signum)
            stop.set()

        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, _on_signal)
        self.start_background()
        log.info("serving", extra={"url": f"http://{_bind(self.config)}", "server": "werkzeug"})
        while not stop.wait(0.5):
            pass
        restart = hasattr(signal, "SIGHUP") and received[0] == signal.SIGHUP
        self.shutdown(1012 if restart else 1001)
        if restart:
            log.info("restarting in place")
            os.execv(sys.executable, [sys.executable, *sys.argv])

    def shutdown(self, close_code: int = 1001) -> None:
        """Close every client with ``close_code``, stop services, stop serving."""
        self.app.extensions["darkroom"].stop(close_code)
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=2)
