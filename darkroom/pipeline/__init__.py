"""The photo pipeline: import, analysis, selection, develop jobs, approval, export.

``init_app(app)`` wires one app's pipeline: its database, its HTTP blueprints
and its background services (workers, monitor, hot folder). It starts no
thread itself; the services start with the app's runtime.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Attach the pipeline to ``app`` (safe to call for many apps in one process)."""
    app.extensions.setdefault("darkroom_pipeline", None)
