"""A photographer's marks on a photo: star rating (0-5), flag (pick, reject) and colour label.

Marks work on every photo from its import on, developed or not: culling comes before the
develop. A change to any number of photos is one transaction, then, per photo, a
``photo_rated`` event. Marks steer the pipeline:

- a ``reject`` cancels the photo's waiting or running develop job (announced like any
  cancellation, ``job_failed`` with ``error_details.cancelled``);
- a photo the pipeline now wants (see ``wants_develop``) and has not developed gets its
  develop job: a pick or a rating in a ``picks`` session, an un-reject in any session.
  Removing a pick or the stars never cancels a develop already asked for;
- with ``write_sidecars`` on, the marks are written to the XMP sidecar beside the original.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from sqlalchemy import select, update

from darkroom.db import Photo, PhotoSession
from darkroom.pipeline import sessions
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.jobs import lifecycle, queue
from darkroom.pipeline.media import xmp_sidecar
from darkroom.pipeline.reporter import report_error
from darkroom.pipeline.status import PhotoStatus
from websocket_events import COLOR_LABELS, FLAGS, broadcast_photo_rated

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.marks")

MAX_RATING = 5
FIELDS = ("rating", "flag", "color_label")
DEVELOP_ALL, DEVELOP_PICKS = sessions.DEVELOP_MODES


def wants_develop(mode: str, rating: int, flag: Optional[str]) -> bool:
    """Whether the pipeline develops a photo with these marks in a session of ``mode``."""
    if flag == "reject":
        return False
    return mode != DEVELOP_PICKS or flag == "pick" or rating >= 1


def changes(data: dict) -> dict[str, Any]:
    """The marks a request sets (``null`` clears a flag or label), each checked: 400
    ``invalid_rating`` / ``invalid_flag`` / ``invalid_color_label``, ``nothing_to_change``."""
    out: dict[str, Any] = {}
    if "rating" in data:
        rating = data["rating"]
        if isinstance(rating, bool) or not isinstance(rating, int) \
                or not 0 <= rating <= MAX_RATING:
            raise PipelineError(400, "invalid_rating",
                                f"'rating' must be a whole number of stars from 0 to {MAX_RATING}")
        out["rating"] = rating
    for key, allowed, code in (("flag", FLAGS, "invalid_flag"),
                               ("color_label", COLOR_LABELS, "invalid_color_label")):
        if key in data:
            value = data[key]
            if value is not None and (not isinstance(value, str) or value not in allowed):
                raise PipelineError(400, code, f"'{key}' must be one of {', '.join(allowed)} "
                                    "or null")
            out[key] = value
    if not out:
        raise PipelineError(400, "nothing_to_change",
                            "give at least one of 'rating', 'flag', 'color_label'")
    return out


@dataclass(frozen=True)
class Marked:
    """One photo after the change, and what the change asks of the pipeline."""

    photo_id: int
    session_id: int
    rating: int
    flag: Optional[str]
    color_label: Optional[str]
    file_path: str
    format: str
    develop: bool  # claimed for a new develop job (status queued)
    preset: Optional[str]


def apply(p: "Pipeline", photo_ids: list[int], new: dict[str, Any]) -> list[int]:
    """Set ``new`` marks on every photo (404 ``photo_not_found`` naming the missing ones,
    and then nothing changes); the events, cancels and develops that follow."""
    marked: list[Marked] = []
    reopened: set[int] = set()
    with p.db.write() as s:
        rows = {ph.id: ph for ph in s.scalars(select(Photo).where(Photo.id.in_(photo_ids)))}
        missing = [i for i in photo_ids if i not in rows]
        if missing:
            raise PipelineError(404, "photo_not_found", f"no photo(s) {missing[:20]}",
                                photo_ids=missing)
        modes = dict(s.execute(select(PhotoSession.id, PhotoSession.develop_mode).where(
            PhotoSession.id.in_({ph.session_id for ph in rows.values()}))).all())
        for photo_id in photo_ids:
            ph = rows[photo_id]
            mode = modes.get(ph.session_id) or DEVELOP_ALL
            before = wants_develop(mode, ph.rating or 0, ph.flag)
            for key, value in new.items():
                setattr(ph, key, value)
            after = wants_develop(mode, ph.rating or 0, ph.flag)
            develop = after and not before and ph.preset is not None and s.execute(
                update(Photo).where(Photo.id == photo_id, Photo.status == PhotoStatus.ANALYZED)
                .values(status=PhotoStatus.QUEUED)).rowcount == 1
            if develop and sessions.reopen(s, ph.session_id):
                reopened.add(ph.session_id)
            marked.append(Marked(photo_id, ph.session_id, ph.rating or 0, ph.flag,
                                 ph.color_label, ph.file_path, ph.format, develop, ph.preset))
    for m in marked:
        broadcast_photo_rated(photo_id=m.photo_id, session_id=m.session_id, rating=m.rating,
                              flag=m.flag, color_label=m.color_label)
    log.info("marked %d photo(s): %s", len(marked), new)
    if new.get("flag") == "reject":
        for m in marked:
            _cancel_develop(p, m.photo_id)
    for m in marked:
        if m.develop:
            lifecycle.create(p, m.photo_id, lifecycle.AUTO_PRIORITY, m.preset)
    if p.config.write_sidecars:
        for m in marked:
            write_sidecar(m)
    if reopened:
        p.hotfolder_changed()
    for session_id in dict.fromkeys(m.session_id for m in marked):
        if not sessions.check_completed(p, session_id):
            sessions.emit_updated(p, session_id)
    return [m.photo_id for m in marked]


def develop_wanted(p: "Pipeline", session_id: int) -> list[int]:
    """Queue a develop job for each analysed photo of the session its mode now wants (after
    the mode changed to ``all``); the photos' ids."""
    claimed = []
    with p.db.write() as s:
        mode = s.scalar(select(PhotoSession.develop_mode).where(PhotoSession.id == session_id))
        rows = s.execute(select(Photo.id, Photo.rating, Photo.flag, Photo.preset).where(
            Photo.session_id == session_id, Photo.status == PhotoStatus.ANALYZED,
            Photo.decision.is_(None), Photo.preset.is_not(None))).all()
        for photo_id, rating, flag, preset in rows:
            if wants_develop(mode, rating or 0, flag) and s.execute(
                    update(Photo).where(Photo.id == photo_id,
                                        Photo.status == PhotoStatus.ANALYZED)
                    .values(status=PhotoStatus.QUEUED)).rowcount == 1:
                claimed.append((photo_id, preset))
        if claimed:
            sessions.reopen(s, session_id)
    for photo_id, preset in claimed:
        lifecycle.create(p, photo_id, lifecycle.AUTO_PRIORITY, preset)
    if claimed:
        sessions.emit_updated(p, session_id)
    return [photo_id for photo_id, _ in claimed]


def _cancel_develop(p: "Pipeline", photo_id: int) -> None:
    """A rejected photo's waiting or running develop job is cancelled."""
    with p.db.read() as s:
        job_id = queue.active_develop_job(s, photo_id)
    if job_id is None:
        return
    try:
        lifecycle.cancel(p, job_id)
    except PipelineError:  # it finished meanwhile: nothing to cancel
        return
    log.info("photo %d rejected: develop job %d cancelled", photo_id, job_id)


def write_sidecar(m: Marked) -> None:
    """The marks into the original's sidecar; a folder we cannot write is reported, and the
    marks stay set in the catalogue."""
    try:
        xmp_sidecar.write_marks(Path(m.file_path), m.format, m.rating, m.flag, m.color_label)
    except Exception as exc:
        report_error(exc, "sidecar", photo_id=m.photo_id)
