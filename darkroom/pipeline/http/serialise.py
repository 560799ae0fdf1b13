"""The JSON shapes of the API's resources: photos, sessions, jobs and exports."""

from __future__ import annotations

from typing import Optional

from sqlalchemy.orm import Session

from darkroom.db import Export, Job, Photo, PhotoSession, iso
from darkroom.pipeline import sessions
from darkroom.pipeline.photos import exif_summary
from darkroom.pipeline.status import JobStatus

# Served once, on the single photo (``photo_detail_json``), not in every listed photo.
DETAIL_ONLY = ("histogram",)


def photo_json(photo: Photo, burst: Optional[dict] = None) -> dict:
    """A photo as listings show it (``burst``: the gallery's burst of it, or None)."""
    base = f"/api/photos/{photo.id}"
    analysis = photo.analysis
    if isinstance(analysis, dict):
        analysis = {k: v for k, v in analysis.items() if k not in DETAIL_ONLY}
    return {
        "id": photo.id, "session_id": photo.session_id, "file_name": photo.file_name,
        "file_path": photo.file_path, "file_size": photo.file_size, "format": photo.format,
        "width": photo.width, "height": photo.height, "content_hash": photo.content_hash,
        "exif": photo.exif or {}, "analysis": analysis, "ai_score": photo.ai_score,
        "context_tag": photo.context_tag, "preset": photo.preset, "status": photo.status,
        "decision": photo.decision, "decision_reason": photo.decision_reason,
        "decided_at": iso(photo.decided_at), "error": photo.error,
        "imported_at": iso(photo.imported_at), "updated_at": iso(photo.updated_at),
        "thumbnail_url": f"{base}/thumbnail", "preview_url": f"{base}/preview",
        "developed_url": f"{base}/developed" if photo.developed_path else None,
        "developed_thumbnail_url": f"{base}/developed/thumbnail" if photo.developed_path
        else None,
        "full_url": f"{base}/full",
        "rating": photo.rating or 0, "flag": photo.flag, "color_label": photo.color_label,
        "captured_at": iso(photo.captured_at), "burst": burst,
    }


def photo_detail_json(photo: Photo, burst: Optional[dict] = None) -> dict:
    """A photo for the loupe: its listing fields, the histogram measured at analysis (None
    before) and the photographer's EXIF summary (the full EXIF stays in ``exif``)."""
    analysis = photo.analysis if isinstance(photo.analysis, dict) else {}
    return {**photo_json(photo, burst), "histogram": analysis.get("histogram"),
            "exif_summary": exif_summary(photo.exif)}


def job_json(job: Job, live: Optional[dict] = None) -> dict:
    """A job; ``live`` (stage and progress) overrides the stored values while it runs."""
    out = {
        "id": job.id, "kind": job.kind, "photo_id": job.photo_id, "session_id": job.session_id,
        "priority": job.priority, "preset": job.preset, "status": job.status,
        "stage": job.stage, "progress": job.progress, "attempts": job.attempts,
        "params": job.params or {}, "result": job.result, "error_message": job.error_message,
        "error_details": job.error_details, "created_at": iso(job.created_at),
        "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
    }
    if live and job.status == JobStatus.RUNNING:
        out.update(live)
    return out


def export_json(row: Export) -> dict:
    return {"id": row.id, "photo_id": row.photo_id, "job_id": row.job_id,
            "destination": row.destination, "format": row.format, "quality": row.quality,
            "long_edge": row.long_edge, "status": row.status, "output_path": row.output_path,
            "file_size": row.file_size, "error": row.error, "created_at": iso(row.created_at),
            "finished_at": iso(row.finished_at)}


def session_json(s: Session, session: PhotoSession) -> dict:
    c = sessions.counts(s, session.id)
    total = c["total_photos"]
    return {
        "id": session.id, "name": session.name, "import_folder": session.import_folder,
        "status": session.status, "phase": sessions.phase(session.status, c),
        "develop": session.develop_mode,
        "created_at": iso(session.created_at),
        "updated_at": iso(session.updated_at), "completed_at": iso(session.completed_at),
        **c,
        "progress_percent": round(c["processed_photos"] / total * 100, 2) if total else 0.0,
        "approval_rate": round(c["approved_photos"] / total * 100, 2) if total else 0.0,
    }


def photos_page_json(page) -> dict:
    """A ``gallery.Page``'s photos (each with its burst) and the next page's cursor."""
    return {"photos": [photo_json(ph, page.bursts.get(ph.id)) for ph in page.photos],
            "next_cursor": page.next_cursor}
