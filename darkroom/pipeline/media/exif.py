"""Reading EXIF (exiv2, through ``metadata.read``): camera, lens, exposure, capture time and
GPS, normalised to plain JSON values, for every format exiv2 reads (JPEG, PNG, TIFF, HEIF,
DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, PEF, SRW, IIQ, 3FR...).
"""

from __future__ import annotations

import logging
import math
import os
from datetime import datetime
from fractions import Fraction
from typing import Any, Optional

from darkroom.pipeline.media import metadata

log = logging.getLogger("darkroom.exif")


def read_exif(path: str | os.PathLike) -> dict[str, Any]:
    """Camera, lens, ISO, shutter, aperture, focal length, capture time and GPS, where present.

    Missing or unreadable EXIF gives fewer keys, never an error: plenty of
    real photos carry none.
    """
    return read_exif_and_marks(path)[0]


def read_exif_and_marks(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """``read_exif``, and the rating, flag and colour label the file's own XMP carries."""
    try:
        tags = metadata.read(path)
    except Exception as exc:  # EXIF is best effort: a broken block must not fail an import
        log.info("no EXIF from %s: %s", os.path.basename(path), exc)
        return {}, {}
    return normalise(tags["exif"], tags["xmp"]), metadata.marks_from_xmp(tags["xmp"])


def captured_at(exif: dict[str, Any]) -> Optional[datetime]:
    """When the photo was taken (DateTimeOriginal, else the file's DateTime), as the camera's
    clock read it: EXIF has no time zone, so it is stored as is."""
    when = exif.get("capture_time")
    try:
        return datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        return None


def _num(value) -> Optional[float]:
    """An EXIF number ("1/250", "28/10", "200", "200 200") as a float, or None."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        out = float(Fraction(value.split()[0]))
    except (ValueError, ZeroDivisionError):
        return None
    return out if math.isfinite(out) and out >= 0 else None


def _text(value) -> Optional[str]:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = next(iter(value.values()), None)
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ").strip()
    if value.lower().startswith("charset="):
        value = value.split(" ", 1)[1] if " " in value else ""
    return value[:200] or None


def _tag(tags: dict, name: str, *groups: str):
    for group in groups or ("Photo", "Image"):
        value = tags.get(f"Exif.{group}.{name}")
        if value not in (None, ""):
            return value
    return None


def _gps_coord(value, ref) -> Optional[float]:
    if not isinstance(value, str):
        return None
    try:
        d, m, s = (float(Fraction(v)) for v in value.split()[:3])
    except (ValueError, ZeroDivisionError):
        return None
    out = d + m / 60 + s / 3600
    if isinstance(ref, str) and ref.strip().upper()[:1] in ("S", "W"):
        out = -out
    return round(out, 7) if math.isfinite(out) else None


def normalise(tags: dict[str, Any], xmp: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    make, model = _text(_tag(tags, "Make", "Image")), _text(_tag(tags, "Model", "Image"))
    if make or model:
        camera = model or ""
        if make and not camera.lower().startswith(make.lower()):
            camera = f"{make} {camera}".strip()
        out["camera"] = camera
    lens = _text(_tag(tags, "LensModel", "Photo", "Image")) or _text(tags.get("Exif.Image.0xa434"))
    if lens:
        out["lens"] = lens
    iso = _num(_tag(tags, "ISOSpeedRatings") or _tag(tags, "PhotographicSensitivity"))
    if iso:
        out["iso"] = int(iso)
    shutter = _num(_tag(tags, "ExposureTime"))
    if shutter:
        out["exposure_time"] = round(shutter, 6)
        out["shutter"] = f"1/{round(1 / shutter)}" if shutter < 1 else f"{shutter:g}s"
    aperture = _num(_tag(tags, "FNumber"))
    if aperture:
        out["aperture"] = round(aperture, 1)
    focal = _num(_tag(tags, "FocalLength"))
    if focal:
        out["focal_length"] = round(focal, 1)
    focal35 = _num(_tag(tags, "FocalLengthIn35mmFilm"))
    if focal35:
        out["focal_length_35mm"] = int(focal35)
    when = _text(_tag(tags, "DateTimeOriginal")) or _text(_tag(tags, "DateTime", "Image"))
    if when:
        try:
            out["capture_time"] = datetime.strptime(when[:19], "%Y:%m:%d %H:%M:%S").isoformat()
        except ValueError:
            pass
    orientation = _num(_tag(tags, "Orientation", "Image"))
    if orientation and 1 <= orientation <= 8:
        out["orientation"] = int(orientation)
    lat = _gps_coord(tags.get("Exif.GPSInfo.GPSLatitude"), tags.get("Exif.GPSInfo.GPSLatitudeRef"))
    lon = _gps_coord(tags.get("Exif.GPSInfo.GPSLongitude"),
                     tags.get("Exif.GPSInfo.GPSLongitudeRef"))
    if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
        gps: dict[str, Any] = {"latitude": lat, "longitude": lon}
        alt = _num(tags.get("Exif.GPSInfo.GPSAltitude"))
        if alt is not None:
            below = str(tags.get("Exif.GPSInfo.GPSAltitudeRef", "0")).strip() == "1"
            gps["altitude"] = round(-alt if below else alt, 2)
        out["gps"] = gps
    xmp = xmp or {}
    rating = _num(xmp.get("Xmp.xmp.Rating")) if xmp.get("Xmp.xmp.Rating") != "-1" else None
    if xmp.get("Xmp.xmp.Rating") == "-1":
        out["xmp_rating"] = -1
    elif rating is not None and rating <= 5:
        out["xmp_rating"] = int(rating)
    label = _text(xmp.get("Xmp.xmp.Label"))
    if label:
        out["xmp_label"] = label
    return out
