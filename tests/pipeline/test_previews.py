"""Fast previews: a RAW import goes through the camera's embedded JPEG preview when it is large
enough (else the demosaic), a JPEG through a reduced-scale decode; the path taken is recorded
in the photo's analysis as ``preview_source``."""

from __future__ import annotations

import numpy as np
from export_support import import_photo
from imagegen import scene, write_dng, write_image
from pipeline_support import ok, wait_developed

from darkroom.pipeline.media import decode

# Media on real files: what is tested is decoding, encoding, colour and metadata, the same
# whichever database holds the rows, so SQLite only (the import, develop and export rows
# on PostgreSQL are the HTTP pipeline tests' own: test_http_import, test_session_flow...).


def source_of(server, photo_id: int) -> str:
    return ok(server.get(f"/api/photos/{photo_id}"))["photo"]["analysis"]["preview_source"]


def test_dng_with_an_embedded_preview_imports_through_it(live_server, tmp_path):
    with_preview = write_dng(tmp_path / "p.dng", 400, 300, seed=1, preview_edge=400)
    small_preview = write_dng(tmp_path / "s.dng", 400, 300, seed=2, preview_edge=120)
    without = write_dng(tmp_path / "n.dng", 400, 300, seed=3)
    ids = {name: import_photo(live_server, path)["photo_id"]
           for name, path in (("with", with_preview), ("small", small_preview), ("without", without))}
    for pid in ids.values():
        assert wait_developed(live_server, pid)["status"] == "developed"
    assert source_of(live_server, ids["with"]) == decode.EMBEDDED_PREVIEW
    assert source_of(live_server, ids["small"]) == decode.RAW_DEMOSAIC  # too small: demosaic
    assert source_of(live_server, ids["without"]) == decode.RAW_DEMOSAIC
    photo = ok(live_server.get(f"/api/photos/{ids['with']}"))["photo"]
    assert (photo["width"], photo["height"]) == (400, 300)


def test_jpeg_preview_is_a_reduced_decode(live_server, tmp_path):
    pid = import_photo(live_server, write_image(tmp_path / "a.jpg", 200, 150, seed=4))["photo_id"]
    wait_developed(live_server, pid)
    assert source_of(live_server, pid) == decode.JPEG_DRAFT


def test_embedded_preview_matches_the_raw(tmp_path):
    path = write_dng(tmp_path / "p.dng", 400, 300, seed=1, preview_edge=400)
    fast, size = decode.load_with_size(path, max_edge=1600)
    assert fast.source == decode.EMBEDDED_PREVIEW and size == (400, 300)
    assert fast.shape == (300, 400, 3)
    expected = scene(400, 300, 1).astype(int)
    assert np.abs(fast.astype(int) - expected).mean() < 8
    slow = decode.load(tmp_path / "p.dng")  # the full decode never uses the preview
    assert getattr(slow, "source", None) == decode.RAW_DEMOSAIC


def test_raw_develops_from_sixteen_bit_linear(tmp_path):
    path = write_dng(tmp_path / "r.dng", 200, 140, seed=5)
    working = decode.load_working(path)
    assert working.linear and working.rgb.dtype == np.uint16
    # Linear light: mid-grey of the sRGB scene sits near 0.2 (not 0.5) of full scale.
    assert 0.05 < working.rgb.mean() / 65535 < 0.4
