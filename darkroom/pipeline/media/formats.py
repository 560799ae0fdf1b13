"""Which files are photos: our format name for each supported suffix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

RASTER_FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff"}
RAW_FORMATS = {".cr2": "cr2", ".cr3": "cr3", ".nef": "nef", ".arw": "arw", ".dng": "dng",
               ".raf": "raf", ".orf": "orf", ".rw2": "rw2"}
SUPPORTED = {**RASTER_FORMATS, **RAW_FORMATS}
# RAW formats whose container is TIFF-like, so their EXIF can be read from IFD0/Exif IFD.
TIFF_LIKE_RAW = {"cr2", "nef", "arw", "dng", "orf", "rw2"}


def file_format(path: str | os.PathLike) -> Optional[str]:
    """Our format name for a path (by suffix), or None when unsupported."""
    return SUPPORTED.get(Path(path).suffix.lower())


def is_raw(fmt: str) -> bool:
    return fmt in RAW_FORMATS.values()
