"""The loupe's histogram and the gallery's perceptual hash, measured once at analysis.

Both are computed on the analysis image (the preview box-downscaled to ``ANALYSIS_EDGE``),
so they cost the same for every photo and are stored in the photo's analysis JSON.

The hash is imagehash's difference hash (dHash: the signs of horizontal gradients on a 9x8
grey thumbnail). On our test scenes it held within 0-4 of 64 bits under noise, exposure
changes and a few pixels of shift, where the DCT hash (pHash) moved 10-16 bits for mild
noise alone; unrelated images differ in about half the bits either way.
"""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

BINS = 64  # per channel: 4 code values each, enough for a curve drawn a few hundred px wide
CHANNELS = ("r", "g", "b", "l")


def histogram(rgb: np.ndarray, luma: np.ndarray) -> dict[str, list[int]]:
    """64-bin counts of red, green, blue and Rec. 709 luminance (``luma`` on the 0-255
    scale); every channel sums to the number of pixels of ``rgb``."""
    planes = [rgb[..., c] for c in range(3)] + [np.clip(luma + 0.5, 0, 255).astype(np.uint8)]
    shift = 8 - (BINS.bit_length() - 1)
    return {name: np.bincount((plane.ravel() >> shift), minlength=BINS).astype(int).tolist()
            for name, plane in zip(CHANNELS, planes, strict=True)}


def perceptual_hash(rgb: np.ndarray) -> str:
    """The 64-bit difference hash as 16 hex digits: near-identical frames differ in a few
    bits (see ``hash_distance``)."""
    return str(imagehash.dhash(Image.fromarray(np.ascontiguousarray(rgb), "RGB")))


def hash_distance(a: str, b: str) -> int:
    """How many of the 64 bits two ``perceptual_hash`` values differ in."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
