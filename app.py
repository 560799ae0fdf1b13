"""Darkroom: the app factory and the command line entry point.

``python app.py`` serves on 127.0.0.1:5100 with the embedded defaults (SQLite
in the data directory, in-process hub and workers) on a production server:
gunicorn's gthread worker on POSIX, Werkzeug's threaded server on Windows.
``--lan`` serves the studio LAN (token, pairing: ``darkroom/web/auth.py``);
``darkroom rotate-token`` replaces the install's token.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from flask import Flask

import websocket_events
import websocket_server
from darkroom import logs, pipeline
from darkroom.config import Config
from darkroom.db import Database
from darkroom.realtime.eventlog import LogTrimmer, SqlEventLog
from darkroom.realtime.group_commit import GroupCommitLog
from darkroom.realtime.hub import Hub
from darkroom.runtime import Runtime, Service
from darkroom.web import auth, errors, pages, security, serving


def create_app(config: Optional[Config] = None, start: bool = True,
               with_pipeline: bool = True) -> Flask:
    """Build a Flask app with its own hub and services; start them unless told not to.

    ``with_pipeline=False`` builds the realtime hub and its HTTP API alone: no
    workers, monitor or importer publish into it (tests, hub-only deployments).
    """
    config = config or Config.load()
    problem = auth.start_problem(config)
    if problem:
        raise RuntimeError(problem)
    logs.install_redaction()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, static_folder=str(pages.STATIC_DIR),
                template_folder=str(pages.TEMPLATE_DIR))
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_size
    # Never Werkzeug's debugger nor Flask's debug mode (--debug means verbose logs only):
    # an error answer is JSON without a traceback in every mode.
    app.debug = False
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    db = Database(config.database_url)
    hub, services = build_hub(config, db)
    runtime = Runtime(config, db, hub)
    for service in services:
        runtime.add(service)
    app.extensions["darkroom"] = runtime
    errors.init_app(app)
    authority = auth.install(app, config, runtime)
    security.init_app(app, config, authority)
    websocket_server.init_app(app, runtime.hub)
    if with_pipeline:
        pipeline.init_app(app)
    pages.init_app(app)
    from darkroom.web import ops
    ops.init_app(app)
    if start:
        runtime.start()
    return app


def build_hub(config: Config, db: Database, serves_clients: bool = True
              ) -> tuple[Hub, list[Service]]:
    """The hub and the services it needs, for a web process or one that only publishes.

    Without ``redis_url`` the hub stamps and logs in this process (SQL event log).
    With it, the event log is the Redis stream every process shares; a process
    that serves clients also follows the stream and lists its clients there
    (``serves_clients=False``, e.g. a worker: publish only).
    """
    if not config.redis_url:
        event_log = GroupCommitLog(SqlEventLog(db))
        hub = Hub(config, event_log, websocket_events.EVENTS)
        return hub, [websocket_events.HubBinding(hub),
                     LogTrimmer(event_log, config.log_max_events, config.log_max_age)]
    from darkroom.realtime import redis_log
    from darkroom.realtime.presence import Presence
    from darkroom.realtime.redis_link import RedisLink

    keys = redis_log.Keys(config.redis_prefix)
    stream_log = redis_log.RedisEventLog(redis_log.connect(config.redis_url), keys,
                                         config.log_max_events)
    link = RedisLink(config.redis_url, stream_log, config.redis_buffer, read=serves_clients)
    hub = Hub(config, stream_log, websocket_events.EVENTS, stream=link)
    services: list[Service] = [websocket_events.HubBinding(hub)]
    if serves_clients:
        hub.presence = Presence(config.redis_url, keys, hub, config.presence_ttl,
                                stream_log.process)
        services.append(hub.presence)
        services.append(LogTrimmer(stream_log, config.log_max_events, config.log_max_age))
    return hub, services


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``darkroom [serve] [options]``, or a subcommand (``darkroom --help``): see darkroom/cli.py."""
    from darkroom import cli

    return cli.main(sys.argv[1:] if argv is None else argv)


def serve(argv: Sequence[str]) -> int:
    """``darkroom [serve] [options]``: start the server with these options."""
    argv = list(argv)
    config = Config.load(argv)
    config.host = auth.lan_host(config, argv)
    problem = auth.start_problem(config)
    if problem:
        print(f"darkroom: {problem}", file=sys.stderr)
        return 2
    logs.configure("debug" if config.debug else config.log_level)
    return serving.serve(lambda: create_app(config), config)


if __name__ == "__main__":
    sys.exit(main())
