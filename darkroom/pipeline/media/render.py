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
    v = p[:-2] + p[2:]
    v += p[1:-1]
    v += p[1:-1]
    h = v[:, :-2] + v[:, 2:]
    h += v[:, 1:-1]
    h += v[:, 1:-1]
    h *= np.float32(1 / 16)
    return h


def _radius(sigma: float) -> int:
    # Three box passes of width 2r+1 have variance 3((2r+1)^2 - 1)/12 = sigma^2.
    return max(1, int(round((math.sqrt(4 * sigma * sigma + 1) - 1) / 2)))


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
        # Clarity's wide blur comes from one coarse luma grid of the whole image, built in a
        # first light pass (``_coarse_pass``), so bands need no wide margin of re-rendered
        # rows: only the 3x3 sharpening reads one row beyond its band.
        self.coarse: Optional[np.ndarray] = None
        margin = 2 if adjustments.get("sharpening", 0.0) else 0
        self.margin = math.ceil(margin / self.step) * self.step
        rows = band_rows or max(32, math.ceil(self.h / 16))
        self.band_rows = math.ceil(rows / self.step) * self.step
        self.bands = math.ceil(self.h / self.band_rows)

    def _pointwise(self, block: np.ndarray, y0: int) -> tuple[list[np.ndarray],
                                                              Optional[np.ndarray]]:
        """Rows of the source through white balance, tone, colour and vignette (planar), and
        their luma when it was needed on the way (saturation keeps luma; vignette scales it).

        Every step works in place on float32 planes: the renderer is bound by memory
        traffic, not arithmetic, so each temporary avoided is time saved."""
        adj = self.adj
        planes = [np.take(self.luts[c], block[..., c]) for c in range(3)]
        r, g, b = planes
        sat = adj.get("saturation", 0.0) / 100.0
        vib = adj.get("vibrance", 0.0) / 100.0
        luma: Optional[np.ndarray] = None
        if sat or vib:
            luma = _luma(r, g, b)
            if vib:
                # (1 + sat) * (1 + vib * (1 - chroma)), chroma = max - min
                factor = np.maximum(r, g)
                np.maximum(factor, b, out=factor)
                low = np.minimum(r, g)
                np.minimum(low, b, out=low)
                factor -= low
                del low
                factor *= -(1.0 + sat) * vib
                factor += (1.0 + sat) * (1.0 + vib)
            else:
                factor = np.float32(1.0 + sat)
            for p in planes:
                p -= luma
                p *= factor
                p += luma
            del factor
        gain = self._gain(y0, block.shape[0])
        if gain is not None:
            for p in planes:
                p *= gain
            if luma is not None:
                luma *= gain
        return planes, luma

    def _gain(self, y0: int, rows: int) -> Optional[np.ndarray]:
        v = self.adj.get("vignette", 0.0) / 100.0
        if not v:
            return None
        ys = np.arange(y0, y0 + rows, dtype=np.float32)
        ny = (ys - (self.h - 1) / 2) / max(self.h / 2, 1)
        nx = (np.arange(self.w, dtype=np.float32) - (self.w - 1) / 2) / max(self.w / 2, 1)
        k = np.float32(0.6 * v / 2.0)
        return np.add.outer(1.0 + k * ny * ny, k * nx * nx).astype(np.float32, copy=False)

    def _coarse_pass(self) -> np.ndarray:
        """The clarity base: the clipped luma of the rendered image (tone, vignette; colour
        keeps luma) box-averaged on the ``step`` grid and blurred, for the whole image."""
        step = self.step
        hh, ww = -(-self.h // step), -(-self.w // step)
        coarse = np.empty((hh, ww), np.float32)
        rows = self.band_rows
        for y0 in range(0, self.h, rows):
            block = self.src[y0:y0 + rows]
            luma = _luma(*(np.take(self.luts[c], block[..., c]) for c in range(3)))
            gain = self._gain(y0, block.shape[0])
            if gain is not None:
                luma *= gain
            np.clip(luma, 0, 1, out=luma)
            n = block.shape[0]
            pad = ((0, (-n) % step), (0, (-self.w) % step))
            if pad != ((0, 0), (0, 0)):
                luma = np.pad(luma, pad, mode="edge")
            h2, w2 = luma.shape
            coarse[y0 // step:y0 // step + h2 // step] = \
                luma.reshape(h2 // step, step, w2 // step, step).mean(axis=(1, 3))
        return blur(coarse, self.clarity_sigma / step) if step > 1 else \
            blur(coarse, self.clarity_sigma)

    def _smooth_rows(self, top: int, bottom: int) -> np.ndarray:
        step = self.step
        a, b = top // step, -(-bottom // step)
        small = self.coarse[a:b]
        if step > 1:
            small = np.repeat(np.repeat(small, step, axis=0), step, axis=1)
        off = top - a * step
        return small[off:off + bottom - top, :self.w]

    def _band(self, y0: int, y1: int, out: np.ndarray) -> None:
        top, bottom = max(0, y0 - self.margin), min(self.h, y1 + self.margin)
        planes, luma = self._pointwise(self.src[top:bottom], top)
        clarity = self.adj.get("clarity", 0.0) / 100.0
        sharpening = self.adj.get("sharpening", 0.0) / 100.0
        if clarity or sharpening:
            if luma is None:
                luma = _luma(*planes)
            np.clip(luma, 0, 1, out=luma)
            detail: Optional[np.ndarray] = None
            if clarity:
                detail = luma - self._smooth_rows(top, bottom)
                midtones = 1.0 - luma
                midtones *= luma
                midtones *= np.float32(4.0 * 0.6 * clarity)
                detail *= midtones
                del midtones
            if sharpening:
                sharp = luma - sharpen_blur(luma)
                sharp *= np.float32(0.8 * sharpening)
                if detail is None:
                    detail = sharp
                else:
                    detail += sharp
                del sharp
            for p in planes:
                p += detail
        a, b = y0 - top, y0 - top + (y1 - y0)
        for c, p in enumerate(planes):
            p = p[a:b]
            p *= self.out_max
            p += 0.5
            np.clip(p, 0, self.out_max, out=p)
            out[..., c] = p

    def run(self, progress: Optional[ProgressFn] = None) -> np.ndarray:
        """Render every band; ``progress(done, total)`` after each (it may raise to cancel)."""
        out = np.empty((self.h, self.w, 3), dtype=self.out_dtype)
        if self.adj.get("clarity", 0.0) and self.coarse is None:
            self.coarse = self._coarse_pass()
        for i in range(self.bands):
            y0 = i * self.band_rows
            y1 = min(self.h, y0 + self.band_rows)
            self._band(y0, y1, out[y0:y1])
            if progress:
                progress(i + 1, self.bands)
        return out


def _luma(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    luma = r * _LUMA[0]
    tmp = g * _LUMA[1]
    luma += tmp
    np.multiply(b, _LUMA[2], out=tmp)
    luma += tmp
    return luma


def render(rgb: np.ndarray, adjustments: dict[str, float],
           progress: Optional[ProgressFn] = None) -> np.ndarray:
    return Renderer(rgb, adjustments).run(progress)
