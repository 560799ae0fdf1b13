"""Importing photos: validate the file, hash it, read EXIF, make a thumbnail and a preview,
store it, then analyse it, choose a preset and queue a develop job.

``import_file`` runs in the caller's thread (the ``/import/file`` request, the
background import queue, the hot folder) and raises ``PipelineError`` with
the HTTP status the API returns: 404 ``not_found`` for any path that is not
a regular file inside an import root (one answer for every reason, see
``roots``), 413 over the size limit, 415 unsupported format, 409 duplicate
content, 422 unreadable image.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from darkroom.db import Photo, PhotoSession
from darkroom.pipeline import marks, selection, sessions
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.intake import items, library, roots
from darkroom.pipeline.jobs import lifecycle
from darkroom.pipeline.media import analysis, decode, encode, xmp_sidecar
from darkroom.pipeline.media import exif as exif_reader
from darkroom.pipeline.media.formats import SUPPORTED, file_format
from darkroom.pipeline.media.sizes import (
    PREVIEW_EDGE,
    PREVIEW_QUALITY,
    THUMBNAIL_EDGE,
    THUMBNAIL_QUALITY,
)
from darkroom.pipeline.reporter import report_error
from darkroom.pipeline.status import PhotoStatus
from websocket_events import (
    broadcast_photo_analyzed,
    broadcast_photo_imported,
    broadcast_photo_rated,
    broadcast_photo_selected,
)

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.import")


def content_hash(path: Path, expected: os.stat_result, max_size: int) -> tuple[str, int]:
    """SHA-256 and size of the file ``resolve_file`` checked: opened without following a
    symlink and without blocking, then ``fstat`` must show the same regular file (device and
    inode), so a file swapped for a symlink, a FIFO or another file after the check is
    refused (404, like any other file that cannot be imported) and nothing hangs."""
    flags = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
             | getattr(os, "O_BINARY", 0))
    try:
        fd = os.open(path, flags)
    except OSError:
        raise roots.file_not_found() from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (expected.st_dev,
                                                                   expected.st_ino):
        os.close(fd)
        log.warning("refused import of %s: the file changed after it was checked", path.name)
        raise roots.file_not_found()
    if st.st_size > max_size:
        os.close(fd)
        raise PipelineError(413, "file_too_large",
                            f"the file is larger than the import limit of {max_size} bytes")
    h = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "rb") as fp:
        while chunk := fp.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
            if size > max_size:
                raise PipelineError(413, "file_too_large",
                                    f"the file is larger than the import limit of {max_size} bytes")
    return h.hexdigest(), size


def import_file(p: "Pipeline", raw_path: str, session_id: Optional[int] = None,
                item_id: Optional[int] = None) -> dict:
    """Import one file into a session (the Inbox when ``session_id`` is None).

    The original is only ever opened for reading. ``item_id``: the ``import_items`` row of
    a recorded file, marked imported in the transaction that stores the photo."""
    max_size = p.config.max_import_size
    path, checked = p.import_roots.resolve_file(raw_path, max_size)
    fmt = file_format(path)
    if fmt is None:
        raise PipelineError(415, "unsupported_format",
                            f"unsupported file type '{path.suffix or path.name}'; supported: "
                            + ", ".join(sorted(SUPPORTED)))
    with p.db.read() as s:
        if session_id is None:
            session_id = p.inbox_id
        session = s.get(PhotoSession, session_id)
        if session is None:
            raise PipelineError(404, "session_not_found", f"no session {session_id}")
        library_folder, backup_folder = session.library_folder, session.backup_folder
    try:
        digest, size = content_hash(path, checked, max_size)
    except OSError:
        raise roots.file_not_found() from None
    with p.db.read() as s:
        existing = s.scalar(select(Photo.id).where(Photo.content_hash == digest))
    if existing is not None:
        raise PipelineError(409, "duplicate", "this photo was already imported",
                            photo_id=existing)
    try:
        preview, (width, height) = decode.load_with_size(path, max_edge=PREVIEW_EDGE)
    except decode.ImageError as exc:
        raise PipelineError(422, "unreadable_image", f"cannot read image {path.name}: {exc}") \
            from None
    exif, found_marks = exif_reader.read_exif_and_marks(path)
    found_marks.update(read_sidecar(path))
    stored_path, copies, created = path, {}, []
    try:
        if library_folder:
            # Copy on import: the photo counts only once each copy matches the original's hash.
            copies["library_path"], new = library.copy_verified(path, digest, library_folder,
                                                                exif)
            created += new
            if backup_folder:
                copies["backup_path"], new = library.copy_verified(path, digest, backup_folder,
                                                                   exif, "backup")
                created += new
            stored_path = copies["library_path"]
    except PipelineError:
        for copy in created:  # one copy without the other is no import
            copy.unlink(missing_ok=True)
        raise
    thumb_path = p.cache_dir / f"{digest}_thumb.jpg"
    preview_path = p.cache_dir / f"{digest}_preview.jpg"
    encode.save_jpeg(preview, thumb_path, quality=THUMBNAIL_QUALITY, max_edge=THUMBNAIL_EDGE)
    encode.save_jpeg(preview, preview_path, quality=PREVIEW_QUALITY)
    try:
        with p.db.write() as s:
            photo = Photo(session_id=session_id, file_path=str(stored_path),
                          file_name=path.name[:255],
                          content_hash=digest, file_size=size, format=fmt, width=width,
                          height=height, exif=exif, thumbnail_path=str(thumb_path),
                          preview_path=str(preview_path),
                          captured_at=exif_reader.captured_at(exif), **found_marks)
            s.add(photo)
            reopened = sessions.reopen(s, session_id)
            s.flush()
            photo_id = photo.id
            if item_id is not None:
                items.mark_imported(s, item_id, photo_id,
                                    **{k: str(v) for k, v in copies.items()})
    except IntegrityError:
        for copy in created:
            copy.unlink(missing_ok=True)
        with p.db.read() as s:
            existing = s.scalar(select(Photo.id).where(Photo.content_hash == digest))
        raise PipelineError(409, "duplicate", "this photo was already imported",
                            photo_id=existing) from None
    log.info("imported %s as photo %d in session %d", path.name, photo_id, session_id)
    if reopened:
        p.hotfolder_changed()
    thumbnail_url = f"/api/photos/{photo_id}/thumbnail"
    broadcast_photo_imported(photo_id=photo_id, session_id=session_id, file_name=path.name,
                             file_path=str(path), thumbnail_url=thumbnail_url)
    if found_marks:
        broadcast_photo_rated(photo_id=photo_id, session_id=session_id,
                              rating=found_marks.get("rating", 0), flag=found_marks.get("flag"),
                              color_label=found_marks.get("color_label"))
    sessions.emit_updated(p, session_id)
    result = {"photo_id": photo_id, "file_name": path.name,
              "session_id": session_id, "file_path": str(path), "file_size": size,
              "format": fmt, "width": width, "height": height, "exif": exif,
              "thumbnail_url": thumbnail_url, "rating": found_marks.get("rating", 0),
              "flag": found_marks.get("flag"), "color_label": found_marks.get("color_label"),
              **{k: str(v) for k, v in copies.items()}}
    try:
        result.update(analyse_and_queue(p, photo_id, session_id, preview, exif))
    except Exception as exc:
        report_error(exc, "analysis", photo_id=photo_id)
        with p.db.write() as s:
            photo = s.get(Photo, photo_id)
            photo.status, photo.error = PhotoStatus.FAILED, f"analysis failed: {type(exc).__name__}"
        sessions.emit_updated(p, session_id)
        result["status"] = PhotoStatus.FAILED
    return result


def read_sidecar(path: Path) -> dict:
    """The marks of the original's XMP sidecar, if it has one (they override its own XMP)."""
    try:
        return xmp_sidecar.read_marks(path)
    except Exception as exc:  # a broken sidecar must not fail the import
        log.info("sidecar of %s not read: %s", path.name, exc)
        return {}


