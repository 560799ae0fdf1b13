"""``/api/queue``: the job counts and ETA, and pausing or resuming the workers."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify

from darkroom.pipeline import eta, pipeline
from darkroom.pipeline.http import params
from darkroom.pipeline.jobs import queue

log = logging.getLogger("darkroom.api")

bp = Blueprint("queue", __name__)


@bp.get("/api/queue")
def queue_state():
    p = pipeline()
    return jsonify({"success": True, "counts": queue.counts(p.db), "paused": p.workers.paused,
                    "workers": p.workers.size, "eta": eta.estimate(p)})


@bp.post("/api/queue/pause")
def queue_pause():
    params.body(optional=True)
    pipeline().workers.pause()
    log.info("queue paused")
    return jsonify({"success": True, "paused": True})


@bp.post("/api/queue/resume")
def queue_resume():
    params.body(optional=True)
    pipeline().workers.resume()
    log.info("queue resumed")
    return jsonify({"success": True, "paused": False})
