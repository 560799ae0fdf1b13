"""``/api/approval``: the photos awaiting a decision, and approving (optionally exporting)
or rejecting one."""

from __future__ import annotations

from flask import Blueprint, jsonify

from darkroom.pipeline import approval as domain
from darkroom.pipeline import pipeline
from darkroom.pipeline.http import params
from darkroom.pipeline.http.exports import export_options
from darkroom.pipeline.http.serialise import photo_json
from darkroom.pipeline.jobs import export
from darkroom.pipeline.status import Decision

bp = Blueprint("approval", __name__)


@bp.get("/api/approval/queue")
def approval_queue():
    session_id = params.query_int("session_id")
    limit = params.query_limit()
    with pipeline().db.read() as s:
        rows, total = domain.waiting(s, session_id, limit)
        out = [photo_json(ph) for ph in rows]
    return jsonify({"success": True, "photos": out, "count": total})


@bp.post("/api/approval/<id:photo_id>/approve")
def approve(photo_id: int):
    data = params.body(optional=True)
    auto_export = params.boolean(data, "auto_export")
    p = pipeline()
    options = export_options(data) if auto_export else {}
    destination = export.resolve_destination(p, params.string(data, "destination")) \
        if auto_export else None
    result = domain.decide(p, photo_id, Decision.APPROVED)
    if auto_export:
        result["exports"] = export.create(p, [photo_id], destination, **options)
    return jsonify({"success": True, **result})


@bp.post("/api/approval/<id:photo_id>/reject")
def reject(photo_id: int):
    data = params.body(optional=True)
    reason = params.string(data, "reason", default="", max_length=params.MAX_REASON)
    return jsonify({"success": True, **domain.decide(pipeline(), photo_id, Decision.REJECTED,
                                                     reason)})
