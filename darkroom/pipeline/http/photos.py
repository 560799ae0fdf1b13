"""``/api/photos``: listing (filtered, sorted, paged by cursor) and reading photos, and serving
their images."""

from __future__ import annotations

from flask import Blueprint, jsonify, send_file

from darkroom.pipeline import gallery, pipeline
from darkroom.pipeline import photos as domain
from darkroom.pipeline.http import params
from darkroom.pipeline.http.serialise import (
    export_json,
    job_json,
    photo_detail_json,
    photos_page_json,
)
from darkroom.pipeline.status import Decision, PhotoStatus
from websocket_events import COLOR_LABELS, FLAGS

bp = Blueprint("photos", __name__)


@bp.get("/api/photos")
def list_photos():
    none = [gallery.NONE]
    listing = gallery.Listing(
        session_id=params.query_int("session_id"),
        status=params.query_choice("status", list(PhotoStatus)),
        decision=params.query_choice("decision", [*Decision, *none]),
        min_rating=params.query_int("min_rating", 0, 5),
        flag=params.query_choice("flag", [*FLAGS, *none]),
        color_label=params.query_choice("color_label", [*COLOR_LABELS, *none]),
        sort=params.query_choice("sort", gallery.SORTS, "invalid_sort") or "captured",
        order=params.query_choice("order", gallery.ORDERS, "invalid_order") or "asc")
    limit = params.query_limit()
    offset = params.query_int("offset") or 0
    cursor = params.query_string("cursor")
    with pipeline().db.read() as s:
        page = gallery.page(s, listing, limit, cursor, offset)
        body = photos_page_json(page)
    return jsonify({"success": True, **body, "count": len(body["photos"]),
                    "total": page.total})


@bp.get("/api/photos/<id:photo_id>")
def get_photo(photo_id: int):
    p = pipeline()
    with p.db.read() as s:
        photo = domain.get(s, photo_id)
        body = photo_detail_json(photo, gallery.bursts(s, [photo]).get(photo_id))
        jobs, exports = domain.history(s, photo_id)
        body["jobs"] = [job_json(j, p.workers.live.get(j.id)) for j in jobs]
        body["exports"] = [export_json(e) for e in exports]
    return jsonify({"success": True, "photo": body})


def _send(path: str):
    response = send_file(path, mimetype="image/jpeg", max_age=0, conditional=True)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _image(photo_id: int, image: str):
    with pipeline().db.read() as s:
        path = domain.image_file(s, photo_id, image)
    return _send(path)


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


@bp.get("/api/photos/<id:photo_id>/full")
def photo_full(photo_id: int):
    return _send(domain.full_image_file(pipeline(), photo_id))
