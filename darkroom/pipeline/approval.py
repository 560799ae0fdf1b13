"""The approval queue: developed photos wait for a person to approve or reject them.

A decision is final and claimed with a conditional UPDATE, so deciding twice
(even concurrently) gives exactly one event and a 409 for the other request.
A photo whose develop job failed can be rejected (dropped) but not approved.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

from sqlalchemy import func, select, update

from darkroom.db import Photo, utcnow
from darkroom.pipeline import sessions as sessions_mod
from websocket_events import broadcast_approval_queue_updated, broadcast_photo_approved, broadcast_photo_rejected

if TYPE_CHECKING:
    from darkroom.pipeline import Pipeline

log = logging.getLogger("darkroom.approval")


class DecisionRefused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def waiting_filter():
    return (Photo.status == "developed") & Photo.decision.is_(None)


def count(p: "Pipeline", session_id: Optional[int] = None) -> int:
    with p.db.read() as s:
        q = select(func.count(Photo.id)).where(waiting_filter())
        if session_id is not None:
            q = q.where(Photo.session_id == session_id)
        return int(s.scalar(q) or 0)


def decide(p: "Pipeline", photo_id: int, decision: str, reason: str = "") -> dict:
    """Approve or reject a photo; send the events; return the photo's session id."""
    allowed = ("developed",) if decision == "approved" else ("developed", "failed")
    with p.db.write() as s:
        photo = s.get(Photo, photo_id)
        if photo is None:
            raise DecisionRefused(404, "photo_not_found", f"no photo {photo_id}")
        if photo.decision is not None:
            raise DecisionRefused(409, "already_decided", f"photo {photo_id} is already "
                                  f"{photo.decision}")
        if photo.status not in allowed:
            raise DecisionRefused(409, "not_developed", f"photo {photo_id} is {photo.status}, "
                                  "not developed yet")
        won = s.execute(
            update(Photo).where(Photo.id == photo_id, Photo.decision.is_(None),
                                Photo.status.in_(allowed))
            .values(decision=decision, decision_reason=reason or None, decided_at=utcnow())
        ).rowcount
        if won != 1:
            raise DecisionRefused(409, "already_decided", f"photo {photo_id} is already decided")
        session_id = photo.session_id
    log.info("photo %d %s%s", photo_id, decision, f": {reason}" if reason else "")
    if decision == "approved":
        broadcast_photo_approved(photo_id=photo_id, session_id=session_id)
    else:
        broadcast_photo_rejected(photo_id=photo_id, session_id=session_id, reason=reason)
    broadcast_approval_queue_updated(queue_count=count(p, session_id), session_id=session_id)
    completed = sessions_mod.check_completed(p, session_id)
    if not completed:
        sessions_mod.emit_updated(p, session_id)
    return {"photo_id": photo_id, "session_id": session_id, "decision": decision,
            "session_completed": completed}
