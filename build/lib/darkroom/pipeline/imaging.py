"""Reading photos: JPEG/PNG/TIFF with Pillow, camera RAW with rawpy (LibRaw), and their EXIF.

Everything returns RGB ``uint8`` numpy arrays, already rotated upright. Any
failure to decode is an ``ImageError`` so callers can tell "this file is not a
readable photo" (the user's problem: 422) from a bug (ours).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import struct
import tempfile
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image, ImageOps, TiffImagePlugin

log = logging.getLogger("darkroom.imaging")

RASTER_FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tif": "tiff", ".tiff": "tiff"}
RAW_FORMATS = {".cr2": "cr2", ".cr3": "cr3", ".nef": "nef", ".arw": "arw", ".dng": "dng",
               ".raf": "raf", ".orf": "orf", ".rw2": "rw2"}
SUPPORTED = {**RASTER_FORMATS, **RAW_FORMATS}
# RAW formats whose container is TIFF-like, so their EXIF can be read from IFD0/Exif IFD.
_TIFF_LIKE_RAW = {"cr2", "nef", "arw", "dng", "orf", "rw2"}

# A decompression bomb is a corrupt file as far as we are concerned.
Image.MAX_IMAGE_PIXELS = 250_000_000
warnings.simplefilter("error", Image.DecompressionBombWarning)


class ImageError(Exception):
    """The file is not a photo we can read (unsupported, corrupt, truncated, missing)."""


def file_format(path: str | os.PathLike) -> Optional[str]:
    """Our format name for a path (by suffix), or None when unsupported."""
    return SUPPORTED.get(Path(path).suffix.lower())


def is_raw(fmt: str) -> bool:
    return fmt in RAW_FORMATS.values()


def load(path: str | os.PathLike, max_edge: Optional[int] = None) -> np.ndarray:
    """Decode a photo to an upright RGB uint8 array, optionally no larger than ``max_edge``."""
    return load_with_size(path, max_edge)[0]


def load_with_size(path: str | os.PathLike,
                   max_edge: Optional[int] = None) -> tuple[np.ndarray, tuple[int, int]]:
    """Like ``load``, plus the photo's full upright (width, height).

    With ``max_edge`` JPEGs decode at reduced DCT scale and RAW files are
    demosaiced at half size: fast previews for import and analysis.
    """
    fmt = file_format(path)
    if fmt is None:
        raise ImageError("unsupported file format")
    try:
        if is_raw(fmt):
            rgb, size = _load_raw(path, half_size=max_edge is not None)
            img = Image.fromarray(rgb, "RGB")
        else:
            img, size = _open_raster(path, max_edge)
        if max_edge is not None and max(img.size) > max_edge:
            img.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
        return np.asarray(img, dtype=np.uint8), size
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"cannot decode image: {exc.__class__.__name__}") from exc


def _open_raster(path, max_edge: Optional[int]) -> tuple[Image.Image, tuple[int, int]]:
    with Image.open(path) as img:
        width, height = img.size
        if _orientation(img) in (5, 6, 7, 8):
            width, height = height, width
        if max_edge is not None and img.format == "JPEG":
            img.draft("RGB", (max_edge, max_edge))
        img.load()
        img = ImageOps.exif_transpose(img)
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(img, dtype=np.float32)
            scale = 65535.0 if arr.max() > 255 else 255.0
            img = Image.fromarray((arr / scale * 255).clip(0, 255).astype(np.uint8), "L")
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            return background, (width, height)
        return img.convert("RGB"), (width, height)


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block must not make a readable photo unreadable
        return 1


def _load_raw(path, half_size: bool) -> tuple[np.ndarray, tuple[int, int]]:
    import rawpy

    try:
        with rawpy.imread(os.fspath(path)) as raw:
            width, height = raw.sizes.width, raw.sizes.height
            if raw.sizes.flip in (5, 6):
                width, height = height, width
            rgb = raw.postprocess(use_camera_wb=True, half_size=half_size, output_bps=8,
                                  no_auto_bright=False, user_flip=None)
            return rgb, (width, height)
    except (rawpy.LibRawError, MemoryError) as exc:
        raise ImageError(f"cannot decode RAW file: {exc.__class__.__name__}") from exc


def downscaled(rgb: np.ndarray, max_edge: int) -> np.ndarray:
    """``rgb`` made no larger than ``max_edge`` (Lanczos), or itself when it already is."""
    if max(rgb.shape[:2]) <= max_edge:
        return rgb
    img = Image.fromarray(rgb, "RGB")
    img.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    return np.asarray(img)


def save_jpeg(rgb: np.ndarray, path: str | os.PathLike, max_edge: Optional[int] = None,
              quality: int = 90) -> int:
    """Write ``rgb`` as a JPEG (atomically: temp file then rename); return its size."""
    data = encode(rgb, "jpeg", quality=quality, max_edge=max_edge)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(data)


def encode(rgb: np.ndarray, fmt: str, quality: int = 90, max_edge: Optional[int] = None) -> bytes:
    """Encode an RGB array as ``jpeg``, ``png`` or ``tiff`` bytes, resized to ``max_edge``."""
    img = Image.fromarray(rgb, "RGB")
    if max_edge and max(img.size) > max_edge:
        img.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.save(buf, "JPEG", quality=quality, optimize=False, progressive=False)
    elif fmt == "png":
        img.save(buf, "PNG", compress_level=6)
    elif fmt == "tiff":
        img.save(buf, "TIFF", compression="tiff_deflate")
    else:
        raise ValueError(f"unknown output format {fmt}")
    return buf.getvalue()


# --- EXIF ---------------------------------------------------------------------

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
        elif fmt == "tiff" or fmt in _TIFF_LIKE_RAW:
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

