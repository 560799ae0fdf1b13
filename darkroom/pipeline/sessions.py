"""Sessions: creating and changing them, counts, the ``session_updated`` and
``session_completed`` events, the Inbox.

A session is complete when every one of its photos has a decision (approved
or rejected) or was culled before its develop (flagged reject, or left unpicked in a
``picks`` session). Completion is claimed with a conditional UPDATE so two
concurrent decisions can never announce it twice.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Optional

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from darkroom.db import ImportItem, Photo, PhotoSession, utcnow
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.status import PROCESSED_PHOTO, Decision, PhotoStatus, SessionPhase, SessionStatus
from websocket_events import (
    broadcast_session_completed,
    broadcast_session_created,
    broadcast_session_updated,
)

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.sessions")

INBOX_NAME = "Inbox"
MAX_NAME = 200
# What a person may set; ``completed`` is reached by deciding every photo.
SETTABLE = (SessionStatus.ACTIVE, SessionStatus.PAUSED)
# How much a session develops: every photo, or only the picked and rated ones (see marks).
DEVELOP_MODES = ("all", "picks")


# ``session_updated`` is computed and handed to the hub under this lock, so two threads
# can never publish their counts in the opposite order to the one they read them in.
_EMIT_LOCK = threading.Lock()


def _culled(mode: Optional[str]):
    """Analysed photos the pipeline will not develop (see ``marks.wants_develop``): rejected,
    and in a ``picks`` session neither picked nor rated. Nothing is left to do for them."""
    unwanted = Photo.flag == "reject"
    if mode == "picks":
        unwanted = unwanted | ((Photo.flag.is_(None) | (Photo.flag != "pick"))
                               & (Photo.rating < 1))
    return (Photo.status == PhotoStatus.ANALYZED) & unwanted & Photo.decision.is_(None)


def counts(s: Session, session_id: int) -> dict[str, int]:
    """Photo counts of one session, by pipeline state and decision.

    ``total_photos`` counts the files a folder import or the hot folder has recorded and not
    yet imported (``pending_imports``) as well as the photos: it is the number of files found
    from the moment the scan knows it, so progress only goes up while a folder imports. One
    statement, one snapshot: a file becoming a photo is never counted twice or not at all.
    A culled photo (``_culled``) counts as processed, and as done for completion.
    """
    pending = (select(func.count(ImportItem.id))
               .where(ImportItem.session_id == session_id, ImportItem.state == "pending")
               .scalar_subquery())
    culled = _culled(s.scalar(select(PhotoSession.develop_mode)
                              .where(PhotoSession.id == session_id)))
    row = s.execute(
        select(
            pending,
            func.count(Photo.id),
            func.sum(case((Photo.status.in_(PROCESSED_PHOTO), 1), else_=0)),
            func.sum(case((Photo.status == PhotoStatus.FAILED, 1), else_=0)),
            func.sum(case((Photo.decision.is_not(None), 1), else_=0)),
            func.sum(case((Photo.decision == Decision.APPROVED, 1), else_=0)),
            func.sum(case((Photo.decision == Decision.REJECTED, 1), else_=0)),
            func.sum(case(((Photo.status == PhotoStatus.DEVELOPED) & Photo.decision.is_(None),
                           1), else_=0)),
            func.sum(case((culled, 1), else_=0)),
        ).where(Photo.session_id == session_id)
    ).one()
    pending, total, processed, failed, decided, approved, rejected, awaiting, culled_n = \
        (int(v or 0) for v in row)
    return {"total_photos": total + pending, "processed_photos": processed + culled_n,
            "failed_photos": failed, "decided_photos": decided, "approved_photos": approved,
            "rejected_photos": rejected, "awaiting_approval": awaiting,
            "pending_imports": pending, "culled_photos": culled_n}


def phase(status: str, c: dict[str, int]) -> str:
    """Where a session stands, for people: the ``status`` of ``session_updated``.

    completed | paused | processing (photos still developing) | awaiting_approval
    (developed photos wait for a decision) | active (nothing to do right now).
    """
    if status in (SessionStatus.COMPLETED, SessionStatus.PAUSED):
        return SessionPhase(status)
    if c["processed_photos"] < c["total_photos"]:
        return SessionPhase.PROCESSING
    if c["decided_photos"] + c["culled_photos"] < c["total_photos"]:
        return SessionPhase.AWAITING_APPROVAL
    return SessionPhase.ACTIVE


def emit_updated(p: "Pipeline", session_id: int) -> None:
    """Send ``session_updated`` with the session's current counts."""
    with _EMIT_LOCK:
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
        if c["total_photos"] == 0 or c["decided_photos"] + c["culled_photos"] < c["total_photos"]:
            return False
        claimed = s.execute(
            update(PhotoSession)
            .where(PhotoSession.id == session_id, PhotoSession.status != SessionStatus.COMPLETED)
            .values(status=SessionStatus.COMPLETED, completed_at=utcnow(), updated_at=utcnow())
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
                     .where(PhotoSession.id == session_id,
                            PhotoSession.status == SessionStatus.COMPLETED)
                     .values(status=SessionStatus.ACTIVE, completed_at=None, updated_at=utcnow())
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


def get(s: Session, session_id: int) -> PhotoSession:
    session = s.get(PhotoSession, session_id)
    if session is None:
        raise PipelineError(404, "session_not_found", f"no session {session_id}")
    return session


def find(s: Session, status: Optional[str] = None) -> list[PhotoSession]:
    q = select(PhotoSession).order_by(PhotoSession.id)
    if status:
        q = q.where(PhotoSession.status == status)
    return list(s.scalars(q))


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise PipelineError(400, "invalid_field", "'name' must not be empty")
    return name


def _duplicate(name: str) -> PipelineError:
    return PipelineError(409, "duplicate_name", f"a session named '{name}' already exists")


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:
        return False


def copy_folders(p: "Pipeline", import_folder: str, library_folder: Optional[str],
                 backup_folder: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """Check the copy-on-import folders: existing folders inside an import root (404
    ``not_found`` otherwise), outside the import folder (the hot folder would see the
    copies), the backup different from the library and only with one. "" clears."""
    library = p.import_roots.resolve_folder(library_folder, "library_folder") \
        if library_folder else None
    backup = p.import_roots.resolve_folder(backup_folder, "backup_folder") \
        if backup_folder else None
    real_import = os.path.realpath(import_folder)
    for field, folder in (("library_folder", library), ("backup_folder", backup)):
        if folder and _inside(folder, real_import):
            raise PipelineError(400, "invalid_field",
                                f"'{field}' must not be inside the session's import folder")
    if backup and not library:
        raise PipelineError(400, "invalid_field", "'backup_folder' needs a 'library_folder'")
    if backup and library and (_inside(backup, library) or _inside(library, backup)):
        raise PipelineError(400, "invalid_field",
                            "'backup_folder' must be apart from the 'library_folder'")
    return library, backup


def check_develop(develop: Optional[str]) -> Optional[str]:
    """A session's develop mode (400 ``invalid_develop`` for anything but all or picks)."""
    if develop is not None and develop not in DEVELOP_MODES:
        raise PipelineError(400, "invalid_develop",
                            f"'develop' must be one of {', '.join(DEVELOP_MODES)}")
    return develop


def create(p: "Pipeline", name: str, import_folder: str, library_folder: Optional[str] = None,
           backup_folder: Optional[str] = None, develop: Optional[str] = None) -> int:
    """A new active session over an existing folder; ``session_created``; its id. With a
    ``library_folder`` (and ``backup_folder``) every photo is copied there on import; with
    ``develop`` ``picks`` only its picked and rated photos are developed."""
    develop = check_develop(develop) or DEVELOP_MODES[0]
    name = _clean_name(name)
    folder = p.import_roots.resolve_folder(import_folder)
    library, backup = copy_folders(p, folder, library_folder, backup_folder)
    try:
        with p.db.write() as s:
            if s.scalar(select(PhotoSession.id).where(PhotoSession.name == name)) is not None:
                raise _duplicate(name)
            session = PhotoSession(name=name, import_folder=folder, library_folder=library,
                                   backup_folder=backup, develop_mode=develop)
            s.add(session)
            s.flush()
            session_id = session.id
    except IntegrityError:
        raise _duplicate(name) from None
    log.info("session %d '%s' created over %s", session_id, name, folder)
    broadcast_session_created(session_id=session_id, session_name=name, import_folder=folder)
    p.hotfolder_changed()
    return session_id


def update_session(p: "Pipeline", session_id: int, name: Optional[str] = None,
                   import_folder: Optional[str] = None, status: Optional[str] = None,
                   library_folder: Optional[str] = None,
                   backup_folder: Optional[str] = None, develop: Optional[str] = None) -> None:
    """Rename, move or pause/resume a session (the Inbox keeps its name; a completed
    session keeps its status), or change its develop mode (for the photos imported from
    then on: photos already imported keep their jobs, and a pick still develops);
    ``session_updated``."""
    if status is not None and status not in SETTABLE:
        raise PipelineError(400, "invalid_field", "'status' must be 'active' or 'paused'")
    check_develop(develop)
    try:
        with p.db.write() as s:
            session = get(s, session_id)
            if name is not None:
                name = _clean_name(name)
                if session.id == p.inbox_id and name != session.name:
                    raise PipelineError(409, "inbox_fixed", "the Inbox session cannot be renamed")
                clash = s.scalar(select(PhotoSession.id).where(PhotoSession.name == name,
                                                               PhotoSession.id != session_id))
                if clash is not None:
                    raise _duplicate(name)
                session.name = name
            if import_folder is not None:
                session.import_folder = p.import_roots.resolve_folder(import_folder)
            if library_folder is not None or backup_folder is not None \
                    or import_folder is not None:
                library = session.library_folder if library_folder is None else library_folder
                backup = session.backup_folder if backup_folder is None else backup_folder
                session.library_folder, session.backup_folder = copy_folders(
                    p, session.import_folder, library or None, backup or None)
            if status is not None and session.status != SessionStatus.COMPLETED:
                session.status = status
            if develop is not None:
                session.develop_mode = develop
            session.updated_at = utcnow()
    except IntegrityError:
        raise _duplicate(name) from None
    emit_updated(p, session_id)
    p.hotfolder_changed()
