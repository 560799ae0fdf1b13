"""``darkroom worker``: run develop and export jobs without a web server.

A studio runs any number of these, on any machines, beside its web processes,
with the same ``--data-dir``, ``DATABASE_URL``, ``REDIS_URL`` and ``media_dir``:
they claim jobs from the shared PostgreSQL queue (leases, heartbeats, the
reaper: ``darkroom/pipeline/jobs/queue.py``) and publish their events with the
usual ``broadcast_*`` helpers into a hub built from the same configuration,
which hands them to Redis, where every web process reads them for its clients.
So it refuses to start without a ``REDIS_URL`` (its events would reach nobody)
or on SQLite (one server process owns that database).

Exit codes: 0 stopped by SIGTERM or Ctrl-C, 2 refused (one line on stderr).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Optional, Sequence

log = logging.getLogger("darkroom.worker")

USAGE = "darkroom worker [server options: --data-dir, --database-url, --redis-url, --workers ...]"


def refusal(config) -> Optional[str]:
    """Why this configuration cannot run a worker process, or None."""
    if not config.redis_url:
        return ("needs REDIS_URL (or --redis-url): a worker's events reach the web processes' "
                "clients through Redis")
    if config.database_url.startswith("sqlite"):
        return ("needs a shared DATABASE_URL (PostgreSQL): SQLite belongs to the one server "
                "process, which runs its jobs itself")
    if config.workers < 1:
        return "needs --workers 1 or more (the number of jobs it runs at once)"
    return None


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    if argv[:1] in (["-h"], ["--help"]):
        argparse.ArgumentParser(
            prog="darkroom worker", usage=USAGE,
            description="Run develop and export jobs from the shared database (PostgreSQL), "
                        "publishing their events through Redis, without a web server. Takes the "
                        "server's options ('darkroom serve --help'); --workers is the number of "
                        "jobs it runs at once. Stops cleanly on SIGTERM or Ctrl-C: a job it was "
                        "running goes back to the queue.").print_help()
        return 0
    from darkroom import logs
    from darkroom.config import Config
    from darkroom.db import safe_url

    config = Config.load(argv)  # bad options exit 2 with one line, like the server's
    problem = refusal(config)
    if problem:
        print(f"darkroom worker: {problem}", file=sys.stderr)
        return 2
    logs.configure("debug" if config.debug else config.log_level, config.log_format)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    rt = _build(config)
    rt.start()
    log.info("darkroom worker ready: %d workers on %s, events through %s", config.workers,
             safe_url(config.database_url), safe_url(config.redis_url))
    stop.wait()
    log.info("darkroom worker stopping")
    rt.stop()
    return 0


def _build(config):
    """A runtime with the web process's database and hub (publishing only: no clients to
    serve) and the pipeline's job services."""
    from app import build_hub
    from darkroom import pipeline
    from darkroom.db import Database
    from darkroom.runtime import Runtime

    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.database_url)
    hub, services = build_hub(config, db, serves_clients=False)
    rt = Runtime(config, db, hub)
    for service in services:
        rt.add(service)
    pipeline.init_worker(rt)
    return rt
