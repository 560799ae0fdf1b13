"""``/api/export`` (start exports) and ``/api/exports`` (list them)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from darkroom.pipeline import pipeline
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.http import params
from darkroom.pipeline.http.serialise import export_json
from darkroom.pipeline.jobs import export, lifecycle
from darkroom.pipeline.media import colour
from darkroom.pipeline.media.sizes import EXPORT_QUALITY, MAX_EXPORT_EDGE
from darkroom.pipeline.sessions import get as get_session

bp = Blueprint("exports", __name__)


def export_options(data: dict) -> dict:
    """Format, quality, size, colour space, bit depth, metadata and priority of an export
    request (also used by approve)."""
    fmt = (params.string(data, "format", default="jpeg", max_length=10) or "jpeg").lower()
    if fmt not in export.FORMATS:
        raise PipelineError(400, "invalid_field", "'format' must be jpeg, png, tiff or heic")
    space = colour.space_name(params.string(data, "color_space", default="srgb", max_length=20))
    if space is None:
        raise PipelineError(400, "invalid_field",
                            "'color_space' must be srgb, display-p3 or adobe-rgb")
    bit_depth = params.integer(data, "bit_depth", default=8, lo=8, hi=16)
    if bit_depth not in (8, 16):
        raise PipelineError(400, "invalid_field", "'bit_depth' must be 8 or 16")
    if bit_depth == 16 and export.FORMATS[fmt][0] not in ("tiff", "png"):
        raise PipelineError(400, "invalid_field", "'bit_depth' 16 needs format tiff or png")
    rights = {k: params.string(data, k, max_length=500) for k in ("creator", "copyright", "contact")}
    return {
        "color_space": space,
        "bit_depth": bit_depth,
        "strip_location": params.boolean(data, "strip_location", default=False),
        "rights": {k: v for k, v in rights.items() if v},
        "fmt": fmt,
        "quality": params.integer(data, "quality", default=EXPORT_QUALITY, lo=1, hi=100),
        "long_edge": params.integer(data, "long_edge", lo=16, hi=MAX_EXPORT_EDGE),
        "priority": params.priority(data, default=lifecycle.USER_PRIORITY),
    }


@bp.post("/api/export")
def start_export():
    data = params.body()
    p = pipeline()
    session_id = params.identifier(data, "session_id")
    photo_ids = params.id_list(data, "photo_ids")
    if photo_ids is None:
        if session_id is None:
            raise PipelineError(400, "missing_field", "'photo_ids' or 'session_id' is required")
        with p.db.read() as s:
            get_session(s, session_id)
            photo_ids = export.approved_in_session(s, session_id)
    options = export_options(data)
    destination = export.resolve_destination(p, params.string(data, "destination"))
    created = export.create(p, photo_ids, destination, **options)
    return jsonify({"success": True, "destination": str(destination), "exports": created,
                    "count": len(created)}), 202


@bp.get("/api/exports")
def list_exports():
    photo_id = params.query_int("photo_id")
    limit = params.query_limit()
    with pipeline().db.read() as s:
        out = [export_json(r) for r in export.find(s, photo_id, limit)]
    return jsonify({"success": True, "exports": out, "count": len(out)})