def analyse_and_queue(p: "Pipeline", photo_id: int, session_id: int, preview: np.ndarray,
                      exif: dict) -> dict:
    """Measure, score, tag, choose a preset and queue the automatic develop job, unless the
    photo's marks and its session's develop mode say not to (see ``marks.wants_develop``):
    then it stays analysed until a pick or a rating asks for it."""
    metrics = analysis.analyse(preview, exif)
    score = metrics["ai_score"]
    tag = selection.context_tag(metrics, exif)
    preset = p.presets.for_tag(tag)
    with p.db.write() as s:
        photo = s.get(Photo, photo_id)
        mode = s.scalar(select(PhotoSession.develop_mode)
                        .where(PhotoSession.id == photo.session_id))
        wanted = marks.wants_develop(mode, photo.rating or 0, photo.flag)
        photo.analysis, photo.ai_score = metrics, score
        photo.status = PhotoStatus.QUEUED if wanted else PhotoStatus.ANALYZED
        photo.context_tag, photo.preset = tag, preset.name
    broadcast_photo_analyzed(photo_id=photo_id, ai_score=score, analysis_results=metrics,
                             session_id=session_id)
    broadcast_photo_selected(photo_id=photo_id, context_tag=tag, selected_preset=preset.name,
                             session_id=session_id)
    out = {"status": PhotoStatus.ANALYZED, "ai_score": score, "context_tag": tag,
           "preset": preset.name, "job_id": None}
    if wanted:
        out.update(status=PhotoStatus.QUEUED,
                   job_id=lifecycle.create(p, photo_id, lifecycle.AUTO_PRIORITY, preset.name).id)
    else:
        sessions.emit_updated(p, session_id)  # nothing to develop: it counts as processed
    return out
