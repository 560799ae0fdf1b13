"""``/api/approval``: the photos awaiting a decision (a ``gallery`` listing), and approving
(optionally exporting) or rejecting one."""

from __future__ import annotations

from flask import Blueprint, jsonify

from darkroom.pipeline import approval as domain
from darkroom.pipeline import gallery, pipeline
from darkroom.pipeline.http import params
from darkroom.pipeline.http.exports import export_options
from darkroom.pipeline.http.serialise import photos_page_json
from darkroom.pipeline.jobs import export
from darkroom.pipeline.status import Decision

bp = Blueprint("approval", __name__)


@bp.get("/api/approval/queue")
def approval_queue():
    """The photos waiting for a decision in capture order (bursts stay together), paged by
    cursor; ``count`` is how many wait in all."""
    listing = gallery.Listing(scope="approval", session_id=params.query_int("session_id"))
    limit = params.query_limit()
    cursor = params.query_string("cursor")
    with pipeline().db.read() as s:
        page = gallery.page(s, listing, limit, cursor)
        body = photos_page_json(page)
    return jsonify({"success": True, **body, "count": page.total})


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
