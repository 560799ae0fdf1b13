"""EXIF, IPTC and XMP in and out, with exiv2 (pyexiv2 bundles it; BMFF, i.e. CR3/HEIF/AVIF,
is always enabled from pyexiv2 2.14).

``read`` gives the raw tags of any file exiv2 knows (JPEG, TIFF, PNG, DNG, CR2, CR3, NEF,
ARW, RAF, ORF, RW2, PEF, SRW, HEIC...). ``embed`` writes an export's metadata into its
encoded bytes: the original's EXIF (capture, camera, lens, exposure and, unless asked not
to, GPS), orientation reset to 1 (the pixels are already upright), creator/copyright/contact
as IPTC and XMP, and the Darkroom preset as XMP (Camera Raw ``crs:`` fields and our own).
"""

from __future__ import annotations

import logging
import os
import threading
from fractions import Fraction
from typing import Any, Optional

from websocket_events import COLOR_LABELS, FLAGS

log = logging.getLogger("darkroom.metadata")

DARKROOM_NS = "https://darkroom.invalid/ns/1.0/"
_lock = threading.Lock()
# exiv2's XMP toolkit keeps global state (namespaces, first-use initialisation): one call at
# a time. Reading or writing a photo's metadata takes milliseconds.
_calls = threading.Lock()
_ready = False


def _exiv2():
    global _ready
    import pyexiv2

    if not _ready:
        with _lock:
            if not _ready:
                pyexiv2.set_log_level(4)  # mute exiv2's warnings on odd maker notes
                try:
                    pyexiv2.registerNs(DARKROOM_NS, "darkroom")
                except Exception:  # already registered
                    pass
                _ready = True
    return pyexiv2


def read(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{"exif": {...}, "iptc": {...}, "xmp": {...}}`` of a file; empty dicts when it has none."""
    pyexiv2 = _exiv2()
    out: dict[str, dict[str, Any]] = {"exif": {}, "iptc": {}, "xmp": {}}
    try:
        with _calls, pyexiv2.Image(os.fspath(path)) as img:
            for kind in out:
                try:
                    out[kind] = getattr(img, f"read_{kind}")(encoding="utf-8")
                except (RuntimeError, UnicodeDecodeError, ValueError) as exc:
                    log.info("no %s from %s: %s", kind.upper(), os.path.basename(path), exc)
    except (RuntimeError, OSError, ValueError) as exc:
        log.info("no metadata from %s: %s", os.path.basename(path), exc)
    return out


def modify_xmp_file(path: str | os.PathLike, xmp: dict[str, Any]) -> None:
    """Set (None: remove) these XMP fields in a file exiv2 can write, e.g. a ``.xmp`` sidecar."""
    pyexiv2 = _exiv2()
    with _calls, pyexiv2.Image(os.fspath(path)) as img:
        img.modify_xmp(xmp)


# EXIF copied from the original into an export. IFD0 tags by name (a raw file's IFD0 also
# describes the sensor data, which must not be copied); every Exif/GPS tag but these.
_IFD0_COPY = {"Make", "Model", "DateTime", "Artist", "Copyright", "Software", "ImageDescription",
              "DateTimeOriginal", "ExposureTime", "FNumber", "ISOSpeedRatings", "FocalLength",
              "ExposureProgram", "ExposureBiasValue", "MeteringMode", "Flash", "LensModel",
              "LensMake", "LensSpecification", "BodySerialNumber", "CameraSerialNumber"}
_IFD0_TO_PHOTO = {"DateTimeOriginal", "ExposureTime", "FNumber", "ISOSpeedRatings", "FocalLength",
                  "ExposureProgram", "ExposureBiasValue", "MeteringMode", "Flash", "LensModel",
                  "LensMake", "LensSpecification", "BodySerialNumber"}
_PHOTO_SKIP = {"MakerNote", "PixelXDimension", "PixelYDimension", "ComponentsConfiguration",
               "InteroperabilityTag", "UserComment", "0xea1c", "OffsetSchema", "ColorSpace"}


# Rational tags: a value some writers store as a decimal ("0.004") or an integer ("35") must
# go back as n/d, or exiv2 writes it empty.
_RATIONAL = {"ExposureTime", "FNumber", "FocalLength", "ExposureBiasValue", "ApertureValue",
             "ShutterSpeedValue", "BrightnessValue", "MaxApertureValue", "SubjectDistance",
             "DigitalZoomRatio", "LensSpecification", "XResolution", "YResolution",
             "GPSLatitude", "GPSLongitude", "GPSAltitude", "GPSTimeStamp", "GPSSpeed",
             "GPSImgDirection", "GPSDestBearing", "GPSDOP", "GPSTrack", "GPSHPositioningError"}


def _rational(name: str, value: str) -> str:
    if name not in _RATIONAL:
        return value
    out = []
    for token in value.split():
        try:
            f = Fraction(token).limit_denominator(1_000_000)
        except (ValueError, ZeroDivisionError):
            return value
        out.append(token if "/" in token else f"{f.numerator}/{f.denominator}")
    return " ".join(out)


def export_exif(tags: dict[str, Any], strip_location: bool) -> dict[str, Any]:
    """The original's EXIF as it goes into an export."""
    out: dict[str, Any] = {}
    for key, value in tags.items():
        if not isinstance(value, str) or len(value) > 2000:
            continue
        group, _, name = key.partition(".")[2].partition(".")
        value = _rational(name, value)
        if group == "Image" and name in _IFD0_COPY:
            out[f"Exif.{'Photo' if name in _IFD0_TO_PHOTO else 'Image'}.{name}"] = value
        elif group == "Image" and name == "0xa434":  # LensModel in a DNG's IFD0
            out["Exif.Photo.LensModel"] = value
        elif group == "Photo" and name not in _PHOTO_SKIP and not name.startswith("0x"):
            out[key] = value
        elif group == "GPSInfo" and not strip_location:
            out[key] = value
    out.setdefault("Exif.Photo.DateTimeOriginal", tags.get("Exif.Image.DateTime"))
    out = {k: v for k, v in out.items() if v is not None}
    out["Exif.Image.Orientation"] = "1"
    return out


# Darkroom preset adjustment -> Camera Raw (process 2012) field, one to one.
CRS_FIELDS = {"exposure": "Exposure2012", "contrast": "Contrast2012",
              "highlights": "Highlights2012", "shadows": "Shadows2012",
              "temperature": "IncrementalTemperature", "tint": "IncrementalTint",
              "saturation": "Saturation", "vibrance": "Vibrance", "clarity": "Clarity2012",
              "sharpening": "Sharpness", "vignette": "PostCropVignetteAmount"}


def _crs_value(key: str, value: float) -> str:
    return f"{value:+.2f}" if key == "exposure" else str(int(round(value)))


# A photographer's marks in XMP, as other tools read them: stars in xmp:Rating, a reject as
# xmp:Rating -1 (Bridge, darktable; Lightroom writes no flag to XMP), the colour label as
# Lightroom's default label names in xmp:Label. A pick has no standard field: it is our own
# darkroom:Flag, which also keeps the stars of a rejected photo in darkroom:Rating.
RATING_KEY, LABEL_KEY = "Xmp.xmp.Rating", "Xmp.xmp.Label"
FLAG_KEY, STARS_KEY = "Xmp.darkroom.Flag", "Xmp.darkroom.Rating"
REJECTED_RATING = "-1"


def marks_xmp(rating: int, flag: Optional[str], color_label: Optional[str]) -> dict[str, Any]:
    """The XMP of a photo's marks; a None value removes that field from existing XMP."""
    rejected = flag == "reject"
    return {RATING_KEY: REJECTED_RATING if rejected else str(int(rating)),
            STARS_KEY: str(int(rating)) if rejected else None,
            FLAG_KEY: flag,
            LABEL_KEY: color_label.capitalize() if color_label else None}


def _int(value: Any) -> Optional[int]:
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError, OverflowError):
        return None


