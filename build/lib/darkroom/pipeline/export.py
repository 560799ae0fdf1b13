"""Exporting approved photos: one ``export`` job per photo, run by the worker pool.

The export re-renders the original at full quality with the photo's preset,
resizes it to ``long_edge`` and writes JPEG, PNG or TIFF into a folder inside
one of ``config.export_dirs`` (anything else is refused with 403). Files are
created with O_EXCL: an existing file is never overwritten; the name gets a
``_1``, ``_2``... suffix instead.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from sqlalchemy import select

from darkroom.db import Export, Photo, utcnow
from darkroom.pipeline import imaging, jobs, render
from websocket_events import broadcast_export_completed, broadcast_export_failed, broadcast_export_started

if TYPE_CHECKING:
    from darkroom.pipeline import Pipeline
    from darkroom.pipeline.jobs import JobContext

log = logging.getLogger("darkroom.export")

FORMATS = {"jpeg": "jpg", "jpg": "jpg", "png": "png", "tiff": "tif", "tif": "tif"}
DEFAULT_QUALITY = 92
MAX_LONG_EDGE = 20000
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ExportRefused(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def export_roots(p: "Pipeline") -> list[Path]:
    return [Path(os.path.realpath(os.path.expanduser(d))) for d in p.config.export_dirs]


def resolve_destination(p: "Pipeline", destination: Optional[str]) -> Path:
    """The real folder to export into; relative paths are inside the first export folder."""
    roots = export_roots(p)
    if not roots:
        raise ExportRefused(403, "forbidden", "no export folders are configured")
    if destination is None or destination == "":
        target = roots[0]
    else:
        if len(destination) > 4096 or "\x00" in destination:
            raise ExportRefused(400, "invalid_destination", "destination is not a valid path")
        expanded = os.path.expanduser(destination)
        target = Path(os.path.realpath(expanded if os.path.isabs(expanded)
                                       else roots[0] / expanded))
    if not any(target == root or root in target.parents for root in roots):
        raise ExportRefused(403, "destination_forbidden",
                            f"destination {destination} is outside the export folders")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise ExportRefused(400, "invalid_destination",
                            f"cannot create destination {destination}") from None
    if not target.is_dir():
        raise ExportRefused(400, "invalid_destination",
                            f"destination {destination} is not a folder")
    return target


def create(p: "Pipeline", photo_ids: list[int], destination: Path, fmt: str, quality: int,
           long_edge: Optional[int], priority: int) -> list[dict]:
    """An export row and an export job for each photo (all must be approved)."""
    with p.db.read() as s:
        photos = {ph.id: ph for ph in s.scalars(select(Photo).where(Photo.id.in_(photo_ids)))}
    missing = [i for i in photo_ids if i not in photos]
    if missing:
        raise ExportRefused(404, "photo_not_found", f"no photo(s) {missing}", photo_ids=missing)
    unapproved = [i for i in photo_ids if photos[i].decision != "approved"]
    if unapproved:
        raise ExportRefused(409, "not_approved", f"photo(s) {unapproved} are not approved",
                            photo_ids=unapproved)
    created = []
    for photo_id in photo_ids:
        photo = photos[photo_id]
        with p.db.write() as s:
            row = Export(photo_id=photo_id, destination=str(destination), format=fmt,
                         quality=quality, long_edge=long_edge)
            s.add(row)
            s.flush()
            export_id = row.id
        params = {"export_id": export_id, "destination": str(destination), "format": fmt,
                  "quality": quality, "long_edge": long_edge}
        job = jobs.create(p, photo_id, priority, photo.preset, kind="export", params=params)
        with p.db.write() as s:
            s.get(Export, export_id).job_id = job.id
        created.append({"photo_id": photo_id, "export_id": export_id, "job_id": job.id})
    return created


def cancelled_before_start(p: "Pipeline", job_id: int) -> None:
    """An export job cancelled while pending: its export failed without starting."""
    with p.db.write() as s:
        row = s.scalar(select(Export).where(Export.job_id == job_id))
        if row is None:
            return
        row.status, row.error, row.finished_at = "failed", "export cancelled", utcnow()
        photo_id, export_id = row.photo_id, row.id
        preset = s.get(Photo, photo_id).preset or ""
    broadcast_export_failed(photo_id=photo_id, preset_name=preset,
                            error_message="export cancelled", export_id=export_id)


def _exclusive_write(folder: Path, stem: str, ext: str, data: bytes) -> Path:
    """Create a new file (never overwriting): ``stem.ext``, else ``stem_1.ext``, ..."""
    for n in range(10000):
        path = folder / (f"{stem}.{ext}" if n == 0 else f"{stem}_{n}.{ext}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
        return path
    raise jobs.JobError(f"too many files named {stem}.{ext} in the destination")


def run(ctx: "JobContext") -> dict:
    """The export job: render, encode, write; export_* events around it."""
    p = ctx.pool.p
    params = ctx.params
    export_id = params["export_id"]
    broadcast_export_started(photo_id=ctx.photo_id, preset_name=ctx.preset,
                             destination=params["destination"], export_id=export_id)
    try:
        result = _render_and_write(ctx, p, params)
    except jobs.JobInterrupted:
        raise  # back to pending; it runs again after the restart
    except Exception as exc:
        message = "export cancelled" if isinstance(exc, jobs.JobCancelled) else \
            jobs.describe(exc)
        with p.db.write() as s:
            row = s.get(Export, export_id)
            row.status, row.error, row.finished_at = "failed", message, utcnow()
        broadcast_export_failed(photo_id=ctx.photo_id, preset_name=ctx.preset,
                                error_message=message, export_id=export_id)
        raise
    with p.db.write() as s:
        row = s.get(Export, export_id)
        row.status, row.output_path, row.file_size = ("completed", result["output_path"],
                                                      result["file_size"])
        row.finished_at = utcnow()
    broadcast_export_completed(photo_id=ctx.photo_id, preset_name=ctx.preset,
                               output_path=result["output_path"],
                               file_size=result["file_size"], export_id=export_id)
    return result


def _render_and_write(ctx: "JobContext", p: "Pipeline", params: dict) -> dict:
    with p.db.read() as s:
        photo = s.get(Photo, ctx.photo_id)
        source, name = photo.file_path, photo.file_name
    preset = p.presets.get(ctx.preset)
    if preset is None:
        raise jobs.JobError(f"preset '{ctx.preset}' does not exist")
    folder = Path(params["destination"])
    if not folder.is_dir():
        raise jobs.JobError("the destination folder no longer exists")
    ctx.progress("loading", 0, f"Reading {name}")
    try:
        rgb = imaging.load(source)
    except imaging.ImageError as exc:
        raise jobs.JobError(f"cannot read the original {name}: {exc}") from None
    ctx.progress("applying_preset", 20, f"Applying {preset.name}")
    renderer = render.Renderer(rgb, preset.adjustments)
    out = renderer.run(lambda done, total: ctx.progress(
        "rendering", 25 + 60 * done / total, f"Rendered {done} of {total} bands"))
    fmt = params["format"]
    ctx.progress("writing", 85, f"Encoding {fmt.upper()}")
    data = imaging.encode(out, {"jpg": "jpeg", "png": "png", "tif": "tiff"}[FORMATS[fmt]],
                          quality=params["quality"], max_edge=params.get("long_edge"))
    stem = _SAFE.sub("_", Path(name).stem)[:120] or f"photo_{ctx.photo_id}"
    path = _exclusive_write(folder, stem, FORMATS[fmt], data)
    size = path.stat().st_size
    ctx.progress("writing", 100, f"Wrote {path.name}")
    log.info("exported photo %d to %s (%d bytes)", ctx.photo_id, path, size)
    return {"output_path": str(path), "file_size": size, "format": fmt,
            "export_id": params["export_id"], "timings": ctx.finish_timings()}
