"""The photo pipeline: import, analysis, selection, develop jobs, approval, export.

``init_app(app)`` wires one app's pipeline: its database (schema migrated, the
Inbox session ensured), its HTTP blueprints and its background services
(queue-status notifier, import queue, worker pool, lease reaper, monitor, hot
folder). ``init_worker(runtime)`` wires a ``darkroom worker``: no Flask app,
only the job services (no routes, importer, monitor or hot folder). It starts no
thread itself; the services start and stop with the app's runtime, so many
apps (one per test) can live in one process, each with its own data directory
and database.

Only ``http`` knows Flask: the domain (media, intake, jobs, sessions,
approval...) imports without it. This module stays light (the wiring is in
``wiring.py``), so a client command importing a piece of the domain does not
load the services, SQLAlchemy and Alembic with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from flask import Flask

    from darkroom.pipeline.wiring import Pipeline
    from darkroom.runtime import Runtime

EXTENSION = "darkroom_pipeline"


def pipeline(app: Optional["Flask"] = None) -> "Pipeline":
    """The pipeline of ``app`` (or of the current app)."""
    from flask import current_app

    return (app or current_app).extensions[EXTENSION]


def init_app(app: "Flask") -> "Pipeline":
    """Attach a pipeline to ``app``: database, routes and services (started by the runtime)."""
    from darkroom.pipeline import wiring

    return wiring.init_app(app)


def init_worker(rt: "Runtime") -> "Pipeline":
    """A pipeline that only runs jobs, on ``rt`` (``darkroom worker``: no web server)."""
    from darkroom.pipeline import wiring

    return wiring.init_worker(rt)
