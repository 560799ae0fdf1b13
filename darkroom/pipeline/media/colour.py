"""Colour management: ICC profiles (sRGB, Display P3, Adobe RGB) and conversions between them.

sRGB comes from LittleCMS (``ImageCms.createProfile("sRGB")``). Pillow cannot
build Display P3 or Adobe RGB, so they are written here as small ICC v2
matrix/TRC profiles from their published primaries, white point and transfer
curve (colorants Bradford-adapted to the D50 profile connection space), at
import time, with no download.

8-bit conversions go through LittleCMS (``ImageCms``). 16-bit conversions are
done in float with numpy from the profiles' matrix and curves (every profile
we write, and the ones cameras and editors embed, are matrix/TRC profiles);
a LUT-based profile falls back to LittleCMS at 8 bits.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from typing import Optional

import numpy as np
from PIL import Image, ImageCms

SRGB, DISPLAY_P3, ADOBE_RGB = "srgb", "display-p3", "adobe-rgb"
SPACES = (SRGB, DISPLAY_P3, ADOBE_RGB)
ALIASES = {"srgb": SRGB, "display-p3": DISPLAY_P3, "display_p3": DISPLAY_P3, "p3": DISPLAY_P3,
           "displayp3": DISPLAY_P3, "adobe-rgb": ADOBE_RGB, "adobe_rgb": ADOBE_RGB,
           "adobergb": ADOBE_RGB, "adobe-rgb-1998": ADOBE_RGB}

_D50 = np.array([0.9642, 1.0, 0.8249])
_D65 = (0.3127, 0.3290)
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367],
                      [0.0389, -0.0685, 1.0296]])
# name -> (description, primaries (x, y) r g b, white (x, y), transfer: "srgb" or a gamma)
_SPACES = {
    DISPLAY_P3: ("Display P3 (Darkroom)", ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)), _D65,
                 "srgb"),
    ADOBE_RGB: ("Adobe RGB (1998) compatible (Darkroom)",
                ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060)), _D65, 563 / 256),
    SRGB: ("sRGB (Darkroom)", ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)), _D65, "srgb"),
}


def space_name(value: Optional[str]) -> Optional[str]:
    """The canonical colour space name for a request value, or None when unknown."""
    return ALIASES.get((value or SRGB).strip().lower().replace(" ", "-"))


def _xy_to_xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz_matrix(primaries, white) -> np.ndarray:
    """The RGB -> XYZ matrix (white Y = 1) of a space given by its primaries and white point."""
    p = np.stack([_xy_to_xyz(*xy) for xy in primaries], axis=1)
    scale = np.linalg.solve(p, _xy_to_xyz(*white))
    return p * scale


def _bradford_to_d50(white) -> np.ndarray:
    src = _BRADFORD @ _xy_to_xyz(*white)
    dst = _BRADFORD @ _D50
    return np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD


def d50_matrix(name: str) -> np.ndarray:
    """RGB -> XYZ(D50) of one of our spaces: the colorant tags of its ICC profile."""
    _, primaries, white, _ = _SPACES[name]
    return _bradford_to_d50(white) @ rgb_to_xyz_matrix(primaries, white)


# ---- writing ICC v2 matrix/TRC profiles ------------------------------------------------------

def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + b"\0" * 4 + b"".join(_s15(v) for v in xyz)


def _curve_tag(transfer) -> bytes:
    if transfer == "srgb":
        x = np.linspace(0, 1, 1024)
        y = srgb_decode(x)
        table = np.round(y * 65535).astype(">u2").tobytes()
        return b"curv" + b"\0" * 4 + struct.pack(">I", 1024) + table
    return b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", int(round(transfer * 256)))


def _text_tag(text: str) -> bytes:
    return b"text" + b"\0" * 4 + text.encode("ascii") + b"\0"


def _desc_tag(text: str) -> bytes:
    raw = text.encode("ascii") + b"\0"
    return (b"desc" + b"\0" * 4 + struct.pack(">I", len(raw)) + raw + b"\0" * 8
            + b"\0" * 2 + b"\0" + b"\0" * 67)


def build_icc(name: str) -> bytes:
    """An ICC v2 display profile (matrix/TRC) for one of our colour spaces."""
    desc, _, _, transfer = _SPACES[name]
    m = d50_matrix(name)
    curve = _curve_tag(transfer)
    tags = [(b"desc", _desc_tag(desc)), (b"cprt", _text_tag("No copyright, use freely")),
            (b"wtpt", _xyz_tag(_D50)), (b"rXYZ", _xyz_tag(m[:, 0])), (b"gXYZ", _xyz_tag(m[:, 1])),
            (b"bXYZ", _xyz_tag(m[:, 2])), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, body, placed = b"", b"", {}
    for sig, data in tags:
        if data in placed:  # the three curves share one copy
            start = placed[data]
        else:
            start = offset + len(body)
            placed[data] = start
            body += data + b"\0" * ((-len(data)) % 4)
        table += sig + struct.pack(">II", start, len(data))
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr" + b"RGB "
              + b"XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"APPL"
              + b"\0" * 4 + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + struct.pack(">I", 0)
              + b"".join(_s15(v) for v in _D50) + b"dkrm" + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


@functools.lru_cache(maxsize=None)
def profile_bytes(name: str) -> bytes:
    """The ICC profile embedded in exports in ``name`` (sRGB is LittleCMS's own)."""
    if name == SRGB:
        return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return build_icc(name)


# ---- reading matrix/TRC profiles, for 16-bit conversions ----------------------------------------

def srgb_decode(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def srgb_encode(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=np.float64), 0, 1)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


class MatrixProfile:
    """The colorant matrix and tone curves of a matrix/TRC ICC profile."""

    def __init__(self, matrix: np.ndarray, curves: list[np.ndarray]):
        self.matrix = matrix          # RGB (linear) -> XYZ D50
        self.curves = curves          # per channel: decode table sampled on [0, 1]

    def decode(self, x: np.ndarray, c: int) -> np.ndarray:
        table = self.curves[c]
        return np.interp(x, np.linspace(0, 1, len(table)), table)

    def encode(self, y: np.ndarray, c: int) -> np.ndarray:
        table = self.curves[c]
        return np.interp(np.clip(y, 0, 1), table, np.linspace(0, 1, len(table)))


def _parse_curve(data: bytes) -> Optional[np.ndarray]:
    kind = data[:4]
    x = np.linspace(0, 1, 4096)
    if kind == b"curv":
        n = struct.unpack(">I", data[8:12])[0]
        if n == 0:
            return x
        if n == 1:
            return x ** (struct.unpack(">H", data[12:14])[0] / 256)
        return np.frombuffer(data[12:12 + 2 * n], ">u2").astype(np.float64) / 65535
    if kind == b"para":
        func = struct.unpack(">H", data[8:10])[0]
        count = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}.get(func)
        if count is None:
            return None
        p = [v / 65536 for v in struct.unpack(f">{count}i", data[12:12 + 4 * count])]
        g, a, b, c, d, e, f = (p + [1, 0, 0, 0, 0, 0])[:7] if func else (p[0], 1, 0, 0, 0, 0, 0)
        if func == 0:
            return x ** g
        if func == 1:
            return np.where(x >= -b / a, np.maximum(a * x + b, 0) ** g, 0)
        if func == 2:
            return np.where(x >= -b / a, np.maximum(a * x + b, 0) ** g + c, c)
        if func == 3:
            return np.where(x >= d, np.maximum(a * x + b, 0) ** g, c * x)
        return np.where(x >= d, np.maximum(a * x + b, 0) ** g + e, c * x + f)
    return None


