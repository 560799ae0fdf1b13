"""Decoding photos: JPEG/PNG/TIFF with Pillow, camera RAW with rawpy (LibRaw).

Everything returns RGB ``uint8`` numpy arrays, already rotated upright. Any
failure to decode is an ``ImageError`` so callers can tell "this file is not a
readable photo" (the user's problem: 422) from a bug (ours).
"""

from __future__ import annotations

import os
import struct
import warnings
from typing import Optional

import numpy as np
from PIL import Image, ImageOps

from darkroom.pipeline.media.formats import file_format, is_raw

# A decompression bomb is a corrupt file as far as we are concerned.
Image.MAX_IMAGE_PIXELS = 250_000_000
warnings.simplefilter("error", Image.DecompressionBombWarning)


class ImageError(Exception):
    """The file is not a photo we can read (unsupported, corrupt, truncated, missing)."""


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
