"""Finding photos and their image files, for the API and the gallery."""

from __future__ import annotations

import os
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from darkroom.db import Export, Job, Photo
from darkroom.pipeline.errors import PipelineError

NO_DECISION = "none"  # the ``decision`` filter of photos nobody has decided on yet

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


def find(s: Session, session_id: Optional[int] = None, status: Optional[str] = None,
         decision: Optional[str] = None, limit: int = 500,
         offset: int = 0) -> tuple[list[Photo], int]:
    """One page of the photos matching every filter given, and how many match in all."""
    q = select(Photo)
    if session_id is not None:
        q = q.where(Photo.session_id == session_id)
    if status:
        q = q.where(Photo.status == status)
    if decision == NO_DECISION:
        q = q.where(Photo.decision.is_(None))
    elif decision:
        q = q.where(Photo.decision == decision)
    total = s.scalar(select(func.count()).select_from(q.subquery()))
    return list(s.scalars(q.order_by(Photo.id).limit(limit).offset(offset))), total


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