@functools.lru_cache(maxsize=32)
def _matrix_profile_cached(icc: bytes) -> Optional[MatrixProfile]:
    try:
        count = struct.unpack(">I", icc[128:132])[0]
        tags = {}
        for i in range(count):
            sig, off, size = struct.unpack(">4sII", icc[132 + 12 * i:144 + 12 * i])
            tags[sig] = icc[off:off + size]
        if icc[16:20] != b"RGB " or not all(t in tags for t in (b"rXYZ", b"gXYZ", b"bXYZ",
                                                                 b"rTRC", b"gTRC", b"bTRC")):
            return None
        cols = [[struct.unpack(">i", tags[t][8 + 4 * k:12 + 4 * k])[0] / 65536 for k in range(3)]
                for t in (b"rXYZ", b"gXYZ", b"bXYZ")]
        curves = [_parse_curve(tags[t]) for t in (b"rTRC", b"gTRC", b"bTRC")]
        if any(c is None for c in curves):
            return None
        return MatrixProfile(np.array(cols).T, curves)
    except (struct.error, IndexError, ValueError, ZeroDivisionError):
        return None


def matrix_profile(icc: Optional[bytes]) -> Optional[MatrixProfile]:
    return _matrix_profile_cached(icc or profile_bytes(SRGB))


