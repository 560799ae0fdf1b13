"""The browser pages: the live dashboard, the phone view and the quick reference's examples.

The pages are static shells (templates + ES modules under ``static/``); they
load their state from the public HTTP API and then follow ``/ws``, exactly as
any other client would, so nothing here needs private access to the pipeline.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Flask, current_app, render_template

log = logging.getLogger("darkroom.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

bp = Blueprint("web", __name__)


@bp.get("/")
def dashboard():
    # In LAN mode the dashboard shows a pairing QR code for phones (darkroom/web/auth.py).
    lan = current_app.extensions["darkroom"].config.lan
    return render_template("dashboard.html", lan=lan)


@bp.get("/mobile")
def mobile():
    return render_template("mobile.html")


@bp.get("/examples")
def examples():
    return render_template("examples.html")


def init_app(app: Flask) -> None:
    """Serve the pages of ``app`` (templates and static files are package data beside this module)."""
    app.register_blueprint(bp)
    log.debug("web pages registered")
