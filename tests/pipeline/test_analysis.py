"""Image metrics and the ai_score formula, on generated scenes."""

from __future__ import annotations

import numpy as np
import pytest
from imagegen import scene

from darkroom.pipeline import gallery
from darkroom.pipeline.media import analysis, histogram, render


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


def test_histogram_counts_every_analysed_pixel_in_64_bins():
    m = analysis.analyse(scene(700, 500, 5))
    pixels = m["analysed_width"] * m["analysed_height"]
    assert m["analysed_width"] < 700  # measured on the analysis image, not the input
    for name in ("r", "g", "b", "l"):
        assert len(m["histogram"][name]) == 64 and sum(m["histogram"][name]) == pixels
    two_tone = np.zeros((10, 20, 3), np.uint8)
    two_tone[:, 15:] = (255, 3, 4)  # 50 pixels: red in the top bin, blue in the second
    h = analysis.analyse(two_tone)["histogram"]
    assert h["r"][0] == 150 and h["r"][63] == 50 and h["g"][0] == 200
    assert h["b"][0] == 150 and h["b"][1] == 50
    assert h["l"][0] == 150 and h["l"][14] == 50  # Rec. 709 luma of that red: 56.6 -> bin 14


def test_difference_hash_keeps_near_identical_frames_close():
    blocks = np.random.default_rng(1).integers(0, 256, (6, 8, 3)).astype(np.uint8)
    base = np.repeat(np.repeat(blocks, 40, axis=0), 40, axis=1)
    noisy = np.clip(base.astype(int) + np.random.default_rng(2).integers(-8, 9, base.shape),
                    0, 255).astype(np.uint8)
    shifted = np.roll(base, 3, axis=1)
    other = np.repeat(np.repeat(np.random.default_rng(3).integers(0, 256, (6, 8, 3))
                                .astype(np.uint8), 40, axis=0), 40, axis=1)
    h = {k: analysis.analyse(v)["dhash"] for k, v in
         {"base": base, "noisy": noisy, "shifted": shifted, "other": other}.items()}
    assert all(len(v) == 16 and int(v, 16) >= 0 for v in h.values())
    assert histogram.hash_distance(h["base"], h["noisy"]) <= gallery.BURST_HASH_BITS
    assert histogram.hash_distance(h["base"], h["shifted"]) <= gallery.BURST_HASH_BITS
    assert histogram.hash_distance(h["base"], h["other"]) > 3 * gallery.BURST_HASH_BITS
