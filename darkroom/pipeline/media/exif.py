"""Reading EXIF: camera, lens, exposure and capture time, normalised to plain JSON values."""

from __future__ import annotations

import logging
import os
import struct
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image, TiffImagePlugin

from darkroom.pipeline.media.formats import TIFF_LIKE_RAW, file_format

log = logging.getLogger("darkroom.exif")

_MAKE, _MODEL, _DATETIME, _EXIF_IFD = 0x010F, 0x0110, 0x0132, 0x8769
_EXPOSURE_TIME, _FNUMBER, _ISO, _DATETIME_ORIGINAL = 0x829A, 0x829D, 0x8827, 0x9003
_FOCAL_LENGTH, _FOCAL_35, _LENS_MODEL = 0x920A, 0xA405, 0xA434


def read_exif(path: str | os.PathLike) -> dict[str, Any]:
    """Camera, lens, ISO, shutter, aperture, focal length and capture time, where present.

    Missing or unreadable EXIF gives fewer keys, never an error: plenty of
    real photos carry none.
    """
    fmt = file_format(path)
    tags: dict[int, Any] = {}
    try:
        if fmt in ("jpeg", "png"):
            with Image.open(path) as img:
                exif = img.getexif()
                tags.update(exif)
                tags.update(exif.get_ifd(_EXIF_IFD))
        elif fmt == "tiff" or fmt in TIFF_LIKE_RAW:
            tags = _tiff_tags(path)
    except Exception as exc:  # EXIF is best effort: a broken block must not fail an import
        log.info("no EXIF from %s: %s", Path(path).name, exc)
        return {}
    return _normalise(tags)


def _tiff_tags(path) -> dict[int, Any]:
    """IFD0 and Exif IFD of a TIFF-based RAW (DNG, CR2, NEF, ARW, ORF, RW2)."""
    with open(path, "rb") as fp:
        head = fp.read(8)
        if head[:2] not in (b"II", b"MM"):
            return {}
        order = "<" if head[:2] == b"II" else ">"
        offset = struct.unpack(order + "I", head[4:8])[0]
        # ORF ("IIRO") and RW2 ("IIU\0") use their own magic; present a plain TIFF header.
        magic = b"II*\x00" if order == "<" else b"MM\x00*"
        tags: dict[int, Any] = {}
        ifd = TiffImagePlugin.ImageFileDirectory_v2(magic + head[4:8])
        fp.seek(offset)
        ifd.load(fp)
        tags.update(ifd)
        exif_offset = tags.get(_EXIF_IFD)
        if isinstance(exif_offset, int) and exif_offset > 0:
            sub = TiffImagePlugin.ImageFileDirectory_v2(magic + head[4:8])
            fp.seek(exif_offset)
            sub.load(fp)
            tags.update(sub)
        return tags


def _num(value) -> Optional[float]:
    if isinstance(value, tuple) and value:
        value = value[0]
    try:
        out = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return out if np.isfinite(out) and out >= 0 else None


def _text(value) -> Optional[str]:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ").strip()
    return value[:200] or None


def _normalise(tags: dict[int, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    make, model = _text(tags.get(_MAKE)), _text(tags.get(_MODEL))
    if make or model:
        camera = model or ""
        if make and not camera.lower().startswith(make.lower()):
            camera = f"{make} {camera}".strip()
        out["camera"] = camera
    lens = _text(tags.get(_LENS_MODEL))
    if lens:
        out["lens"] = lens
    iso = _num(tags.get(_ISO))
    if iso:
        out["iso"] = int(iso)
    shutter = _num(tags.get(_EXPOSURE_TIME))
    if shutter:
        out["exposure_time"] = round(shutter, 6)
        out["shutter"] = f"1/{round(1 / shutter)}" if shutter < 1 else f"{shutter:g}s"
    aperture = _num(tags.get(_FNUMBER))
    if aperture:
        out["aperture"] = round(aperture, 1)
    focal = _num(tags.get(_FOCAL_LENGTH))
    if focal:
        out["focal_length"] = round(focal, 1)
    focal35 = _num(tags.get(_FOCAL_35))
    if focal35:
        out["focal_length_35mm"] = int(focal35)
    when = _text(tags.get(_DATETIME_ORIGINAL)) or _text(tags.get(_DATETIME))
    if when:
        try:
            out["capture_time"] = datetime.strptime(when[:19], "%Y:%m:%d %H:%M:%S").isoformat()
        except ValueError:
            pass
    return out
