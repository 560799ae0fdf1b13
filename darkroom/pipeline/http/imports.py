"""Importing: one file by path (``/import/file``), or a session's whole folder."""

from __future__ import annotations

from flask import Blueprint, jsonify

from darkroom.pipeline import pipeline
from darkroom.pipeline.http import params
from darkroom.pipeline.intake import importer, scan

bp = Blueprint("imports", __name__)


@bp.post("/import/file")
def import_one_file():
    data = params.body()
    file_path = params.string(data, "file_path", required=True)
    session_id = params.identifier(data, "session_id")
    result = importer.import_file(pipeline(), file_path, session_id)
    return jsonify({"success": True, **result}), 200


@bp.post("/api/sessions/<id:session_id>/import")
def import_session_folder(session_id: int):
    body = scan.queue_session_folder(pipeline(), session_id)
    return jsonify({"success": True, "session_id": session_id, **body}), 202

