"""Rendering a preset: neutral is neutral, each adjustment moves the right way, no seams."""

from __future__ import annotations

import numpy as np
from imagegen import scene

from darkroom.pipeline import presets
from darkroom.pipeline.media import analysis, render


def _adj(**kw):
    return {**{k: 0.0 for k in presets.RANGES}, **kw}


def test_neutral_preset_changes_nothing():
    rgb = scene(120, 80, 5)
    out = render.render(rgb, _adj())
    assert np.abs(out.astype(int) - rgb).max() <= 1


def test_each_adjustment_moves_the_image_the_right_way():
    rgb = scene(160, 120, 6)
    mean = rgb.mean()
    assert render.render(rgb, _adj(exposure=1)).mean() > mean + 10
    assert render.render(rgb, _adj(exposure=-1)).mean() < mean - 10
    assert render.render(rgb, _adj(contrast=80)).std() > rgb.std()
    assert render.render(rgb, _adj(shadows=80)).mean() > mean
    assert render.render(rgb, _adj(highlights=-80)).mean() < mean
    warm = render.render(rgb, _adj(temperature=80))
    assert warm[..., 0].mean() > rgb[..., 0].mean() and warm[..., 2].mean() < rgb[..., 2].mean()
    assert render.render(rgb, _adj(tint=80))[..., 1].mean() < rgb[..., 1].mean()
    assert analysis.colourfulness(render.render(rgb, _adj(saturation=80))) > \
        analysis.colourfulness(rgb)
    assert analysis.colourfulness(render.render(rgb, _adj(vibrance=80))) > \
        analysis.colourfulness(rgb)
    assert analysis.laplacian_variance(analysis.luminance(render.render(rgb, _adj(
        sharpening=100)))) > analysis.laplacian_variance(analysis.luminance(rgb))
    assert render.render(rgb, _adj(clarity=80)).std() > rgb.std()
    flat = np.full((100, 100, 3), 128, np.uint8)
    vignetted = render.render(flat, _adj(vignette=-80))
    assert vignetted[0, 0].mean() < vignetted[50, 50].mean() - 20


def test_bands_report_progress_and_leave_no_seams():
    rgb = scene(300, 257, 7)
    adj = presets.PresetLibrary([]).get("Landscape_Vivid").adjustments
    seen = []
    banded = render.Renderer(rgb, adj, band_rows=20).run(lambda d, t: seen.append((d, t)))
    whole = render.Renderer(rgb, adj, band_rows=257).run()
    assert seen[-1][0] == seen[-1][1] == len(seen) == 13
    assert np.abs(banded.astype(int) - whole).max() <= 1
