"""The loupe's data over HTTP: ``/full`` at full resolution (the developed file once
developed, else the original colour-managed to sRGB), the histogram measured at analysis and
the photographer's EXIF line."""

from __future__ import annotations

import io

import numpy as np
import pytest
from imagegen import scene, write_dng, write_image
from PIL import Image
from pipeline_support import create_session, error, ok, pipeline_of, wait_developed

from darkroom.db import Photo
from darkroom.pipeline.media import colour, decode

pytestmark = pytest.mark.databases

# Larger than PREVIEW_EDGE (1600): a preview could not pass for the full image.
WIDTH, HEIGHT = 1800, 1200


def pixels(response) -> np.ndarray:
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def test_full_serves_the_developed_file_at_full_size(live_server, tmp_path):
    path = write_image(tmp_path / "big.jpg", WIDTH, HEIGHT, seed=4)
    pid = ok(live_server.post("/import/file", {"file_path": str(path)}))["photo_id"]
    photo = wait_developed(live_server, pid, timeout=50)
    assert photo["status"] == "developed" and photo["full_url"] == f"/api/photos/{pid}/full"
    with pipeline_of(live_server).db.read() as s:
        developed = np.asarray(Image.open(s.get(Photo, pid).developed_path).convert("RGB"))
    response = live_server.get(f"/api/photos/{pid}/full")
    full = pixels(response)
    assert full.shape == developed.shape == (HEIGHT, WIDTH, 3)
    crop = (slice(500, 700), slice(800, 1100))
    assert np.array_equal(full[crop], developed[crop])
    assert max(pixels(live_server.get(f"/api/photos/{pid}/developed")).shape) == 1600
    # Cached like the other image routes: revalidated, and a 304 when unchanged.
    assert response.headers["Cache-Control"] == "no-cache"
    again = live_server.get(f"/api/photos/{pid}/full",
                            headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_full_before_develop_is_the_original_in_srgb(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    adobe = colour.profile_bytes(colour.ADOBE_RGB)
    # Saturated colours: Adobe RGB and sRGB disagree a lot about them.
    rgb = scene(WIDTH, HEIGHT, 5).copy()
    rgb[:, :600] = (20, 200, 40)
    path = write_image(tmp_path / "wide.png", WIDTH, HEIGHT, pixels=rgb, icc=adobe)
    pid = ok(live_server.post("/import/file", {"file_path": str(path)}))["photo_id"]
    full = pixels(live_server.get(f"/api/photos/{pid}/full"))
    assert full.shape == (HEIGHT, WIDTH, 3)
    expected = decode.load(path)
    crop = (slice(100, 400), slice(100, 1500))
    diff = np.abs(full[crop].astype(int) - expected[crop].astype(int))
    assert diff.mean() < 2.5, diff.mean()
    as_stored = np.abs(full[crop].astype(int) - rgb[crop].astype(int))
    assert as_stored.mean() > 3 * diff.mean() + 5  # converted, not passed through
    # A second request is served from the cache: the same bytes.
    first = live_server.get(f"/api/photos/{pid}/full").content
    assert live_server.get(f"/api/photos/{pid}/full").content == first


def test_full_refuses_what_it_cannot_show(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    error(live_server.get("/api/photos/999/full"), 404, "photo_not_found")
    path = write_image(tmp_path / "gone.jpg", seed=8)
    pid = ok(live_server.post("/import/file", {"file_path": str(path)}))["photo_id"]
    path.unlink()
    error(live_server.get(f"/api/photos/{pid}/full"), 404, "no_image")


def test_histogram_and_exif_line_in_the_single_photo(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    path = write_image(tmp_path / "h.jpg", 400, 300, seed=2)
    pid = ok(live_server.post("/import/file", {"file_path": str(path)}))["photo_id"]
    photo = ok(live_server.get(f"/api/photos/{pid}"))["photo"]
    histogram = photo["histogram"]
    assert set(histogram) == {"r", "g", "b", "l"}
    measured = photo["analysis"]["analysed_width"] * photo["analysis"]["analysed_height"]
    for channel in histogram.values():
        assert len(channel) == 64 and all(isinstance(n, int) and n >= 0 for n in channel)
        assert sum(channel) == measured
    assert "histogram" not in photo["analysis"]
    assert photo["exif_summary"] == {
        "shutter": "1/250 s", "aperture": "f/2.8", "iso": 200, "focal_length": "35 mm",
        "lens": "TestLens 35mm F1.8", "camera": "Darkroom TestCam 1",
        "line": "1/250 s · f/2.8 · ISO 200 · 35 mm · TestLens 35mm F1.8"}
    assert photo["exif"]["iso"] == 200  # the full metadata stays
    listed = ok(live_server.get("/api/photos"))["photos"][0]
    assert "histogram" not in listed and "exif_summary" not in listed


def test_before_analysis_no_histogram_and_missing_exif_parts_are_null(live_server, tmp_path):
    sid = create_session(live_server, "bare", tmp_path)
    with pipeline_of(live_server).db.write() as s:
        photo = Photo(session_id=sid, file_path="/nowhere.jpg", file_name="nowhere.jpg",
                      content_hash="bare", file_size=1, format="jpeg",
                      exif={"iso": 3200, "exposure_time": 2.5, "aperture": "wide"})
        s.add(photo)
        s.flush()
        pid = photo.id
    photo = ok(live_server.get(f"/api/photos/{pid}"))["photo"]
    assert photo["histogram"] is None
    assert photo["exif_summary"] == {"shutter": "2.5 s", "aperture": None, "iso": 3200,
                                     "focal_length": None, "lens": None, "camera": None,
                                     "line": "2.5 s · ISO 3200"}
    assert photo["rating"] == 0 and photo["flag"] is None and photo["captured_at"] is None
    session = ok(live_server.get(f"/api/sessions/{sid}"))["session"]
    assert session["develop"] == "all"


def test_full_of_a_raw_is_the_whole_sensor_not_its_embedded_preview(live_server, tmp_path):
    ok(live_server.post("/api/queue/pause"))
    path = write_dng(tmp_path / "raw.dng", 400, 300, seed=3, preview_edge=160)
    pid = ok(live_server.post("/import/file", {"file_path": str(path)}))["photo_id"]
    full = pixels(live_server.get(f"/api/photos/{pid}/full"))
    assert full.shape == (300, 400, 3)

    def coarse(rgb):  # 4x4 block means: what JPEG keeps of a noisy demosaic
        return rgb.reshape(75, 4, 100, 4, 3).mean(axis=(1, 3))
    assert np.abs(coarse(full) - coarse(decode.load(path))).mean() < 2.5
