"""The approval queue: developed photos wait for a person to approve or reject them.

A decision is claimed with a conditional UPDATE, so deciding twice (even
concurrently) gives exactly one event and a 409 for the other request. A photo
whose develop job failed can be rejected (dropped) but not approved. ``undo``
takes a decision back (the same way: one winner), and the photo waits again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

from sqlalchemy import func, select, update

from darkroom.db import Photo, utcnow
from darkroom.pipeline import sessions
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.status import Decision, PhotoStatus
from websocket_events import (
    broadcast_approval_queue_updated,
    broadcast_photo_approved,
    broadcast_photo_decision_reverted,
    broadcast_photo_rejected,
)

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.approval")


# A photo whose develop failed can be dropped, not kept.
DECIDABLE = {Decision.APPROVED: (PhotoStatus.DEVELOPED,),
             Decision.REJECTED: (PhotoStatus.DEVELOPED, PhotoStatus.FAILED)}


def waiting_filter():
    return (Photo.status == PhotoStatus.DEVELOPED) & Photo.decision.is_(None)


def count(p: "Pipeline", session_id: Optional[int] = None) -> int:
    with p.db.read() as s:
        q = select(func.count(Photo.id)).where(waiting_filter())
        if session_id is not None:
            q = q.where(Photo.session_id == session_id)
        return int(s.scalar(q) or 0)


def decide(p: "Pipeline", photo_id: int, decision: Decision, reason: str = "") -> dict:
    """Approve or reject a photo; send the events; return the photo's session id."""
    allowed = DECIDABLE[decision]
    with p.db.write() as s:
        photo = s.get(Photo, photo_id)
        if photo is None:
            raise PipelineError(404, "photo_not_found", f"no photo {photo_id}")
        if photo.decision is not None:
            raise PipelineError(409, "already_decided", f"photo {photo_id} is already "
                                f"{photo.decision}")
        if photo.status not in allowed:
            raise PipelineError(409, "not_developed", f"photo {photo_id} is {photo.status}, "
                                "not developed yet")
        won = s.execute(
            update(Photo).where(Photo.id == photo_id, Photo.decision.is_(None),
                                Photo.status.in_(allowed))
            .values(decision=decision, decision_reason=reason or None, decided_at=utcnow())
        ).rowcount
        if won != 1:
            raise PipelineError(409, "already_decided", f"photo {photo_id} is already decided")
        session_id = photo.session_id
    log.info("photo %d %s%s", photo_id, decision, f": {reason}" if reason else "")
    if decision == Decision.APPROVED:
        broadcast_photo_approved(photo_id=photo_id, session_id=session_id)
    else:
        broadcast_photo_rejected(photo_id=photo_id, session_id=session_id, reason=reason)
    broadcast_approval_queue_updated(queue_count=count(p, session_id), session_id=session_id)
    completed = sessions.check_completed(p, session_id)
    if not completed:
        sessions.emit_updated(p, session_id)
    return {"photo_id": photo_id, "session_id": session_id, "decision": decision,
            "session_completed": completed}


def undo(p: "Pipeline", photo_id: int) -> str:
    """Take back a photo's decision: it awaits approval again (when developed), and its
    session, if it had completed, is active again. ``photo_decision_reverted``,
    ``approval_queue_updated`` and ``session_updated``; the decision that was undone
    (409 ``not_decided`` when there was none)."""
    with p.db.write() as s:
        photo = s.get(Photo, photo_id)
        if photo is None:
            raise PipelineError(404, "photo_not_found", f"no photo {photo_id}")
        previous, session_id = photo.decision, photo.session_id
        won = previous is not None and s.execute(
            update(Photo).where(Photo.id == photo_id, Photo.decision == previous)
            .values(decision=None, decision_reason=None, decided_at=None)).rowcount == 1
        if not won:
            raise PipelineError(409, "not_decided", f"photo {photo_id} has no decision to undo")
        reopened = sessions.reopen(s, session_id)
    log.info("photo %d: decision %s undone", photo_id, previous)
    broadcast_photo_decision_reverted(photo_id=photo_id, session_id=session_id,
                                      previous_decision=previous)
    broadcast_approval_queue_updated(queue_count=count(p, session_id), session_id=session_id)
    sessions.emit_updated(p, session_id)
    if reopened:
        p.hotfolder_changed()
    return previous
