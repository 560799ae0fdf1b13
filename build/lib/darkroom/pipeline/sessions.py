"""Sessions: counts, the ``session_updated`` and ``session_completed`` events, the Inbox.

A session is complete when every one of its photos has a decision (approved
or rejected). Completion is claimed with a conditional UPDATE so two
concurrent decisions can never announce it twice.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from darkroom.db import Photo, PhotoSession, iso, utcnow
from websocket_events import broadcast_session_completed, broadcast_session_updated

if TYPE_CHECKING:
    from darkroom.pipeline import Pipeline

log = logging.getLogger("darkroom.sessions")

INBOX_NAME = "Inbox"
PROCESSED = ("developed", "failed")
STATUSES = ("active", "paused", "completed")


def counts(s: Session, session_id: int) -> dict[str, int]:
    """Photo counts of one session, by pipeline state and decision."""
    row = s.execute(
        select(
            func.count(Photo.id),
            func.sum(case((Photo.status.in_(PROCESSED), 1), else_=0)),
            func.sum(case((Photo.status == "failed", 1), else_=0)),
            func.sum(case((Photo.decision.is_not(None), 1), else_=0)),
            func.sum(case((Photo.decision == "approved", 1), else_=0)),
            func.sum(case((Photo.decision == "rejected", 1), else_=0)),
            func.sum(case(((Photo.status == "developed") & Photo.decision.is_(None), 1),
                          else_=0)),
        ).where(Photo.session_id == session_id)
    ).one()
    total, processed, failed, decided, approved, rejected, awaiting = (int(v or 0) for v in row)
    return {"total_photos": total, "processed_photos": processed, "failed_photos": failed,
            "decided_photos": decided, "approved_photos": approved,
            "rejected_photos": rejected, "awaiting_approval": awaiting}


def phase(status: str, c: dict[str, int]) -> str:
    """Where a session stands, for people: the ``status`` of ``session_updated``.

    completed | paused | processing (photos still developing) | awaiting_approval
    (developed photos wait for a decision) | active (nothing to do right now).
    """
    if status in ("completed", "paused"):
        return status
    if c["processed_photos"] < c["total_photos"]:
        return "processing"
    if c["decided_photos"] < c["total_photos"]:
        return "awaiting_approval"
    return "active"


def to_json(session: PhotoSession, c: dict[str, int]) -> dict:
    total = c["total_photos"]
    return {
        "id": session.id, "name": session.name, "import_folder": session.import_folder,
        "status": session.status, "phase": phase(session.status, c),
        "created_at": iso(session.created_at),
        "updated_at": iso(session.updated_at), "completed_at": iso(session.completed_at),
        **c,
        "progress_percent": round(c["processed_photos"] / total * 100, 2) if total else 0.0,
        "approval_rate": round(c["approved_photos"] / total * 100, 2) if total else 0.0,
    }


def emit_updated(p: "Pipeline", session_id: int) -> None:
    """Send ``session_updated`` with the session's current counts."""
    with p.db.read() as s:
        session = s.get(PhotoSession, session_id)
        if session is None:
            return
        c = counts(s, session_id)
    broadcast_session_updated(session_id=session_id, total_photos=c["total_photos"],
                              processed_photos=c["processed_photos"],
                              status=phase(session.status, c))


def check_completed(p: "Pipeline", session_id: int) -> bool:
    """Mark the session completed once every photo is decided: a last ``session_updated``
    (status ``completed``), then ``session_completed``. False when not complete."""
    with p.db.write() as s:
        c = counts(s, session_id)
        if c["total_photos"] == 0 or c["decided_photos"] < c["total_photos"]:
            return False
        claimed = s.execute(
            update(PhotoSession)
            .where(PhotoSession.id == session_id, PhotoSession.status != "completed")
            .values(status="completed", completed_at=utcnow(), updated_at=utcnow())
        ).rowcount
        name = s.scalar(select(PhotoSession.name).where(PhotoSession.id == session_id))
    if claimed != 1:
        return False
    log.info("session %d completed: %d of %d approved", session_id, c["approved_photos"],
             c["total_photos"])
    emit_updated(p, session_id)
    broadcast_session_completed(session_id=session_id, total_photos=c["total_photos"],
                                approved_photos=c["approved_photos"], session_name=name)
    p.hotfolder_changed()
    return True


def reopen(s: Session, session_id: int) -> bool:
    """A completed session that receives a new photo is active again (True if it was)."""
    return s.execute(update(PhotoSession)
                     .where(PhotoSession.id == session_id, PhotoSession.status == "completed")
                     .values(status="active", completed_at=None, updated_at=utcnow())
                     ).rowcount == 1


def ensure_inbox(p: "Pipeline") -> int:
    """Create the default "Inbox" session on first start (id 1 on a fresh database)."""
    folder = p.data_dir / "inbox"
    folder.mkdir(parents=True, exist_ok=True)
    with p.db.write() as s:
        existing: Optional[int] = s.scalar(select(PhotoSession.id)
                                           .where(PhotoSession.name == INBOX_NAME))
        if existing is not None:
            return existing
        inbox = PhotoSession(name=INBOX_NAME, import_folder=str(folder.resolve()))
        s.add(inbox)
        s.flush()
        log.info("created the %s session (id %d)", INBOX_NAME, inbox.id)
        return inbox.id
