"""``/api/jobs``: asking for a develop job, listing and reading jobs, and changing them
(priority, cancel, retry) through ``jobs.lifecycle``."""

from __future__ import annotations

from flask import Blueprint, jsonify

from darkroom.pipeline import pipeline
from darkroom.pipeline.http import params
from darkroom.pipeline.http.serialise import job_json
from darkroom.pipeline.jobs import lifecycle, queue
from darkroom.pipeline.status import JobKind, JobStatus

bp = Blueprint("jobs", __name__)

# ``queue_status`` calls running jobs "processing"; the filter accepts both names.
PROCESSING = "processing"


@bp.post("/api/jobs")
def create_job():
    data = params.body()
    photo_id = params.identifier(data, "photo_id", required=True)
    priority = params.priority(data, default=lifecycle.USER_PRIORITY)
    preset = params.string(data, "preset", max_length=100)
    p = pipeline()
    job = lifecycle.develop(p, photo_id, priority, preset)
    with p.db.read() as s:
        return jsonify({"success": True, "job": job_json(queue.get(s, job.id)),
                        "job_id": job.id}), 201


@bp.get("/api/jobs")
def list_jobs():
    status = params.query_choice("status", [*JobStatus, PROCESSING])
    status = JobStatus.RUNNING if status == PROCESSING else status
    kind = params.query_choice("kind", list(JobKind))
    photo_id = params.query_int("photo_id")
    session_id = params.query_int("session_id")
    limit = params.query_limit()
    p = pipeline()
    with p.db.read() as s:
        rows = queue.find(s, status, kind, photo_id, session_id, limit)
        out = [job_json(j, p.workers.live.get(j.id)) for j in rows]
    return jsonify({"success": True, "jobs": out, "count": len(out),
                    "counts": queue.counts(p.db)})


@bp.get("/api/jobs/<id:job_id>")
def get_job(job_id: int):
    p = pipeline()
    with p.db.read() as s:
        return jsonify({"success": True,
                        "job": job_json(queue.get(s, job_id), p.workers.live.get(job_id))})


@bp.patch("/api/jobs/<id:job_id>")
def patch_job(job_id: int):
    data = params.body()
    priority = params.priority(data, required=True)
    reason = params.string(data, "reason", default="changed by user", max_length=params.MAX_REASON)
    job, old = lifecycle.change_priority(pipeline(), job_id, priority, reason)
    return jsonify({"success": True, "job": job_json(job), "old_priority": old})


@bp.post("/api/jobs/<id:job_id>/cancel")
def cancel_job(job_id: int):
    params.body(optional=True)
    state = lifecycle.cancel(pipeline(), job_id)
    return jsonify({"success": True, "job_id": job_id, "status": state}), \
        (200 if state == JobStatus.CANCELLED else 202)


@bp.post("/api/jobs/<id:job_id>/retry")
def retry_job(job_id: int):
    params.body(optional=True)
    return jsonify({"success": True, "job": job_json(lifecycle.retry(pipeline(), job_id))})
