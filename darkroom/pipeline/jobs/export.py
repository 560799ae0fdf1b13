"""Exporting approved photos: one ``export`` job per photo, run by the worker pool.

The export re-renders the original at full quality with the photo's preset
(the render path develop uses), resizes it to ``long_edge``, converts it to
``color_space`` (sRGB, Display P3 or Adobe RGB, whose ICC profile it embeds),
and writes JPEG, PNG, TIFF (8 or 16-bit: ``bit_depth``) or HEIC into a folder
inside one of ``config.export_dirs`` (anything else is refused with 403). The
original's EXIF is copied (GPS unless ``strip_location``), orientation reset
to 1, creator/copyright/contact written as IPTC and XMP, the preset and the photo's
rating, flag and colour label (as they are when the job runs) as XMP.
Files are created with O_EXCL: an existing file is never overwritten; the name gets a ``_1``, ``_2``... suffix instead.
"""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from darkroom.db import Export, Job, Photo, utcnow
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.jobs import lifecycle
from darkroom.pipeline.jobs.rendering import WRITING_AT, render_original
from darkroom.pipeline.jobs.workers import JobCancelled, JobContext, JobError, JobInterrupted
from darkroom.pipeline.media import colour, encode, metadata
from darkroom.pipeline.reporter import describe
from darkroom.pipeline.status import Decision, ExportStatus, JobKind
from websocket_events import broadcast_export_completed, broadcast_export_failed, broadcast_export_started

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

log = logging.getLogger("darkroom.export")

FORMATS = encode.OUTPUTS
MAX_PATH = 4096
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_roots(p: "Pipeline") -> list[Path]:
    return [Path(os.path.realpath(os.path.expanduser(d))) for d in p.config.export_dirs]


def _inside(target: Path, roots: list[Path]) -> bool:
    return any(target == root or root in target.parents for root in roots)


def resolve_destination(p: "Pipeline", destination: Optional[str]) -> Path:
    """The real folder to export into; relative paths are inside the first export folder."""
    roots = export_roots(p)
    if not roots:
        raise PipelineError(403, "forbidden", "no export folders are configured")
    if destination is None or destination == "":
        target = roots[0]
    else:
        if len(destination) > MAX_PATH or "\x00" in destination:
            raise PipelineError(400, "invalid_destination", "destination is not a valid path")
        expanded = os.path.expanduser(destination)
        target = Path(os.path.realpath(expanded if os.path.isabs(expanded)
                                       else roots[0] / expanded))
    if not _inside(target, roots):
        raise PipelineError(403, "destination_forbidden",
                            f"destination {destination} is outside the export folders")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise PipelineError(400, "invalid_destination",
                            f"cannot create destination {destination}") from None
    if not target.is_dir():
        raise PipelineError(400, "invalid_destination",
                            f"destination {destination} is not a folder")
    return target


def approved_in_session(s: Session, session_id: int) -> list[int]:
    """The approved photos of a session (409 ``nothing_to_export`` when there are none)."""
    photo_ids = list(s.scalars(select(Photo.id).where(
        Photo.session_id == session_id, Photo.decision == Decision.APPROVED).order_by(Photo.id)))
    if not photo_ids:
        raise PipelineError(409, "nothing_to_export", f"session {session_id} has no approved photos")
    return photo_ids


def create(p: "Pipeline", photo_ids: list[int], destination: Path, fmt: str, quality: int,
           long_edge: Optional[int], priority: int, color_space: str = colour.SRGB,
           bit_depth: int = 8, strip_location: bool = False,
           rights: Optional[dict] = None) -> list[dict]:
    """An export row and an export job for each photo (all must be approved)."""
    with p.db.read() as s:
        photos = {ph.id: ph for ph in s.scalars(select(Photo).where(Photo.id.in_(photo_ids)))}
    missing = [i for i in photo_ids if i not in photos]
    if missing:
        raise PipelineError(404, "photo_not_found", f"no photo(s) {missing}", photo_ids=missing)
    unapproved = [i for i in photo_ids if photos[i].decision != Decision.APPROVED]
    if unapproved:
        raise PipelineError(409, "not_approved", f"photo(s) {unapproved} are not approved",
                            photo_ids=unapproved)
    created = []
    for photo_id in photo_ids:
        with p.db.write() as s:
            row = Export(photo_id=photo_id, destination=str(destination), format=fmt,
                         quality=quality, long_edge=long_edge)
            s.add(row)
            s.flush()
            export_id = row.id
        params = {"export_id": export_id, "destination": str(destination), "format": fmt,
                  "quality": quality, "long_edge": long_edge, "color_space": color_space,
                  "bit_depth": bit_depth, "strip_location": strip_location,
                  "rights": rights or {}}
        job = lifecycle.create(p, photo_id, priority, photos[photo_id].preset,
                               kind=JobKind.EXPORT, params=params)
        with p.db.write() as s:
            s.get(Export, export_id).job_id = job.id
        created.append({"photo_id": photo_id, "export_id": export_id, "job_id": job.id})
    return created


def find(s: Session, photo_id: Optional[int] = None, limit: int = 500) -> list[Export]:
    """Exports, newest first."""
    q = select(Export)
    if photo_id is not None:
        q = q.where(Export.photo_id == photo_id)
    return list(s.scalars(q.order_by(Export.id.desc()).limit(limit)))


