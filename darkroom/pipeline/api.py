"""The pipeline's HTTP API (JSON). Errors are ``ApiError``s: ``{success: false, code, error}``.

Client input is untrusted: every field is checked for type, length and range,
paths are resolved with realpath and must be regular files (imports) or lie
inside the export folders (exports), and error bodies never carry a
traceback or a path the client did not send.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Optional

from flask import Blueprint, Flask, jsonify, request, send_file
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from darkroom.db import Export, Job, Photo, PhotoSession, iso, utcnow
from darkroom.pipeline import approval, export, imaging, importer, jobs, pipeline
from darkroom.pipeline import sessions as sessions_mod
from darkroom.web.errors import ApiError, json_body
from websocket_events import broadcast_priority_changed, broadcast_session_created

log = logging.getLogger("darkroom.api")

bp = Blueprint("pipeline", __name__)

MAX_NAME = 200
MAX_REASON = 1000
MAX_LIST = 1000


# --- input --------------------------------------------------------------------

def _body(optional: bool = False) -> dict:
    """The JSON object body; with ``optional`` an empty body (or a Lua ``[]``) is ``{}``."""
    if optional and not request.get_data(cache=True):
        return {}
    if optional and request.is_json and request.get_json(silent=True) == []:
        return {}
    return json_body()


def _missing(key: str) -> ApiError:
    return ApiError(400, "missing_field", f"'{key}' is required")


def _int(data: dict, key: str, *, required: bool = False, default: Optional[int] = None,
         lo: Optional[int] = None, hi: Optional[int] = None) -> Optional[int]:
    value = data.get(key)
    if value is None:
        if required:
            raise _missing(key)
        return default
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "invalid_field", f"'{key}' must be an integer")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ApiError(400, "invalid_field", f"'{key}' must be between {lo} and {hi}")
    return value


def _str(data: dict, key: str, *, required: bool = False, default: Optional[str] = None,
         max_length: int = 4096) -> Optional[str]:
    value = data.get(key)
    if value is None:
        if required:
            raise _missing(key)
        return default
    if not isinstance(value, str):
        raise ApiError(400, "invalid_field", f"'{key}' must be a string")
    if len(value) > max_length or "\x00" in value:
        raise ApiError(400, "invalid_field", f"'{key}' must be at most {max_length} characters")
    return value


def _bool(data: dict, key: str, default: bool = False) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError(400, "invalid_field", f"'{key}' must be true or false")
    return value


def _query_int(key: str, lo: int = 0, hi: int = 2**31) -> Optional[int]:
    raw = request.args.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_query", f"'{key}' must be an integer") from None
    if not lo <= value <= hi:
        raise ApiError(400, "invalid_query", f"'{key}' must be between {lo} and {hi}")
    return value


def _query_choice(key: str, choices) -> Optional[str]:
    raw = request.args.get(key)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise ApiError(400, "invalid_query", f"'{key}' must be one of: {', '.join(choices)}")
    return raw


def _folder(raw: str) -> str:
    real = os.path.realpath(os.path.expanduser(raw))
    if not os.path.isdir(real):
        raise ApiError(400, "invalid_folder", f"import_folder is not a folder: {raw}")
    return real


# --- output -------------------------------------------------------------------

def photo_json(photo: Photo) -> dict:
    base = f"/api/photos/{photo.id}"
    return {
        "id": photo.id, "session_id": photo.session_id, "file_name": photo.file_name,
        "file_path": photo.file_path, "file_size": photo.file_size, "format": photo.format,
        "width": photo.width, "height": photo.height, "content_hash": photo.content_hash,
        "exif": photo.exif or {}, "analysis": photo.analysis, "ai_score": photo.ai_score,
        "context_tag": photo.context_tag, "preset": photo.preset, "status": photo.status,
        "decision": photo.decision, "decision_reason": photo.decision_reason,
        "decided_at": iso(photo.decided_at), "error": photo.error,
        "imported_at": iso(photo.imported_at), "updated_at": iso(photo.updated_at),
        "thumbnail_url": f"{base}/thumbnail", "preview_url": f"{base}/preview",
        "developed_url": f"{base}/developed" if photo.developed_path else None,
        "developed_thumbnail_url": f"{base}/developed/thumbnail" if photo.developed_path
        else None,
    }


def export_json(row: Export) -> dict:
    return {"id": row.id, "photo_id": row.photo_id, "job_id": row.job_id,
            "destination": row.destination, "format": row.format, "quality": row.quality,
            "long_edge": row.long_edge, "status": row.status, "output_path": row.output_path,
            "file_size": row.file_size, "error": row.error, "created_at": iso(row.created_at),
            "finished_at": iso(row.finished_at)}


def _session_json(s, session: PhotoSession) -> dict:
    return sessions_mod.to_json(session, sessions_mod.counts(s, session.id))


def _get_session(s, session_id: int) -> PhotoSession:
    session = s.get(PhotoSession, session_id)
    if session is None:
        raise ApiError(404, "session_not_found", f"no session {session_id}")
    return session


def _get_photo(s, photo_id: int) -> Photo:
    photo = s.get(Photo, photo_id)
    if photo is None:
        raise ApiError(404, "photo_not_found", f"no photo {photo_id}")
    return photo


def _get_job(s, job_id: int) -> Job:
    job = s.get(Job, job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id}")
    return job


# --- sessions -----------------------------------------------------------------

@bp.post("/api/sessions")
def create_session():
    data = _body()
    name = _str(data, "name", required=True, max_length=MAX_NAME).strip()
    if not name:
        raise ApiError(400, "invalid_field", "'name' must not be empty")
    folder = _folder(_str(data, "import_folder", required=True))
    p = pipeline()
    try:
        with p.db.write() as s:
            if s.scalar(select(PhotoSession.id).where(PhotoSession.name == name)) is not None:
                raise ApiError(409, "duplicate_name", f"a session named '{name}' already exists")
            session = PhotoSession(name=name, import_folder=folder)
            s.add(session)
            s.flush()
            body = _session_json(s, session)
    except IntegrityError:
        raise ApiError(409, "duplicate_name", f"a session named '{name}' already exists") \
            from None
    log.info("session %d '%s' created over %s", body["id"], name, folder)
    broadcast_session_created(session_id=body["id"], session_name=name, import_folder=folder)
    p.hotfolder_changed()
    return jsonify({"success": True, "session": body, "session_id": body["id"]}), 201


@bp.get("/api/sessions")
def list_sessions():
    p = pipeline()
    status = _query_choice("status", sessions_mod.STATUSES)
    with p.db.read() as s:
        q = select(PhotoSession).order_by(PhotoSession.id)
        if status:
            q = q.where(PhotoSession.status == status)
        out = [_session_json(s, row) for row in s.scalars(q)]
    return jsonify({"success": True, "sessions": out, "count": len(out)})


@bp.get("/api/sessions/<int:session_id>")
def get_session(session_id: int):
    with pipeline().db.read() as s:
        return jsonify({"success": True, "session": _session_json(s, _get_session(s, session_id))})


@bp.patch("/api/sessions/<int:session_id>")
def patch_session(session_id: int):
    data = _body()
    p = pipeline()
    name = _str(data, "name", max_length=MAX_NAME)
    folder = _str(data, "import_folder")
    status = _str(data, "status", max_length=20)
    if status is not None and status not in ("active", "paused"):
        raise ApiError(400, "invalid_field", "'status' must be 'active' or 'paused'")
    try:
        with p.db.write() as s:
            session = _get_session(s, session_id)
            if name is not None:
                name = name.strip()
                if not name:
                    raise ApiError(400, "invalid_field", "'name' must not be empty")
                if session.id == p.inbox_id and name != session.name:
                    raise ApiError(409, "inbox_fixed", "the Inbox session cannot be renamed")
                clash = s.scalar(select(PhotoSession.id).where(PhotoSession.name == name,
                                                               PhotoSession.id != session_id))
                if clash is not None:
                    raise ApiError(409, "duplicate_name",
                                   f"a session named '{name}' already exists")
                session.name = name
            if folder is not None:
                session.import_folder = _folder(folder)
            if status is not None and session.status != "completed":
                session.status = status
            session.updated_at = utcnow()
            s.flush()
            body = _session_json(s, session)
    except IntegrityError:
        raise ApiError(409, "duplicate_name", f"a session named '{name}' already exists") \
            from None
    sessions_mod.emit_updated(p, session_id)
    p.hotfolder_changed()
    return jsonify({"success": True, "session": body})


@bp.post("/api/sessions/<int:session_id>/import")
def import_session_folder(session_id: int):
    p = pipeline()
    with p.db.read() as s:
        folder = _get_session(s, session_id).import_folder
    if not os.path.isdir(folder):
        raise ApiError(409, "folder_missing", "the session's import folder no longer exists")
    files = importer.scan_folder(folder)
    supported = [f for f in files if imaging.file_format(f) is not None]
    skipped = [f.name for f in files if imaging.file_format(f) is None]
    for path in supported:
        p.imports.submit(path, session_id)
    log.info("session %d: queued %d file(s) from its folder", session_id, len(supported))
    return jsonify({"success": True, "session_id": session_id, "found": len(supported),
                    "files": [f.name for f in supported], "skipped": skipped}), 202


# --- import -------------------------------------------------------------------

@bp.post("/import/file")
def import_one_file():
    data = _body()
    file_path = _str(data, "file_path", required=True)
    session_id = _int(data, "session_id", lo=0, hi=2**31)
    try:
        result = importer.import_file(pipeline(), file_path, session_id)
    except importer.ImportRejected as exc:
        raise ApiError(exc.status, exc.code, exc.message, **exc.extra) from None
    return jsonify(result), 200


# --- photos -------------------------------------------------------------------

PHOTO_STATUSES = ("imported", "analyzed", "queued", "developing", "developed", "failed")


@bp.get("/api/photos")
def list_photos():
    session_id = _query_int("session_id")
    status = _query_choice("status", PHOTO_STATUSES)
    decision = _query_choice("decision", ("approved", "rejected", "none"))
    limit = _query_int("limit", 1, MAX_LIST) or 500
    offset = _query_int("offset") or 0
    with pipeline().db.read() as s:
        q = select(Photo)
        if session_id is not None:
            q = q.where(Photo.session_id == session_id)
        if status:
            q = q.where(Photo.status == status)
        if decision == "none":
            q = q.where(Photo.decision.is_(None))
        elif decision:
            q = q.where(Photo.decision == decision)
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = s.scalars(q.order_by(Photo.id).limit(limit).offset(offset)).all()
        out = [photo_json(ph) for ph in rows]
    return jsonify({"success": True, "photos": out, "count": len(out), "total": total})


@bp.get("/api/photos/<int:photo_id>")
def get_photo(photo_id: int):
    p = pipeline()
    with p.db.read() as s:
        photo = _get_photo(s, photo_id)
        body = photo_json(photo)
        job_rows = s.scalars(select(Job).where(Job.photo_id == photo_id).order_by(Job.id)).all()
        body["jobs"] = [jobs.to_json(j, p.workers.live.get(j.id)) for j in job_rows]
        body["exports"] = [export_json(e) for e in
                           s.scalars(select(Export).where(Export.photo_id == photo_id))]
    return jsonify({"success": True, "photo": body})


def _image(photo_id: int, attr: str, what: str):
    with pipeline().db.read() as s:
        path = getattr(_get_photo(s, photo_id), attr)
    if not path or not os.path.isfile(path):
        raise ApiError(404, "image_not_available", f"no {what} for photo {photo_id} yet")
    response = send_file(path, mimetype="image/jpeg", max_age=0, conditional=True)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/api/photos/<int:photo_id>/thumbnail")
def photo_thumbnail(photo_id: int):
    return _image(photo_id, "thumbnail_path", "thumbnail")


@bp.get("/api/photos/<int:photo_id>/preview")
def photo_preview(photo_id: int):
    return _image(photo_id, "preview_path", "preview")


@bp.get("/api/photos/<int:photo_id>/developed")
def photo_developed(photo_id: int):
    return _image(photo_id, "developed_preview_path", "developed image")


@bp.get("/api/photos/<int:photo_id>/developed/thumbnail")
def photo_developed_thumbnail(photo_id: int):
    return _image(photo_id, "developed_thumbnail_path", "developed thumbnail")


# --- jobs ---------------------------------------------------------------------

@bp.post("/api/jobs")
def create_job():
    data = _body()
    photo_id = _int(data, "photo_id", required=True, lo=0, hi=2**31)
    priority = _int(data, "priority", default=jobs.USER_PRIORITY, lo=1, hi=10)
    preset_name = _str(data, "preset", max_length=100)
    p = pipeline()
    with p.db.read() as s:
        photo = _get_photo(s, photo_id)
        if photo.decision is not None:
            raise ApiError(409, "already_decided", f"photo {photo_id} is already {photo.decision}")
        if photo.status in ("imported",) or (photo.preset is None and preset_name is None):
            raise ApiError(409, "not_analyzed", f"photo {photo_id} has not been analysed")
        active = s.scalar(select(Job.id).where(Job.photo_id == photo_id, Job.kind == "develop",
                                               Job.status.in_(jobs.ACTIVE)))
        if active is not None:
            raise ApiError(409, "job_active", f"photo {photo_id} already has job {active} "
                           "waiting or running", job_id=active)
        preset_name = preset_name or photo.preset
    if p.presets.get(preset_name) is None:
        raise ApiError(400, "unknown_preset", f"no preset named '{preset_name}'")
    job = jobs.create(p, photo_id, priority, preset_name)
    with p.db.read() as s:
        return jsonify({"success": True, "job": jobs.to_json(s.get(Job, job.id)),
                        "job_id": job.id}), 201


@bp.get("/api/jobs")
def list_jobs():
    p = pipeline()
    # "processing" is queue_status's name for running jobs.
    status = _query_choice("status", (*jobs.STATUSES, "processing"))
    status = "running" if status == "processing" else status
    kind = _query_choice("kind", ("develop", "export"))
    photo_id = _query_int("photo_id")
    session_id = _query_int("session_id")
    limit = _query_int("limit", 1, MAX_LIST) or 500
    with p.db.read() as s:
        q = select(Job)
        if status:
            q = q.where(Job.status == status)
        if kind:
            q = q.where(Job.kind == kind)
        if photo_id is not None:
            q = q.where(Job.photo_id == photo_id)
        if session_id is not None:
            q = q.where(Job.session_id == session_id)
        rows = s.scalars(q.order_by(Job.priority, Job.created_at, Job.id).limit(limit)).all()
        out = [jobs.to_json(j, p.workers.live.get(j.id)) for j in rows]
    return jsonify({"success": True, "jobs": out, "count": len(out),
                    "counts": jobs.queue_counts(p)})


@bp.get("/api/jobs/<int:job_id>")
def get_job(job_id: int):
    p = pipeline()
    with p.db.read() as s:
        return jsonify({"success": True,
                        "job": jobs.to_json(_get_job(s, job_id), p.workers.live.get(job_id))})


@bp.patch("/api/jobs/<int:job_id>")
def patch_job(job_id: int):
    data = _body()
    priority = _int(data, "priority", required=True, lo=1, hi=10)
    reason = _str(data, "reason", default="changed by user", max_length=MAX_REASON)
    p = pipeline()
    with p.db.write() as s:
        job = _get_job(s, job_id)
        if job.status != "pending":
            raise ApiError(409, "job_not_pending",
                           f"job {job_id} is {job.status}; only pending jobs can be reprioritised")
        old = job.priority
        job.priority = priority
        s.flush()
        body = jobs.to_json(job)
    if old != priority:
        log.info("job %d priority %d -> %d (%s)", job_id, old, priority, reason)
        broadcast_priority_changed(job_id=job_id, old_priority=old, new_priority=priority,
                                   reason=reason)
    return jsonify({"success": True, "job": body, "old_priority": old})


@bp.post("/api/jobs/<int:job_id>/cancel")
def cancel_job(job_id: int):
    _body(optional=True)
    p = pipeline()
    with p.db.write() as s:
        job = _get_job(s, job_id)
        if job.status not in jobs.ACTIVE:
            raise ApiError(409, "job_finished", f"job {job_id} is already {job.status}")
        if job.status == "pending":
            won = s.execute(update(Job).where(Job.id == job_id, Job.status == "pending")
                            .values(status="cancelled", finished_at=utcnow())).rowcount
            if won and job.kind == "develop":
                s.execute(update(Photo).where(Photo.id == job.photo_id)
                          .values(status="analyzed"))
            running = not won
        else:
            running = True
    if running:
        p.workers.cancel_requests.add(job_id)
        state = "cancelling"
    else:
        p.queue.changed()
        state = "cancelled"
        jobs.announce_cancelled(job_id, job.photo_id, job.kind)
        if job.kind == "export":
            export.cancelled_before_start(p, job_id)
    log.info("job %d %s", job_id, state)
    return jsonify({"success": True, "job_id": job_id, "status": state}), \
        (202 if running else 200)


@bp.post("/api/jobs/<int:job_id>/retry")
def retry_job(job_id: int):
    _body(optional=True)
    p = pipeline()
    with p.db.write() as s:
        job = _get_job(s, job_id)
        if job.status not in ("failed", "cancelled"):
            raise ApiError(409, "job_not_retryable",
                           f"job {job_id} is {job.status}; only failed or cancelled jobs retry")
        photo = s.get(Photo, job.photo_id)
        if job.kind == "develop":
            if photo.decision is not None:
                raise ApiError(409, "already_decided", f"photo {photo.id} is already decided")
            active = s.scalar(select(Job.id).where(Job.photo_id == job.photo_id,
                                                   Job.kind == "develop",
                                                   Job.status.in_(jobs.ACTIVE)))
            if active is not None:
                raise ApiError(409, "job_active", f"photo {photo.id} already has job {active}")
            photo.status, photo.error = "queued", None
        job.status, job.stage, job.progress, job.finished_at = "pending", None, 0.0, None
        job.error_message, job.error_details = None, None
        session_id = photo.session_id
        s.flush()
        body = jobs.to_json(job)
    log.info("job %d retried", job_id)
    jobs.announce_requeued(job)
    p.queue.changed()
    p.workers.wake()
    if job.kind == "develop":
        sessions_mod.emit_updated(p, session_id)
    return jsonify({"success": True, "job": body})


@bp.get("/api/queue")
def queue_state():
    p = pipeline()
    return jsonify({"success": True, "counts": jobs.queue_counts(p), "paused": p.workers.paused,
                    "workers": p.workers.size})


@bp.post("/api/queue/pause")
def queue_pause():
    _body(optional=True)
    p = pipeline()
    p.workers.pause()
    log.info("queue paused")
    return jsonify({"success": True, "paused": True})


@bp.post("/api/queue/resume")
def queue_resume():
    _body(optional=True)
    p = pipeline()
    p.workers.resume()
    log.info("queue resumed")
    return jsonify({"success": True, "paused": False})


# --- approval -----------------------------------------------------------------

@bp.get("/api/approval/queue")
def approval_queue():
    session_id = _query_int("session_id")
    limit = _query_int("limit", 1, MAX_LIST) or 500
    with pipeline().db.read() as s:
        q = select(Photo).where(approval.waiting_filter())
        if session_id is not None:
            q = q.where(Photo.session_id == session_id)
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = s.scalars(q.order_by(Photo.ai_score.desc(), Photo.id).limit(limit)).all()
        out = [photo_json(ph) for ph in rows]
    return jsonify({"success": True, "photos": out, "count": total})


def _export_options(data: dict) -> dict:
    fmt = (_str(data, "format", default="jpeg", max_length=10) or "jpeg").lower()
    if fmt not in export.FORMATS:
        raise ApiError(400, "invalid_field", "'format' must be jpeg, png or tiff")
    return {
        "fmt": fmt,
        "quality": _int(data, "quality", default=export.DEFAULT_QUALITY, lo=1, hi=100),
        "long_edge": _int(data, "long_edge", lo=16, hi=export.MAX_LONG_EDGE),
        "priority": _int(data, "priority", default=jobs.USER_PRIORITY, lo=1, hi=10),
    }


@bp.post("/api/approval/<int:photo_id>/approve")
def approve(photo_id: int):
    data = _body(optional=True)
    auto_export = _bool(data, "auto_export")
    p = pipeline()
    options = destination = None
    if auto_export:
        options = _export_options(data)
        destination = _resolve(p, _str(data, "destination"))
    try:
        result = approval.decide(p, photo_id, "approved")
    except approval.DecisionRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    if auto_export:
        try:
            result["exports"] = export.create(p, [photo_id], destination, **options)
        except export.ExportRefused as exc:
            raise ApiError(exc.status, exc.code, exc.message, **exc.extra) from None
    return jsonify({"success": True, **result})


@bp.post("/api/approval/<int:photo_id>/reject")
def reject(photo_id: int):
    data = _body(optional=True)
    reason = _str(data, "reason", default="", max_length=MAX_REASON)
    try:
        result = approval.decide(pipeline(), photo_id, "rejected", reason)
    except approval.DecisionRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return jsonify({"success": True, **result})


# --- export -------------------------------------------------------------------

def _resolve(p, destination: Optional[str]):
    try:
        return export.resolve_destination(p, destination)
    except export.ExportRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


@bp.post("/api/export")
def start_export():
    data = _body()
    p = pipeline()
    photo_ids = data.get("photo_ids")
    session_id = _int(data, "session_id", lo=0, hi=2**31)
    if photo_ids is not None and photo_ids != []:
        if not isinstance(photo_ids, list) or len(photo_ids) > MAX_LIST or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**31
                for i in photo_ids):
            raise ApiError(400, "invalid_field",
                           f"'photo_ids' must be a list of at most {MAX_LIST} photo ids")
        photo_ids = list(dict.fromkeys(photo_ids))
    elif session_id is not None:
        with p.db.read() as s:
            _get_session(s, session_id)
            photo_ids = list(s.scalars(select(Photo.id).where(
                Photo.session_id == session_id, Photo.decision == "approved")
                .order_by(Photo.id)))
        if not photo_ids:
            raise ApiError(409, "nothing_to_export",
                           f"session {session_id} has no approved photos")
    else:
        raise ApiError(400, "missing_field", "'photo_ids' or 'session_id' is required")
    options = _export_options(data)
    destination = _resolve(p, _str(data, "destination"))
    try:
        created = export.create(p, photo_ids, destination, **options)
    except export.ExportRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message, **exc.extra) from None
    return jsonify({"success": True, "destination": str(destination), "exports": created,
                    "count": len(created)}), 202


@bp.get("/api/exports")
def list_exports():
    photo_id = _query_int("photo_id")
    limit = _query_int("limit", 1, MAX_LIST) or 500
    with pipeline().db.read() as s:
        q = select(Export)
        if photo_id is not None:
            q = q.where(Export.photo_id == photo_id)
        rows = s.scalars(q.order_by(Export.id.desc()).limit(limit)).all()
        out = [export_json(r) for r in rows]
    return jsonify({"success": True, "exports": out, "count": len(out)})


# --- presets and system -------------------------------------------------------

@bp.get("/api/presets")
def list_presets():
    p = pipeline()
    p.presets.reload()
    out = [preset.to_json() for preset in p.presets.all()]
    return jsonify({"success": True, "presets": out, "count": len(out)})


@bp.get("/api/system")
def system():
    p = pipeline()
    last = p.monitor.last
    if last is None:
        m = p.monitor.measure()
        last = {"status": m["status"], "details": m["details"]}
    return jsonify({"success": True, **last, "schema_version": p.schema_version,
                    "thresholds": p.monitor.thresholds})


def _unexpected(exc: Exception):
    """A bug or an environment failure in a pipeline request: error_occurred, then a 500."""
    jobs.report_error(exc, f"{request.method} {request.path}")
    return jsonify({"success": False, "code": "internal_error",
                    "error": "internal server error"}), 500


# Not ``Exception``: a blueprint handler for it would also catch ApiError and HTTPException,
# which the app-wide handlers answer.
for _kind in (OSError, LookupError, ArithmeticError, RuntimeError, ValueError, TypeError,
              AttributeError, AssertionError, SQLAlchemyError):
    bp.register_error_handler(_kind, _unexpected)


def register(app: Flask) -> None:
    app.register_blueprint(bp)

