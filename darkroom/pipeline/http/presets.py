"""``/api/presets``: every preset, re-read from disk so a new file shows at once."""

from __future__ import annotations

from flask import Blueprint, jsonify

from darkroom.pipeline import pipeline

bp = Blueprint("presets", __name__)


@bp.get("/api/presets")
def list_presets():
    library = pipeline().presets
    library.reload()
    out = [preset.to_json() for preset in library.all()]
    return jsonify({"success": True, "presets": out, "count": len(out)})
