"""The one render path of develop and export: the original at full size through its preset.

Both jobs report the same stages over the same range (loading 0-20,
applying_preset 20-25, rendering 25-85) and go on with ``writing`` from
``WRITING_AT``; only what they write differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from darkroom.db import Photo
from darkroom.pipeline.jobs.workers import JobContext, JobError
from darkroom.pipeline.media import decode
from darkroom.pipeline.media.render import Renderer
from darkroom.pipeline.presets import Preset

WRITING_AT = 85.0


@dataclass(frozen=True)
class Rendered:
    rgb: np.ndarray              # uint8, or uint16 when rendered with ``out_bits=16``
    preset: Preset
    file_name: str
    icc: Optional[bytes] = None  # the pixels' colour space (the original's); None: sRGB
    source_path: str = ""


def render_original(ctx: JobContext, out_bits: int = 8) -> Rendered:
    """Decode the job's photo at full size (its own colour space and depth; RAW as 16-bit
    linear) and apply the job's preset, band by band, into 8 or 16-bit pixels."""
    p = ctx.pool.p
    with p.db.read() as s:
        photo = s.get(Photo, ctx.photo_id)
        source, name = photo.file_path, photo.file_name
    preset = p.presets.get(ctx.preset)
    if preset is None:
        raise JobError(f"preset '{ctx.preset}' does not exist")
    ctx.progress("loading", 0, f"Reading {name}")
    try:
        working = decode.load_working(source)
    except decode.ImageError as exc:
        raise decode.ImageError(f"cannot read the original {name}: {exc}") from None
    rgb = working.rgb
    ctx.progress("loading", 20, f"Decoded {rgb.shape[1]}x{rgb.shape[0]}")
    ctx.progress("applying_preset", 20, f"Building the {preset.name} tone curve")
    renderer = Renderer(rgb, preset.adjustments, linear=working.linear, out_bits=out_bits)
    ctx.progress("applying_preset", 25, f"Applying {preset.name}")
    out = renderer.run(lambda done, total: ctx.progress(
        "rendering", 25 + (WRITING_AT - 25) * done / total, f"Rendered {done} of {total} bands"))
    return Rendered(out, preset, name, working.icc, source)