def cancelled_before_start(p: "Pipeline", job: Job) -> None:
    """An export job cancelled while pending: its export failed without starting."""
    with p.db.write() as s:
        row = s.scalar(select(Export).where(Export.job_id == job.id))
        if row is None:
            return
        row.status, row.error, row.finished_at = ExportStatus.FAILED, "export cancelled", utcnow()
        photo_id, export_id = row.photo_id, row.id
        preset = s.get(Photo, photo_id).preset or ""
    broadcast_export_failed(photo_id=photo_id, preset_name=preset,
                            error_message="export cancelled", export_id=export_id)


def _photo_marks(ctx: JobContext) -> dict:
    """The photo's rating, flag and colour label as they are now, as XMP."""
    with ctx.pool.p.db.read() as s:
        photo = s.get(Photo, ctx.photo_id)
        return metadata.marks_xmp(photo.rating or 0, photo.flag, photo.color_label)


def _rights(ctx: JobContext, params: dict) -> dict:
    config = ctx.pool.p.config
    asked = params.get("rights") or {}
    return {k: asked.get(k) or getattr(config, k) for k in ("creator", "copyright",
                                                                         "contact")}


def _with_metadata(ctx: JobContext, data: bytes, encoder: str, rendered, params: dict) -> bytes:
    """The original's EXIF, rights and the preset written into the encoded export."""
    tags = metadata.read(rendered.source_path)
    rights = _rights(ctx, params)
    exif = metadata.export_exif(tags["exif"], bool(params.get("strip_location")))
    xmp = metadata.export_xmp(rendered.preset.name, rendered.preset.adjustments, rights,
                              _photo_marks(ctx))
    iptc = metadata.export_iptc(rights)
    if encoder == "heic":  # exiv2 does not write BMFF: EXIF through a JPEG carrier into Pillow
        carrier = metadata.embed(encode.encode(rendered.rgb[:8, :8].astype("uint8"), "jpeg", 80),
                                 exif, {}, {})
        with Image.open(io.BytesIO(carrier)) as img:
            exif_bytes = img.info.get("exif")
        if not exif_bytes:
            return data
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            out = io.BytesIO()
            img.save(out, "HEIF", quality=params["quality"], exif=exif_bytes,
                     icc_profile=img.info.get("icc_profile"))
            return out.getvalue()
    try:
        return metadata.embed(data, exif, iptc, xmp, iptc_ok=encoder != "png")
    except RuntimeError as exc:
        log.warning("export of photo %d written without metadata: %s", ctx.photo_id, exc)
        return data


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
    raise JobError(f"too many files named {stem}.{ext} in the destination")


def run(ctx: JobContext) -> dict:
    """The export job: render, encode, write; export_* events around it."""
    p = ctx.pool.p
    params = ctx.params
    export_id = params["export_id"]
    broadcast_export_started(photo_id=ctx.photo_id, preset_name=ctx.preset,
                             destination=params["destination"], export_id=export_id)
    try:
        result = _render_and_write(ctx, params)
    except JobInterrupted:
        raise  # back to pending; it runs again after the restart
    except Exception as exc:
        message = "export cancelled" if isinstance(exc, JobCancelled) else describe(exc)
        with p.db.write() as s:
            row = s.get(Export, export_id)
            row.status, row.error, row.finished_at = ExportStatus.FAILED, message, utcnow()
        broadcast_export_failed(photo_id=ctx.photo_id, preset_name=ctx.preset,
                                error_message=message, export_id=export_id)
        raise
    with p.db.write() as s:
        row = s.get(Export, export_id)
        row.status, row.output_path, row.file_size = (ExportStatus.COMPLETED,
                                                      result["output_path"], result["file_size"])
        row.finished_at = utcnow()
    broadcast_export_completed(photo_id=ctx.photo_id, preset_name=ctx.preset,
                               output_path=result["output_path"],
                               file_size=result["file_size"], export_id=export_id)
    return result


def _render_and_write(ctx: JobContext, params: dict) -> dict:
    folder = Path(params["destination"])
    if not folder.is_dir():
        raise JobError("the destination folder no longer exists")
    if not _inside(Path(os.path.realpath(folder)), export_roots(ctx.pool.p)):
        # Swapped for a symlink out of the export folders since the request was checked.
        raise JobError("the destination folder is no longer inside the export folders")
    fmt = params["format"]
    encoder, ext = FORMATS[fmt]
    bits = 16 if params.get("bit_depth") == 16 and encoder in encode.DEEP else 8
    space = params.get("color_space") or colour.SRGB
    rendered = render_original(ctx, out_bits=bits)
    ctx.progress("writing", WRITING_AT, f"Encoding {fmt.upper()} ({bits}-bit, {space})")
    rgb = rendered.rgb
    long_edge = params.get("long_edge")
    if long_edge and max(rgb.shape[:2]) > long_edge:  # convert the pixels that are kept
        rgb = encode.downscaled(rgb, long_edge) if rgb.dtype == "uint8" \
            else encode._resized16(rgb, long_edge)
    rgb = colour.convert(rgb, rendered.icc, space)
    data = encode.encode(rgb, encoder, quality=params["quality"],
                         icc_profile=colour.profile_bytes(space))
    data = _with_metadata(ctx, data, encoder, rendered, params)
    stem = _SAFE.sub("_", Path(rendered.file_name).stem)[:120] or f"photo_{ctx.photo_id}"
    path = _exclusive_write(folder, stem, ext, data)
    size = path.stat().st_size
    ctx.progress("writing", 100, f"Wrote {path.name}")
    log.info("exported photo %d to %s (%d bytes)", ctx.photo_id, path, size)
    return {"output_path": str(path), "file_size": size, "format": fmt,
            "export_id": params["export_id"], "timings": ctx.finish_timings()}