def marks_from_xmp(xmp: dict[str, Any]) -> dict[str, Any]:
    """The marks XMP carries (only the ones it has): ``rating`` 0-5, ``flag``,
    ``color_label``. A label outside Lightroom's five (another tool's set) is no label."""
    out: dict[str, Any] = {}
    rating, stars = _int(xmp.get(RATING_KEY)), _int(xmp.get(STARS_KEY))
    if rating == -1:  # rejected: the stars, if any, are only in our own field
        out["flag"] = "reject"
        rating = stars if stars is not None and 0 <= stars <= 5 else 0
    if rating is not None and 0 <= rating <= 5:
        out["rating"] = rating
    flag = xmp.get(FLAG_KEY)
    if isinstance(flag, str) and flag.strip().lower() in FLAGS:
        out["flag"] = flag.strip().lower()
    label = xmp.get(LABEL_KEY)
    if isinstance(label, str) and label.strip().lower() in COLOR_LABELS:
        out["color_label"] = label.strip().lower()
    return out


def export_xmp(preset_name: Optional[str], adjustments: dict[str, float], rights: dict[str, str],
               marks: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    xmp: dict[str, Any] = {k: v for k, v in (marks or {}).items() if v is not None}
    if preset_name:
        xmp["Xmp.darkroom.Preset"] = preset_name
        xmp["Xmp.crs.ProcessVersion"] = "11.0"
        for key, value in adjustments.items():
            if key in CRS_FIELDS:
                xmp[f"Xmp.crs.{CRS_FIELDS[key]}"] = _crs_value(key, float(value))
    if rights.get("creator"):
        xmp["Xmp.dc.creator"] = [rights["creator"]]
    if rights.get("copyright"):
        xmp["Xmp.dc.rights"] = {'lang="x-default"': rights["copyright"]}
    if rights.get("contact"):
        xmp["Xmp.iptc.CreatorContactInfo/Iptc4xmpCore:CiEmailWork"] = rights["contact"]
    return xmp


def export_iptc(rights: dict[str, str]) -> dict[str, Any]:
    iptc: dict[str, Any] = {}
    if rights.get("creator"):
        iptc["Iptc.Application2.Byline"] = [rights["creator"][:32]]
    if rights.get("copyright"):
        iptc["Iptc.Application2.Copyright"] = rights["copyright"][:128]
    if rights.get("contact"):
        iptc["Iptc.Application2.Contact"] = [rights["contact"][:128]]
    return iptc


def embed(data: bytes, exif: dict[str, Any], iptc: dict[str, Any], xmp: dict[str, Any],
          iptc_ok: bool = True) -> bytes:
    """``data`` (an encoded JPEG, TIFF or PNG) with this metadata written in."""
    pyexiv2 = _exiv2()
    with _calls, pyexiv2.ImageData(data) as img:
        if exif:
            try:
                img.modify_exif(exif)
            except RuntimeError as exc:  # one odd value must not cost the rest
                log.info("EXIF written tag by tag after: %s", exc)
                for key, value in exif.items():
                    try:
                        img.modify_exif({key: value})
                    except RuntimeError:
                        log.info("EXIF tag %s not copied", key)
        if iptc and iptc_ok:
            img.modify_iptc(iptc)
        if xmp:
            img.modify_xmp(xmp)
        return img.get_bytes()
