"""Encoding rendered pixels: JPEG, PNG, TIFF (8 or 16-bit) or HEIC bytes, resized, with an ICC
profile; and atomic JPEG files."""

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
           "tiff": ("tiff", "tif"), "tif": ("tiff", "tif"), "heic": ("heic", "heic")}
# Encoders that can carry 16 bits per channel.
DEEP = {"tiff", "png"}


# Previews and thumbnails first box-reduce by an integer factor while at least this many times
# the target remains, then Lanczos: much faster than Lanczos from full size, same look.
PREVIEW_REDUCING_GAP = 1.5


def downscaled(rgb: np.ndarray, max_edge: int, fast: bool = False) -> np.ndarray:
    """``rgb`` (uint8) made no larger than ``max_edge`` (Lanczos; ``fast``: box-reduced first,
    for previews), or itself when it already is."""
    if max(rgb.shape[:2]) <= max_edge:
        return rgb
    img = Image.fromarray(rgb, "RGB")
    img.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS,
                  reducing_gap=PREVIEW_REDUCING_GAP if fast else None)
    return np.asarray(img)


def _resized16(rgb: np.ndarray, max_edge: int) -> np.ndarray:
    """A uint16 RGB array resized per channel in 32-bit float (Pillow mode F)."""
    h, w = rgb.shape[:2]
    scale = max_edge / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    planes = [np.asarray(Image.fromarray(rgb[..., c].astype(np.float32), "F")
                         .resize(size, Image.Resampling.LANCZOS)) for c in range(3)]
    return np.clip(np.stack(planes, axis=-1) + 0.5, 0, 65535).astype(np.uint16)


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


def encode(rgb: np.ndarray, fmt: str, quality: int, max_edge: Optional[int] = None,
           icc_profile: Optional[bytes] = None, exif: Optional[bytes] = None) -> bytes:
    """Encode an RGB array as ``jpeg``, ``png``, ``tiff`` or ``heic`` bytes, resized to
    ``max_edge`` (``quality`` matters to JPEG and HEIC only), tagged with ``icc_profile``.

    A uint16 array stays 16-bit in TIFF (tifffile, deflate) and PNG; JPEG and HEIC are 8-bit.
    """
    if rgb.dtype == np.uint16 and fmt not in DEEP:
        rgb = (rgb >> 8).astype(np.uint8)
    if rgb.dtype == np.uint16:
        if max_edge and max(rgb.shape[:2]) > max_edge:
            rgb = _resized16(rgb, max_edge)
        return _encode16(rgb, fmt, icc_profile)
    img = Image.fromarray(rgb, "RGB")
    if max_edge and max(img.size) > max_edge:  # previews and thumbnails
        img.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS,
                      reducing_gap=PREVIEW_REDUCING_GAP)
    buf = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    if exif:
        extra["exif"] = exif
    if fmt == "jpeg":
        img.save(buf, "JPEG", quality=quality, optimize=False, progressive=False, **extra)
    elif fmt == "png":
        img.save(buf, "PNG", compress_level=6, **extra)
    elif fmt == "tiff":
        img.save(buf, "TIFF", compression="tiff_deflate", **extra)
    elif fmt == "heic":
        img.save(buf, "HEIF", quality=quality, **extra)
    else:
        raise ValueError(f"unknown output format {fmt}")
    return buf.getvalue()


def _encode16(rgb: np.ndarray, fmt: str, icc_profile: Optional[bytes]) -> bytes:
    buf = io.BytesIO()
    if fmt == "tiff":
        import tifffile

        tifffile.imwrite(buf, rgb, photometric="rgb", compression="zlib",
                         iccprofile=icc_profile, metadata=None)
    else:  # PNG: Pillow cannot write 16-bit RGB; a minimal writer
        import struct
        import zlib

        h, w = rgb.shape[:2]
        raw = np.concatenate([np.zeros((h, 1), np.uint8),
                              rgb.astype(">u2").reshape(h, w * 3).view(np.uint8)], axis=1)

        def chunk(kind: bytes, data: bytes) -> bytes:
            return (struct.pack(">I", len(data)) + kind + data
                    + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

        buf.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)))
        if icc_profile:
            buf.write(chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(icc_profile)))
        buf.write(chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))
    return buf.getvalue()
