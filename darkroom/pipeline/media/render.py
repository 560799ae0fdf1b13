"""Applying a preset to a full-resolution image with numpy, one band of rows at a time.

Working in bands keeps memory flat for 24 MP photos and lets the develop job
report progress as rows are actually finished. Per pixel, in this order:

1. white balance: ``temperature`` warms (red up, blue down) or cools; ``tint``
   moves between green and magenta;
2. a tone curve: ``exposure`` (EV, applied in linear light), ``shadows`` and
   ``highlights`` (gamma on the lower and upper half), ``contrast`` (an
   S-curve about mid-grey); white balance and tone together are one
   256-entry table per channel, computed once per render;
3. ``saturation`` scales chroma; ``vibrance`` scales it more where the pixel
   is still dull;
4. ``clarity`` adds large-radius local contrast on the midtones (the blur
   runs on a coarser grid for speed) and ``sharpening`` a 3x3 unsharp mask,
   both on luminance;
5. ``vignette`` darkens (negative) or lightens (positive) towards the corners.

Blurs are three passes of a box blur (close to a Gaussian); each band is read
with a margin of rows above and below so the result has no band seams.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

ProgressFn = Callable[[int, int], None]


def tone_curve(x: np.ndarray, adj: dict[str, float]) -> np.ndarray:
    """The preset's tone curve applied to values in [0, 1]."""
    y = np.clip((np.asarray(x, np.float64) ** 2.2) * (2.0 ** adj.get("exposure", 0.0)),
                0, 1) ** (1 / 2.2)
    s = adj.get("shadows", 0.0) / 100.0
    if s:
        low = y < 0.5
        y[low] = 0.5 * (y[low] / 0.5) ** (2.0 ** -s)
    h = adj.get("highlights", 0.0) / 100.0
    if h:
        high = y > 0.5
        y[high] = 0.5 + 0.5 * ((y[high] - 0.5) / 0.5) ** (2.0 ** -h)
    c = adj.get("contrast", 0.0) / 100.0
    if c:
        y = y - c * 0.8 * np.sin(2 * np.pi * y) / (2 * np.pi)
    return np.clip(y, 0, 1)


def _box_blur(a: np.ndarray, radius: int, axis: int) -> np.ndarray:
    if radius < 1:
        return a
    a = a if axis == 0 else a.T
    n = a.shape[0]
    padded = np.concatenate([np.repeat(a[:1], radius + 1, axis=0), a,
                             np.repeat(a[-1:], radius, axis=0)])
    c = np.cumsum(padded, axis=0, dtype=np.float32)
    out = (c[2 * radius + 1:2 * radius + 1 + n] - c[:n]) * (1.0 / (2 * radius + 1))
    return out if axis == 0 else out.T


def blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Approximate Gaussian blur of a 2-D array: three box passes per axis."""
    radius = _radius(sigma)
    out = a
    for _ in range(3):
        out = _box_blur(out, radius, 0)
    out = np.ascontiguousarray(out.T)
    for _ in range(3):
        out = _box_blur(out, radius, 0)
    return np.ascontiguousarray(out.T)


def smooth(a: np.ndarray, sigma: float, step: int) -> np.ndarray:
    """A wide blur computed on a ``step``-times smaller grid, then enlarged back.

    The grid is anchored at row 0 of ``a``; callers pass blocks that start on
    a multiple of ``step`` so neighbouring bands see the same grid.
    """
    if step <= 1:
        return blur(a, sigma)
    h, w = a.shape
    padded = np.pad(a, ((0, (-h) % step), (0, (-w) % step)), mode="edge")
    hh, ww = padded.shape
    small = padded.reshape(hh // step, step, ww // step, step).mean(axis=(1, 3))
    small = blur(small, sigma / step)
    return np.repeat(np.repeat(small, step, axis=0), step, axis=1)[:h, :w]


def sharpen_blur(a: np.ndarray) -> np.ndarray:
    """A 3x3 binomial blur ([1 2 1] each way): the small radius of the unsharp mask."""
    p = np.pad(a, 1, mode="edge")
    v = (p[:-2] + 2 * p[1:-1] + p[2:]) * 0.25
    return (v[:, :-2] + 2 * v[:, 1:-1] + v[:, 2:]) * 0.25


def _radius(sigma: float) -> int:
    # Three box passes of width 2r+1 have variance 3((2r+1)^2 - 1)/12 = sigma^2.
    return max(1, int(round((math.sqrt(4 * sigma * sigma + 1) - 1) / 2)))


def _blur_margin(sigma: float) -> int:
    return 3 * _radius(sigma) + 2


class Renderer:
    """Develops one image with one preset; ``run()`` does the work band by band."""

    def __init__(self, rgb: np.ndarray, adjustments: dict[str, float],
                 band_rows: Optional[int] = None, linear: bool = False, out_bits: int = 8):
        """``rgb`` is uint8 or uint16 (gamma-encoded, or ``linear`` light for RAW); the
        result is uint8 or, with ``out_bits=16``, uint16."""
        self.src = rgb
        self.out_dtype = np.uint16 if out_bits == 16 else np.uint8
        self.out_max = 65535.0 if out_bits == 16 else 255.0
        self.adj = adjustments
        self.h, self.w = rgb.shape[:2]
        t = adjustments.get("temperature", 0.0) / 100.0
        tint = adjustments.get("tint", 0.0) / 100.0
        wb = (1 + 0.15 * t + 0.05 * tint, 1 - 0.10 * tint, 1 - 0.15 * t + 0.05 * tint)
        # White balance and tone are per channel and per input value: one table each
        # (256 or 65536 entries). Linear input is white-balanced in linear light, then encoded.
        top = 65535 if rgb.dtype == np.uint16 else 255
        levels = np.arange(top + 1, dtype=np.float64) / top
        if linear:
            from darkroom.pipeline.media.colour import srgb_encode
            self.luts = [tone_curve(srgb_encode(levels * gain), adjustments).astype(np.float32)
                         for gain in wb]
        else:
            self.luts = [tone_curve(np.clip(levels * gain, 0, 1), adjustments).astype(np.float32)
                         for gain in wb]
        short = min(self.h, self.w)
        self.clarity_sigma = max(1.5, short / 150.0)
        # The clarity blur runs on a grid this many times coarser (same result, ~step^2 faster).
        self.step = max(1, int(self.clarity_sigma // 4))
        if adjustments.get("clarity", 0.0):
            margin = _blur_margin(self.clarity_sigma)
        elif adjustments.get("sharpening", 0.0):
            margin = 2
        else:
            margin = 0
        self.margin = math.ceil(margin / self.step) * self.step
        rows = band_rows or max(32, math.ceil(self.h / 16))
        self.band_rows = math.ceil(rows / self.step) * self.step
        self.bands = math.ceil(self.h / self.band_rows)

    def _pointwise(self, block: np.ndarray, y0: int) -> list[np.ndarray]:
        """Rows of the source through white balance, tone, colour and vignette (planar)."""
        adj = self.adj
        planes = [np.take(self.luts[c], block[..., c]) for c in range(3)]
        r, g, b = planes
        sat = adj.get("saturation", 0.0) / 100.0
        vib = adj.get("vibrance", 0.0) / 100.0
        if sat or vib:
            luma = _LUMA[0] * r + _LUMA[1] * g + _LUMA[2] * b
            factor: np.ndarray | float = 1.0 + sat
            if vib:
                current = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)
                factor = factor * (1.0 + vib * (1.0 - current))
            planes = [luma + (p - luma) * factor for p in planes]
        v = adj.get("vignette", 0.0) / 100.0
        if v:
            rows = np.arange(y0, y0 + block.shape[0], dtype=np.float32)
            ny = (rows - (self.h - 1) / 2) / max(self.h / 2, 1)
            nx = (np.arange(self.w, dtype=np.float32) - (self.w - 1) / 2) / max(self.w / 2, 1)
            gain = 1.0 + 0.6 * v * (ny[:, None] ** 2 + nx[None, :] ** 2) / 2.0
            planes = [p * gain for p in planes]
        return planes

    def _band(self, y0: int, y1: int) -> np.ndarray:
        top, bottom = max(0, y0 - self.margin), min(self.h, y1 + self.margin)
        planes = self._pointwise(self.src[top:bottom], top)
        clarity = self.adj.get("clarity", 0.0) / 100.0
        sharpening = self.adj.get("sharpening", 0.0) / 100.0
        if clarity or sharpening:
            luma = np.clip(_LUMA[0] * planes[0] + _LUMA[1] * planes[1] + _LUMA[2] * planes[2],
                           0, 1)
            detail = np.zeros_like(luma)
            if clarity:
                midtones = 4.0 * luma * (1.0 - luma)
                detail += 0.6 * clarity * (luma - smooth(luma, self.clarity_sigma, self.step)) \
                    * midtones
            if sharpening:
                detail += 0.8 * sharpening * (luma - sharpen_blur(luma))
            planes = [p + detail for p in planes]
        out = np.empty((y1 - y0, self.w, 3), dtype=self.out_dtype)
        for c, p in enumerate(planes):
            p = p[y0 - top:y0 - top + (y1 - y0)] * self.out_max + 0.5
            np.clip(p, 0, self.out_max, out=p)
            out[..., c] = p
        return out

    def run(self, progress: Optional[ProgressFn] = None) -> np.ndarray:
        """Render every band; ``progress(done, total)`` after each (it may raise to cancel)."""
        out = np.empty((self.h, self.w, 3), dtype=self.out_dtype)
        for i in range(self.bands):
            y0 = i * self.band_rows
            y1 = min(self.h, y0 + self.band_rows)
            out[y0:y1] = self._band(y0, y1)
            if progress:
                progress(i + 1, self.bands)
        return out


def render(rgb: np.ndarray, adjustments: dict[str, float],
           progress: Optional[ProgressFn] = None) -> np.ndarray:
    return Renderer(rgb, adjustments).run(progress)
