"""``/api/photos``: listing and reading photos, and serving their images."""

from __future__ import annotations

from flask import Blueprint, jsonify, send_file

from darkroom.pipeline import photos as domain
from darkroom.pipeline import pipeline
from darkroom.pipeline.http import params
from darkroom.pipeline.http.serialise import export_json, job_json, photo_json
from darkroom.pipeline.status import Decision, PhotoStatus

bp = Blueprint("photos", __name__)


@bp.get("/api/photos")
def list_photos():
    session_id = params.query_int("session_id")
    status = params.query_choice("status", list(PhotoStatus))
    decision = params.query_choice("decision", [*Decision, domain.NO_DECISION])
    limit = params.query_limit()
    offset = params.query_int("offset") or 0
    with pipeline().db.read() as s:
        rows, total = domain.find(s, session_id, status, decision, limit, offset)
        out = [photo_json(ph) for ph in rows]
    return jsonify({"success": True, "photos": out, "count": len(out), "total": total})


@bp.get("/api/photos/<id:photo_id>")
def get_photo(photo_id: int):
    p = pipeline()
    with p.db.read() as s:
        body = photo_json(domain.get(s, photo_id))
        jobs, exports = domain.history(s, photo_id)
        body["jobs"] = [job_json(j, p.workers.live.get(j.id)) for j in jobs]
        body["exports"] = [export_json(e) for e in exports]
    return jsonify({"success": True, "photo": body})


def _image(photo_id: int, image: str):
    with pipeline().db.read() as s:
        path = domain.image_file(s, photo_id, image)
    response = send_file(path, mimetype="image/jpeg", max_age=0, conditional=True)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/api/photos/<id:photo_id>/thumbnail")
def photo_thumbnail(photo_id: int):
    return _image(photo_id, "thumbnail")


@bp.get("/api/photos/<id:photo_id>/preview")
def photo_preview(photo_id: int):
    return _image(photo_id, "preview")


@bp.get("/api/photos/<id:photo_id>/developed")
def photo_developed(photo_id: int):
    return _image(photo_id, "developed")


@bp.get("/api/photos/<id:photo_id>/developed/thumbnail")
def photo_developed_thumbnail(photo_id: int):
    return _image(photo_id, "developed/thumbnail")
