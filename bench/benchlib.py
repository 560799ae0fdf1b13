"""What every benchmark server shares: the event payload, the paced publisher, gunicorn.

The four servers of ``bench/fanout.py`` must do the same work per event so the
numbers compare designs, not workloads: build one ~250 B JSON event with an
ISO timestamp, a sequence number and a monotonic send time ``t`` (the load
client computes latency from it; CLOCK_MONOTONIC is shared by all processes
of the machine), serialise it once and hand it to the server's fan-out.
"""

from __future__ import annotations

import itertools
import json
import logging
import resource
import threading
import time
from datetime import datetime, timezone
from typing import Callable

log = logging.getLogger("darkroom.bench")

CHANNEL = "jobs"
EVENT_TYPE = "bench_event"
# Sized so a whole event (type, timestamp, channel, seq, t, i, pad) is ~250 B.
PAD = "x" * 125
MAX_BURST_EVENTS = 1_000_000


def iso_now() -> str:
    """UTC ISO 8601 with milliseconds and ``Z``, as Darkroom stamps its events."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body(i: int) -> dict:
    """The application part of event ``i``: what a Darkroom publisher passes to the hub."""
    return {"t": time.monotonic(), "i": i, "pad": PAD}


_seq = itertools.count(1)


def full_event(i: int) -> dict:
    """Event ``i`` with the envelope Darkroom's hub adds, for peers that have no hub."""
    event = {"type": EVENT_TYPE, "timestamp": iso_now(), "channel": CHANNEL, "seq": next(_seq)}
    event.update(body(i))
    return event


def encode(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"))


def paced(n: int, rate: float, emit: Callable[[int], None]) -> None:
    """Call ``emit(i)`` for i in 0..n-1, at ``rate`` per second (0: as fast as possible).

    The schedule is absolute, so a slow ``emit`` is caught up rather than
    drifting, as a real producer at a fixed rate would behave.
    """
    n = max(0, min(int(n), MAX_BURST_EVENTS))
    start = time.monotonic()
    for i in range(n):
        if rate > 0:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        emit(i)
    log.info("published %d events in %.3f s", n, time.monotonic() - start)


def start_publisher(n: int, rate: float, emit: Callable[[int], None]) -> None:
    """Publish from a server-side thread, as Darkroom's job workers do; return at once."""
    threading.Thread(target=paced, args=(n, rate, emit), name="bench-publisher", daemon=True).start()


def parse_burst_args(data: dict) -> tuple[int, float]:
    return int(data.get("n", 0)), float(data.get("rate", 0))


def add_bench_routes(app, emit: Callable[[int], None], clients: Callable[[], int]) -> None:
    """``POST /bench/burst {n, rate}`` (publish from a server thread) and ``GET /bench/health``."""
    from flask import jsonify, request

    @app.get("/bench/health")
    def bench_health():
        return jsonify(clients=clients())

    @app.post("/bench/burst")
    def bench_burst():
        n, rate = parse_burst_args(request.get_json(force=True))
        start_publisher(n, rate, emit)
        return jsonify(started=n)


def serve_peer(app_factory: Callable, description: str) -> None:
    """The command line of a gunicorn-served peer: ``--port P``."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    raise_nofile()
    serve_gunicorn(app_factory, args.port)


def raise_nofile() -> int:
    """Raise the open-file limit to its hard limit (1000 clients need > 1024 fds)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def gunicorn_options(port: int, threads: int) -> dict:
    """gunicorn gthread, one worker, enough threads for every WebSocket plus HTTP headroom."""
    return {
        "bind": f"127.0.0.1:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "worker_connections": threads * 2,
        "backlog": 2048,
        "timeout": 120,
        "graceful_timeout": 2,
        "loglevel": "warning",
        "accesslog": None,
    }


def serve_gunicorn(app_factory: Callable, port: int, threads: int = 1100) -> None:
    """Run ``app_factory()`` under gunicorn in this process; the app is built in the worker."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self):
            for key, value in gunicorn_options(port, threads).items():
                self.cfg.set(key, value)

        def load(self):
            return app_factory()

    _App().run()
