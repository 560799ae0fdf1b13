"""Which files are photos: our format name for each supported suffix.

Raster formats are named by suffix. A raw file is *accepted* by LibRaw decoding it (see
``decode``); the suffix list below is only the cheap first check that keeps a folder scan
from handing every file on a card to LibRaw. It is LibRaw's own list of raw suffixes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

RASTER_FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff"}
HEIF_FORMATS = {".heic": "heic", ".heif": "heif", ".hif": "hif"}
_RAW_SUFFIXES = ("3fr", "ari", "arw", "bay", "cap", "cr2", "cr3", "crw", "data", "dcr", "dcs",
                 "dng", "drf", "eip", "erf", "fff", "gpr", "iiq", "k25", "kdc", "mdc", "mef", "mos",
                 "mrw", "nef", "nrw", "obm", "orf", "ori", "pef", "ptx", "pxn", "r3d", "raf", "raw",
                 "rwl", "rw2", "rwz", "sr2", "srf", "srw", "sti", "x3f")
RAW_FORMATS = {f".{s}": s for s in _RAW_SUFFIXES}
SUPPORTED = {**RASTER_FORMATS, **HEIF_FORMATS, **RAW_FORMATS}


def file_format(path: str | os.PathLike) -> Optional[str]:
    """Our format name for a path (by suffix), or None when unsupported."""
    return SUPPORTED.get(Path(path).suffix.lower())


def is_raw(fmt: str) -> bool:
    return fmt in RAW_FORMATS.values()


def is_heif(fmt: str) -> bool:
    return fmt in HEIF_FORMATS.values()
