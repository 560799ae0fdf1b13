"""``/api/sessions``: create, list, read and change sessions."""

from __future__ import annotations

from flask import Blueprint, jsonify

from darkroom.pipeline import marks, pipeline
from darkroom.pipeline import sessions as domain
from darkroom.pipeline.http import params
from darkroom.pipeline.http.serialise import session_json as _session_json
from darkroom.pipeline.status import SessionStatus

bp = Blueprint("sessions", __name__)


def session_json(s, session) -> dict:
    """A session, with its copy-on-import folders (None: photos stay where they are)."""
    return {**_session_json(s, session), "library_folder": session.library_folder,
            "backup_folder": session.backup_folder}


@bp.post("/api/sessions")
def create_session():
    data = params.body()
    name = params.string(data, "name", required=True, max_length=domain.MAX_NAME)
    folder = params.string(data, "import_folder", required=True)
    library = params.string(data, "library_folder")
    backup = params.string(data, "backup_folder")
    develop = domain.check_develop(data.get("develop"))
    p = pipeline()
    session_id = domain.create(p, name, folder, library or None, backup or None, develop)
    with p.db.read() as s:
        body = session_json(s, domain.get(s, session_id))
    return jsonify({"success": True, "session": body, "session_id": session_id}), 201


@bp.get("/api/sessions")
def list_sessions():
    status = params.query_choice("status", list(SessionStatus))
    with pipeline().db.read() as s:
        out = [session_json(s, row) for row in domain.find(s, status)]
    return jsonify({"success": True, "sessions": out, "count": len(out)})


@bp.get("/api/sessions/<id:session_id>")
def get_session(session_id: int):
    with pipeline().db.read() as s:
        return jsonify({"success": True, "session": session_json(s, domain.get(s, session_id))})


@bp.patch("/api/sessions/<id:session_id>")
def patch_session(session_id: int):
    data = params.body()
    name = params.string(data, "name", max_length=domain.MAX_NAME)
    folder = params.string(data, "import_folder")
    status = params.string(data, "status", max_length=20)
    library = params.string(data, "library_folder")
    backup = params.string(data, "backup_folder")
    develop = domain.check_develop(data.get("develop"))
    p = pipeline()
    domain.update_session(p, session_id, name=name, import_folder=folder, status=status,
                          library_folder=library, backup_folder=backup, develop=develop)
    if develop is not None:
        marks.develop_wanted(p, session_id)
    with p.db.read() as s:
        return jsonify({"success": True, "session": session_json(s, domain.get(s, session_id))})
