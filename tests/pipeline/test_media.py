"""The media layer on real files: decoding every format, EXIF, encoding."""

from __future__ import annotations

import numpy as np
import pytest
from imagegen import scene, write_corrupt, write_dng, write_image, write_truncated_jpeg

from darkroom.pipeline.media import decode, encode, exif


def test_load_every_format_and_downscale(tmp_path):
    for name, maker in (("a.jpg", write_image), ("a.png", write_image), ("a.tif", write_image),
                        ("a.dng", write_dng)):
        path = maker(tmp_path / name, 200, 100, seed=1)
        full = decode.load(path)
        assert full.shape == (100, 200, 3) and full.dtype == np.uint8
        small = decode.load(path, max_edge=50)
        assert max(small.shape[:2]) <= 50


def test_unreadable_files_are_image_errors(tmp_path):
    for path in (write_corrupt(tmp_path / "a.jpg"), write_truncated_jpeg(tmp_path / "b.jpg"),
                 write_corrupt(tmp_path / "c.dng"), write_corrupt(tmp_path / "d.png")):
        with pytest.raises(decode.ImageError):
            decode.load(path)
    with pytest.raises(decode.ImageError):
        decode.load(tmp_path / "x.gif")
    assert exif.read_exif(write_corrupt(tmp_path / "e.jpg")) == {}


def test_exif_fields_are_normalised(tmp_path):
    tags = exif.read_exif(write_image(tmp_path / "a.jpg", exif={
        "iso": 3200, "exposure_time": (1, 2), "f_number": (56, 10), "focal_length": (85, 1),
        "make": "Canon", "model": "Canon EOS R5", "datetime": "2024:01:02 21:30:00"}))
    assert tags == {"camera": "Canon EOS R5", "lens": "TestLens 35mm F1.8", "iso": 3200,
                    "exposure_time": 0.5, "shutter": "1/2", "aperture": 5.6,
                    "focal_length": 85.0, "capture_time": "2024-01-02T21:30:00"}


def test_encode_formats_and_resize():
    rgb = scene(300, 200, 1)
    for fmt, magic in (("jpeg", b"\xff\xd8"), ("png", b"\x89PNG"), ("tiff", b"II*\x00")):
        data = encode.encode(rgb, fmt, quality=80, max_edge=150)
        assert data.startswith(magic)
