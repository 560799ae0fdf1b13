"""Image metrics and the ai_score formula, on generated scenes."""

from __future__ import annotations

import numpy as np
import pytest
from imagegen import scene

from darkroom.pipeline.media import analysis, render


def test_sharpness_falls_when_blurred_and_noise_rises_with_noise():
    rgb = scene(256, 256, 2)
    gray = analysis.luminance(rgb)
    blurred = render.blur(gray, 3.0)
    assert analysis.laplacian_variance(gray) > 10 * analysis.laplacian_variance(blurred)
    flat = np.full((128, 128), 120.0, np.float32)
    noisy = flat + np.random.default_rng(0).normal(0, 8, flat.shape).astype(np.float32)
    assert analysis.noise_sigma(flat) == 0
    assert 6 < analysis.noise_sigma(noisy) < 10


def test_exposure_and_colour_metrics():
    dark = analysis.analyse(scene(200, 150, 3, brightness=0.1))
    bright = analysis.analyse(scene(200, 150, 3, brightness=0.9))
    assert dark["mean_luminance"] < 0.2 < 0.6 < bright["mean_luminance"]
    assert bright["clipped_highlights"] > dark["clipped_highlights"]
    assert dark["clipped_shadows"] > bright["clipped_shadows"]
    grey = np.repeat(scene(200, 150, 3)[..., :1], 3, axis=-1)
    assert analysis.colourfulness(grey) == 0
    assert analysis.analyse(scene(200, 150, 3))["colourfulness"] > 20


def test_ai_score_follows_the_documented_formula():
    m = analysis.analyse(scene(300, 200, 4), {"iso": 3200})
    s = m["scores"]
    assert s["iso"] == pytest.approx(1 - 2 / 4)
    expected = 5 * (0.35 * s["sharpness"] + 0.25 * s["exposure"] + 0.15 * s["contrast"]
                    + 0.10 * s["noise"] + 0.10 * s["colour"] + 0.05 * s["iso"])
    assert m["ai_score"] == round(expected, 2)
    assert 0 <= m["ai_score"] <= 5
    blank = analysis.analyse(np.zeros((64, 64, 3), np.uint8))
    assert blank["ai_score"] < 1.5 and blank["scores"]["exposure"] == 0
