"""``/api/system``: the last ``system_status`` (measured now before the first tick)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from darkroom.pipeline import pipeline

bp = Blueprint("system", __name__)


@bp.get("/api/system")
def system():
    p = pipeline()
    last = p.monitor.last
    if last is None:
        m = p.monitor.measure()
        last = {"status": m["status"], "details": m["details"]}
    return jsonify({"success": True, **last, "schema_version": p.schema_version,
                    "thresholds": p.monitor.thresholds})
