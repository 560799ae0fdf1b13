"""The develop job: render the original with its preset, then write the developed JPEG, its
preview and its thumbnail into ``<data_dir>/renders`` (8-bit sRGB, for the browser)."""

from __future__ import annotations

from darkroom.pipeline.jobs.rendering import WRITING_AT, render_original
from darkroom.pipeline.jobs.workers import JobContext
from darkroom.pipeline.media import colour, encode
from darkroom.pipeline.media.sizes import (
    DEVELOPED_QUALITY,
    PREVIEW_EDGE,
    PREVIEW_QUALITY,
    THUMBNAIL_EDGE,
    THUMBNAIL_QUALITY,
)


def run(ctx: JobContext) -> dict:
    p = ctx.pool.p
    rendered = render_original(ctx)
    out = colour.convert(rendered.rgb, rendered.icc, colour.SRGB)  # the browser's space
    ctx.progress("writing", WRITING_AT, "Writing the developed JPEG")
    developed = p.render_dir / f"{ctx.photo_id}.jpg"
    preview = p.render_dir / f"{ctx.photo_id}_preview.jpg"
    thumbnail = p.render_dir / f"{ctx.photo_id}_thumb.jpg"
    size = encode.save_jpeg(out, developed, quality=DEVELOPED_QUALITY)
    ctx.progress("writing", 95, "Writing the preview and thumbnail")
    small = encode.downscaled(out, PREVIEW_EDGE, fast=True)
    preview_size = encode.save_jpeg(small, preview, quality=PREVIEW_QUALITY)
    thumbnail_size = encode.save_jpeg(small, thumbnail, quality=THUMBNAIL_QUALITY,
                                      max_edge=THUMBNAIL_EDGE)
    ctx.progress("writing", 100, "Done")
    return {"developed_path": str(developed), "developed_size": size,
            "preview_path": str(preview), "preview_size": preview_size,
            "thumbnail_path": str(thumbnail), "thumbnail_size": thumbnail_size,
            "width": int(out.shape[1]), "height": int(out.shape[0]),
            "preset": rendered.preset.name,
            "developed_url": f"/api/photos/{ctx.photo_id}/developed",
            "developed_thumbnail_url": f"/api/photos/{ctx.photo_id}/developed/thumbnail",
            "timings": ctx.finish_timings()}
