"""Encoding rendered pixels: JPEG, PNG or TIFF bytes, resized, and atomic JPEG files."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

# The output formats a client may name: name -> (encoder, file extension).
OUTPUTS = {"jpeg": ("jpeg", "jpg"), "jpg": ("jpeg", "jpg"), "png": ("png", "png"),
           "tiff": ("tiff", "tif"), "tif": ("tiff", "tif")}


def downscaled(rgb: np.ndarray, max_edge: int) -> np.ndarray:
    """``rgb`` made no larger than ``max_edge`` (Lanczos), or itself when it already is."""
    if max(rgb.shape[:2]) <= max_edge:
        return rgb
    img = Image.fromarray(rgb, "RGB")
    img.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    return np.asarray(img)


def save_jpeg(rgb: np.ndarray, path: str | os.PathLike, quality: int,
              max_edge: Optional[int] = None) -> int:
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


def encode(rgb: np.ndarray, fmt: str, quality: int, max_edge: Optional[int] = None) -> bytes:
    """Encode an RGB array as ``jpeg``, ``png`` or ``tiff`` bytes, resized to ``max_edge``
    (``quality`` matters to JPEG only)."""
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
