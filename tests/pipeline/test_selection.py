"""Context tags: the documented rules, first match wins."""

from __future__ import annotations

import pytest

from darkroom.pipeline import selection

BASE = {"mean_luminance": 0.5, "noise": 1.0, "clipped_highlights": 0.0, "clipped_shadows": 0.0,
        "centre_luminance": 0.5, "border_luminance": 0.5, "width": 300, "height": 200}


@pytest.mark.parametrize("metrics,exif,tag", [
    ({"mean_luminance": 0.1}, {"exposure_time": 1.0}, "night"),
    ({"mean_luminance": 0.1}, {"capture_time": "2024-01-01T22:00:00"}, "night"),
    ({"mean_luminance": 0.25}, {"iso": 6400}, "low_light"),
    ({"border_luminance": 0.8, "centre_luminance": 0.4, "clipped_highlights": 0.1}, {},
     "backlit"),
    ({"mean_luminance": 0.8}, {}, "high_key"),
    ({"mean_luminance": 0.2}, {}, "low_key"),
    ({"width": 200, "height": 300}, {"focal_length": 85}, "portrait"),
    ({"width": 400, "height": 200}, {"focal_length": 24}, "landscape"),
    ({}, {"focal_length": 50}, "standard"),
])
def test_context_tags(metrics, exif, tag):
    assert selection.context_tag({**BASE, **metrics}, exif) == tag
    assert tag in selection.CONTEXT_TAGS
