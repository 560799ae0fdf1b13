"""Choosing a context tag from the metrics and EXIF, and a preset for it.

The rules run in order; the first that matches wins:

1. ``night``     mean luminance < 0.20 and (shutter >= 1/4 s, or captured 20:00-04:59)
2. ``low_light`` mean luminance < 0.30 and (ISO >= 1600 or noise sigma >= 4)
3. ``backlit``   border at least 0.15 brighter than the centre and > 2 % highlights clipped
4. ``high_key``  mean luminance > 0.65 and < 1 % shadows clipped
5. ``low_key``   mean luminance < 0.30
6. ``portrait``  taller than wide, and focal length unknown or 35-200 mm (35 mm equivalent
                 when known)
7. ``landscape`` at least 1.3 times wider than tall, and focal length <= 35 mm or f/8 or
                 narrower
8. ``standard``  everything else
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

CONTEXT_TAGS = ("night", "low_light", "backlit", "high_key", "low_key", "portrait",
                "landscape", "standard")


def _hour(exif: dict) -> Optional[int]:
    when = exif.get("capture_time")
    if not when:
        return None
    try:
        return datetime.fromisoformat(when).hour
    except ValueError:
        return None


def context_tag(m: dict, exif: dict) -> str:
    mean = m["mean_luminance"]
    shutter = exif.get("exposure_time") or 0
    iso = exif.get("iso") or 0
    hour = _hour(exif)
    focal = exif.get("focal_length_35mm") or exif.get("focal_length")
    aperture = exif.get("aperture")
    w, h = m["width"], m["height"]

    if mean < 0.20 and (shutter >= 0.25 or (hour is not None and (hour >= 20 or hour < 5))):
        return "night"
    if mean < 0.30 and (iso >= 1600 or m["noise"] >= 4):
        return "low_light"
    if m["border_luminance"] - m["centre_luminance"] >= 0.15 and m["clipped_highlights"] > 0.02:
        return "backlit"
    if mean > 0.65 and m["clipped_shadows"] < 0.01:
        return "high_key"
    if mean < 0.30:
        return "low_key"
    if h > w and (focal is None or 35 <= focal <= 200):
        return "portrait"
    if w >= 1.3 * h and ((focal is not None and focal <= 35) or (aperture or 0) >= 8):
        return "landscape"
    return "standard"
