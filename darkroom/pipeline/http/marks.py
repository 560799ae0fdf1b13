"""Marking photos and taking decisions back: ``PATCH /api/photos/<id>`` and ``PATCH
/api/photos`` (rating, flag, colour label; see ``pipeline.marks``) and ``POST
/api/approval/<id>/undo``."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from darkroom.db import Photo
from darkroom.pipeline import approval, marks, pipeline
from darkroom.pipeline import photos as photos_domain
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.http import params
from darkroom.pipeline.http.serialise import photo_json

bp = Blueprint("marks", __name__)


def _photo(photo_id: int) -> dict:
    with pipeline().db.read() as s:
        return photo_json(photos_domain.get(s, photo_id))


@bp.patch("/api/photos/<id:photo_id>")
def mark_photo(photo_id: int):
    new = marks.changes(params.body())
    marks.apply(pipeline(), [photo_id], new)
    return jsonify({"success": True, "photo": _photo(photo_id)})


@bp.patch("/api/photos")
def mark_photos():
    data = params.body()
    ids = params.id_list(data, "ids")
    if ids is None:
        raise PipelineError(400, "missing_field", "'ids' is required: a list of photo ids")
    new = marks.changes(data)
    p = pipeline()
    marks.apply(p, ids, new)
    with p.db.read() as s:
        rows = {ph.id: ph for ph in s.scalars(select(Photo).where(Photo.id.in_(ids)))}
        out = [photo_json(rows[i]) for i in ids if i in rows]
    return jsonify({"success": True, "updated": len(ids), "photos": out})


@bp.post("/api/approval/<id:photo_id>/undo")
def undo_decision(photo_id: int):
    params.body(optional=True)
    previous = approval.undo(pipeline(), photo_id)
    return jsonify({"success": True, "photo": _photo(photo_id), "previous_decision": previous})