# ---- conversions ---------------------------------------------------------------------------------

def same_space(icc: Optional[bytes], name: str) -> bool:
    """True when pixels tagged ``icc`` (None: untagged, i.e. sRGB) are already in ``name``."""
    if icc is None or icc == profile_bytes(name):
        return icc is not None or name == SRGB
    src = matrix_profile(icc)
    dst = matrix_profile(profile_bytes(name))
    if src is None or dst is None:
        return False
    x = np.linspace(0, 1, 64)
    return bool(np.allclose(src.matrix, dst.matrix, atol=2e-3)
                and all(np.allclose(src.decode(x, c), dst.decode(x, c), atol=2e-3)
                        for c in range(3)))


@functools.lru_cache(maxsize=32)
def _transform(src_icc: bytes, dst_icc: bytes):
    src = ImageCms.ImageCmsProfile(_io(src_icc))
    dst = ImageCms.ImageCmsProfile(_io(dst_icc))
    return ImageCms.buildTransform(src, dst, "RGB", "RGB",
                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)


def _io(data: bytes):
    import io

    return io.BytesIO(data)


def profile_digest(icc: Optional[bytes]) -> Optional[str]:
    return hashlib.sha1(icc).hexdigest()[:12] if icc else None


def describe(icc: Optional[bytes]) -> Optional[str]:
    """The profile's description ("Adobe RGB (1998)"...), or None."""
    if not icc:
        return None
    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(_io(icc))).strip() or None
    except (OSError, ImageCms.PyCMSError):
        return None


def image_to(img: Image.Image, src_icc: Optional[bytes], name: str) -> Image.Image:
    """An 8-bit RGB Pillow image converted from ``src_icc`` to the space ``name``."""
    if same_space(src_icc, name):
        return img
    try:
        return ImageCms.applyTransform(img, _transform(src_icc or profile_bytes(SRGB),
                                                       profile_bytes(name)))
    except (OSError, ImageCms.PyCMSError):
        return img  # an unreadable profile: the pixels as they are (what a browser would do)


def convert(rgb: np.ndarray, src_icc: Optional[bytes], name: str) -> np.ndarray:
    """RGB pixels (uint8 or uint16) from ``src_icc`` (None: sRGB) into the space ``name``."""
    if same_space(src_icc, name):
        return rgb
    if rgb.dtype == np.uint8:
        return np.asarray(image_to(Image.fromarray(rgb, "RGB"), src_icc, name))
    src, dst = matrix_profile(src_icc), matrix_profile(profile_bytes(name))
    if src is None or dst is None:  # a LUT profile: LittleCMS at 8 bits
        eight = (rgb >> 8).astype(np.uint8)
        return convert(eight, src_icc, name).astype(np.uint16) * 257
    m = (np.linalg.inv(dst.matrix) @ src.matrix).astype(np.float32)
    out = np.empty_like(rgb)
    rows = max(1, (1 << 20) // max(1, rgb.shape[1]))
    codes = np.linspace(0, 1, 65536)
    dec = [src.decode(codes, c).astype(np.float32) for c in range(3)]
    enc_x = np.linspace(0, 1, 16385)
    enc = [dst.encode(enc_x, c) for c in range(3)]
    for y0 in range(0, rgb.shape[0], rows):
        block = rgb[y0:y0 + rows]
        lin = np.stack([np.take(dec[c], block[..., c]) for c in range(3)], axis=-1)
        lin = lin @ m.T
        for c in range(3):
            idx = np.clip(lin[..., c], 0, 1) * 16384
            out[y0:y0 + rows, :, c] = np.round(np.take(enc[c], idx.astype(np.int32)) * 65535)
    return out
