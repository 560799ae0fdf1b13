"""Durable imports: the files of a folder import (and hot-folder arrivals) recorded in
``import_items`` before any is imported, what became of each, and ``import_progress``.

A session's files are recorded in batches: a folder import opens a new batch unless the
session still has one with files pending (a second request joins it, and a file already
pending is not recorded twice). A file recorded before from the same path with the same
size and mtime, and imported (or found a duplicate) then, is a known duplicate: recorded
as ``duplicate`` at once, with the photo it already is, and never read again.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from sqlalchemy import case, func, select, update

from darkroom.db import ImportItem, utcnow
from websocket_events import broadcast_import_progress

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.import")

PENDING, IMPORTED, DUPLICATE, REFUSED = "pending", "imported", "duplicate", "refused"
_CHUNK = 400
_EMIT_LOCK = threading.Lock()


def _identity(path: Path) -> tuple[Optional[int], Optional[int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None, None
    return st.st_size, st.st_mtime_ns


def record(p: "Pipeline", session_id: int, paths: Iterable[Path]) -> tuple[int, list]:
    """Record ``paths`` for import into the session, in one transaction; return the batch
    and the known duplicates ``[(path, photo_id)]`` (recorded as such, not queued)."""
    paths = list(paths)
    ids = {path: _identity(path) for path in paths}
    known: list[tuple[Path, int]] = []
    with p.db.write() as s:
        open_batch = s.scalar(select(func.max(ImportItem.batch))
                              .where(ImportItem.session_id == session_id,
                                     ImportItem.state == PENDING))
        if open_batch is None:
            last = s.scalar(select(func.max(ImportItem.batch))
                            .where(ImportItem.session_id == session_id))
            batch = (last or 0) + 1
        else:
            batch = open_batch
        pending: set[str] = set()
        earlier: dict[tuple[str, int, int], int] = {}
        names = [str(path) for path in paths]
        for i in range(0, len(names), _CHUNK):
            chunk = names[i:i + _CHUNK]
            pending.update(s.scalars(select(ImportItem.path).where(
                ImportItem.session_id == session_id, ImportItem.state == PENDING,
                ImportItem.path.in_(chunk))))
            for path, size, mtime, photo_id in s.execute(
                    select(ImportItem.path, ImportItem.file_size, ImportItem.mtime_ns,
                           ImportItem.photo_id)
                    .where(ImportItem.session_id == session_id, ImportItem.path.in_(chunk),
                           ImportItem.state.in_((IMPORTED, DUPLICATE)),
                           ImportItem.photo_id.is_not(None))):
                earlier[(path, size, mtime)] = photo_id
        now = utcnow()
        for path in paths:
            name = str(path)
            if name in pending:
                continue
            size, mtime = ids[path]
            photo_id = earlier.get((name, size, mtime)) if size is not None else None
            if photo_id is not None:
                known.append((path, photo_id))
                s.add(ImportItem(session_id=session_id, batch=batch, path=name, file_size=size,
                                 mtime_ns=mtime, state=DUPLICATE, code="duplicate",
                                 reason=f"already imported as photo {photo_id}",
                                 photo_id=photo_id, finished_at=now))
            else:
                s.add(ImportItem(session_id=session_id, batch=batch, path=name, file_size=size,
                                 mtime_ns=mtime, state=PENDING))
    return batch, known


def next_pending(p: "Pipeline") -> Optional[tuple[int, int, str, int]]:
    """The oldest pending file: (item id, session id, path, batch)."""
    with p.db.read() as s:
        row = s.execute(select(ImportItem.id, ImportItem.session_id, ImportItem.path,
                               ImportItem.batch)
                        .where(ImportItem.state == PENDING)
                        .order_by(ImportItem.id).limit(1)).first()
    return tuple(row) if row else None


def finish(p: "Pipeline", item_id: int, state: str, code: Optional[str] = None,
           reason: Optional[str] = None, photo_id: Optional[int] = None) -> None:
    with p.db.write() as s:
        s.execute(update(ImportItem).where(ImportItem.id == item_id,
                                           ImportItem.state == PENDING)
                  .values(state=state, code=code, reason=reason, photo_id=photo_id,
                          finished_at=utcnow()))


def mark_imported(s, item_id: int, photo_id: int, library_path: Optional[str] = None,
                  backup_path: Optional[str] = None) -> None:
    """In the transaction that stores the photo: its file is imported."""
    s.execute(update(ImportItem).where(ImportItem.id == item_id, ImportItem.state == PENDING)
              .values(state=IMPORTED, photo_id=photo_id, library_path=library_path,
                      backup_path=backup_path, finished_at=utcnow()))


def pending_count(p: "Pipeline") -> int:
    with p.db.read() as s:
        return int(s.scalar(select(func.count(ImportItem.id))
                            .where(ImportItem.state == PENDING)) or 0)


def pending_sessions(p: "Pipeline") -> dict[int, int]:
    """Sessions with files still to import, and how many."""
    with p.db.read() as s:
        rows = s.execute(select(ImportItem.session_id, func.count(ImportItem.id))
                         .where(ImportItem.state == PENDING)
                         .group_by(ImportItem.session_id)).all()
    return {int(sid): int(n) for sid, n in rows}


def latest_batch(p: "Pipeline", session_id: int) -> Optional[int]:
    with p.db.read() as s:
        return s.scalar(select(func.max(ImportItem.batch))
                        .where(ImportItem.session_id == session_id))


def progress(p: "Pipeline", session_id: int, batch: int) -> dict[str, int]:
    """found = imported + duplicates + refused + remaining, for one batch."""
    def n(state):
        return func.sum(case((ImportItem.state == state, 1), else_=0))
    with p.db.read() as s:
        row = s.execute(select(func.count(ImportItem.id), n(IMPORTED), n(DUPLICATE), n(REFUSED),
                               n(PENDING))
                        .where(ImportItem.session_id == session_id,
                               ImportItem.batch == batch)).one()
    found, imported, duplicates, refused, remaining = (int(v or 0) for v in row)
    return {"batch": batch, "found": found, "imported": imported, "duplicates": duplicates,
            "refused": refused, "remaining": remaining}


def details(p: "Pipeline", session_id: int, batch: int, base: Optional[str] = None) -> dict:
    """The batch's progress with each duplicate (and the photo it is) and each refusal
    (code and reason); file names relative to ``base`` (the session folder) when inside."""
    def rel(path: str) -> str:
        if base:
            try:
                return Path(path).relative_to(base).as_posix()
            except ValueError:
                pass
        return os.path.basename(path)
    with p.db.read() as s:
        rows = s.execute(select(ImportItem.path, ImportItem.state, ImportItem.code,
                                ImportItem.reason, ImportItem.photo_id)
                         .where(ImportItem.session_id == session_id, ImportItem.batch == batch,
                                ImportItem.state.in_((DUPLICATE, REFUSED)))
                         .order_by(ImportItem.id)).all()
    return {
        "progress": progress(p, session_id, batch),
        "duplicates": [{"file": rel(path), "photo_id": photo_id}
                       for path, state, _c, _r, photo_id in rows if state == DUPLICATE],
        "refused": [{"file": rel(path), "code": code, "reason": reason}
                    for path, state, code, reason, _p in rows if state == REFUSED],
    }


def emit_progress(p: "Pipeline", session_id: int, batch: int) -> dict[str, int]:
    """Send ``import_progress`` for the batch (computed and sent under one lock, so the
    counts a client sees only move forward)."""
    with _EMIT_LOCK:
        c = progress(p, session_id, batch)
        broadcast_import_progress(session_id=session_id, **c)
    return c
