"""Finding photos and their image files, and a photographer's summary of their EXIF."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from darkroom.db import Export, Job, Photo
from darkroom.pipeline.errors import PipelineError
from darkroom.pipeline.media import decode, encode
from darkroom.pipeline.media.sizes import DEVELOPED_QUALITY

if TYPE_CHECKING:
    from darkroom.pipeline.wiring import Pipeline

# The image files a photo has: URL suffix -> (column, what it is, for error messages).
IMAGES = {"thumbnail": ("thumbnail_path", "thumbnail"),
          "preview": ("preview_path", "preview"),
          "developed": ("developed_preview_path", "developed image"),
          "developed/thumbnail": ("developed_thumbnail_path", "developed thumbnail")}


def get(s: Session, photo_id: int) -> Photo:
    photo = s.get(Photo, photo_id)
    if photo is None:
        raise PipelineError(404, "photo_not_found", f"no photo {photo_id}")
    return photo


def history(s: Session, photo_id: int) -> tuple[list[Job], list[Export]]:
    """A photo's jobs (oldest first) and exports."""
    jobs = list(s.scalars(select(Job).where(Job.photo_id == photo_id).order_by(Job.id)))
    exports = list(s.scalars(select(Export).where(Export.photo_id == photo_id)))
    return jobs, exports


def image_file(s: Session, photo_id: int, image: str) -> str:
    """The path of one of a photo's images (404 ``image_not_available`` until it exists)."""
    column, what = IMAGES[image]
    path = getattr(get(s, photo_id), column)
    if not path or not os.path.isfile(path):
        raise PipelineError(404, "image_not_available", f"no {what} for photo {photo_id} yet")
    return path


def full_image_file(p: "Pipeline", photo_id: int) -> str:
    """The photo at full resolution: its developed JPEG once developed, else the original
    decoded upright and colour-managed to sRGB, encoded once into the cache (named by the
    content hash, like the thumbnails) so the next look is a file read. 404 ``no_image``
    when neither can be had."""
    with p.db.read() as s:
        photo = get(s, photo_id)
        developed, original, digest = photo.developed_path, photo.file_path, photo.content_hash
    if developed and os.path.isfile(developed):
        return developed
    cached = p.cache_dir / f"{digest}_full.jpg"
    if not cached.is_file():
        try:
            rgb = decode.load(original)
        except decode.ImageError:
            raise PipelineError(404, "no_image",
                                f"photo {photo_id} has no readable full-size image") from None
        encode.save_jpeg(rgb, cached, quality=DEVELOPED_QUALITY)
    return str(cached)


def _number(value: Any) -> Optional[float]:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    return float(value) if ok else None


def _shutter(seconds: Optional[float]) -> Optional[str]:
    if seconds is None:
        return None
    return f"1/{round(1 / seconds)} s" if seconds < 1 else f"{seconds:g} s"


def exif_summary(exif: Optional[dict]) -> dict[str, Any]:
    """Shutter, aperture, ISO, focal length, lens and camera as a photographer writes them,
    and the loupe's one-line summary (``1/250 s · f/2.8 · ISO 200 · 35 mm · lens``); a part
    the file does not record is None and left out of the line."""
    exif = exif if isinstance(exif, dict) else {}
    aperture, focal = _number(exif.get("aperture")), _number(exif.get("focal_length"))
    iso = _number(exif.get("iso"))
    lens, camera = exif.get("lens"), exif.get("camera")
    out = {"shutter": _shutter(_number(exif.get("exposure_time"))),
           "aperture": f"f/{aperture:g}" if aperture else None,
           "iso": int(iso) if iso else None,
           "focal_length": f"{focal:g} mm" if focal else None,
           "lens": lens if isinstance(lens, str) and lens else None,
           "camera": camera if isinstance(camera, str) and camera else None}
    parts = [out["shutter"], out["aperture"], out["iso"] and f"ISO {out['iso']}",
             out["focal_length"], out["lens"]]
    out["line"] = " · ".join(part for part in parts if part) or None
    return out
